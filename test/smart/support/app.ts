/**
 * A fastify app with only the SMART routes over an in-memory client registry
 * and a generated signing key (ports, not Azure), driven with `inject()`;
 * the admin hook lets every request through.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { SmartBackendServices } from '../../../fhir-server/http/smart/backend-services.ts';
import { generateClientKey, type ClientAlg, type ClientKey } from '../../../fhir-server/http/smart/client-credentials.ts';
import type { ClientKeys } from '../../../fhir-server/http/smart/client-keys.ts';
import { MemorySmartClientRegistry } from '../../../fhir-server/http/smart/client-registry.ts';
import { registerSmartRoutes } from '../../../fhir-server/http/smart/routes.ts';
import { ephemeralSigningKeySource } from '../../../fhir-server/http/smart/signing-keys.ts';
import { tokenRequestForm } from '../../../fhir-server/http/smart/client-credentials.ts';

/** Base URL of the app. */
export const BASE = 'https://fhir.test';
/** Its token endpoint. */
export const TOKEN_ENDPOINT = `${BASE}/auth/token`;

/** The app and its services. */
export interface SmartApp {
  app: FastifyInstance;
  smart: SmartBackendServices;
  /** Registers a client (inline JWKS) and answers its id and key. */
  register(scope: string, alg?: ClientAlg): Promise<{ clientId: string; key: ClientKey }>;
  /** POSTs a token request form; answers status, JSON body and headers. */
  token(form: string, contentType?: string): Promise<{ status: number; body: Record<string, unknown>; headers: Record<string, unknown> }>;
}

/** Builds the app (with `clientKeys` to fetch `jwks_uri` documents another way). */
export async function smartApp(clientKeys?: ClientKeys): Promise<SmartApp> {
  const smart = new SmartBackendServices({ registry: new MemorySmartClientRegistry(), signingKeys: ephemeralSigningKeySource(), baseUrl: () => BASE, ...(clientKeys ? { clientKeys } : {}) });
  await smart.start();
  const app = Fastify();
  registerSmartRoutes(app, smart, { authorize: async () => undefined });
  await app.ready();
  return {
    app,
    smart,
    async register(scope, alg = 'ES384') {
      const key = await generateClientKey(alg);
      const res = await app.inject({ method: 'POST', url: '/_admin/smart/clients', payload: { scope, jwks: { keys: [key.publicJwk] } } });
      if (res.statusCode !== 201) throw new Error(`registration failed: ${res.statusCode} ${res.body}`);
      return { clientId: (JSON.parse(res.body) as { client_id: string }).client_id, key };
    },
    async token(form, contentType = 'application/x-www-form-urlencoded') {
      const res = await app.inject({ method: 'POST', url: '/auth/token', payload: form, headers: { 'content-type': contentType } });
      return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, unknown>, headers: res.headers };
    },
  };
}

export { tokenRequestForm };
