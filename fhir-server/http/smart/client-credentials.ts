/**
 * The client side of SMART Backend Services, for tools, demos and tests: a
 * key pair, a signed client assertion, the token request, and registration
 * through the admin route. Requests go over https trusting `caPem`.
 */
import { calculateJwkThumbprint, exportJWK, SignJWT, type JWK } from 'jose';
import { createPrivateKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { request } from 'node:https';
import { JWT_BEARER_ASSERTION, type TokenResponse } from './token-service.ts';

/** Algorithms a client may sign with. */
export type ClientAlg = 'RS384' | 'ES384';

/** A client key pair. */
export interface ClientKey {
  /** Algorithm. */
  alg: ClientAlg;
  /** Key id (JWK thumbprint). */
  kid: string;
  /** PKCS#8 PEM private key. */
  privateKeyPem: string;
  /** Public JWK (kid, alg, use). */
  publicJwk: JWK;
}

/** Generates a key pair for `alg` (RSA 2048 or EC P-384). */
export async function generateClientKey(alg: ClientAlg): Promise<ClientKey> {
  const pair = alg === 'RS384' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  const jwk = await exportJWK(pair.publicKey);
  const kid = await calculateJwkThumbprint(jwk, 'sha256');
  return { alg, kid, privateKeyPem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicJwk: { ...jwk, kid, alg, use: 'sig' } };
}

/** What an assertion says (every field overridable, to build bad ones in tests). */
export interface AssertionOptions {
  clientId: string;
  tokenEndpoint: string;
  key: Pick<ClientKey, 'alg' | 'kid' | 'privateKeyPem'>;
  /** Lifetime in seconds (default 120); `exp` = now + this. */
  lifetimeSeconds?: number;
  /** Default: a random UUID. */
  jti?: string;
  /** Extra header members (e.g. `jku`). */
  header?: Record<string, unknown>;
}

/** Signs a client assertion (`iss` = `sub` = client id, `aud` = token endpoint). */
export async function signClientAssertion(options: AssertionOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ ...options.header, alg: options.key.alg, kid: options.key.kid, typ: 'JWT' })
    .setIssuer(options.clientId)
    .setSubject(options.clientId)
    .setAudience(options.tokenEndpoint)
    .setJti(options.jti ?? randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + (options.lifetimeSeconds ?? 120))
    .sign(createPrivateKey(options.key.privateKeyPem));
}

/** An HTTP answer. */
export interface HttpAnswer {
  status: number;
  body: string;
}

/** POSTs `body` (string) with `headers` over https trusting `caPem`. */
export function httpsPost(url: string, body: string, headers: Record<string, string>, caPem?: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, ...(caPem ? { ca: caPem } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The form of a token request with `assertion`. */
export function tokenRequestForm(assertion: string, scope: string): string {
  return new URLSearchParams({ grant_type: 'client_credentials', scope, client_assertion_type: JWT_BEARER_ASSERTION, client_assertion: assertion }).toString();
}

/** Asks the token endpoint for a token; throws with the OAuth error (never the assertion) when refused. */
export async function requestAccessToken(options: AssertionOptions & { scope: string; caPem?: string }): Promise<TokenResponse> {
  const answer = await httpsPost(options.tokenEndpoint, tokenRequestForm(await signClientAssertion(options), options.scope), { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, options.caPem);
  if (answer.status !== 200) throw new Error(`token request refused: HTTP ${answer.status} ${answer.body.slice(0, 300)}`);
  return JSON.parse(answer.body) as TokenResponse;
}

/** Registers a client through `POST [base]/_admin/smart/clients` with an admin bearer token; answers the registration JSON. */
export async function registerClient(baseUrl: string, adminToken: string, registration: { scope: string; jwks?: { keys: JWK[] }; jwks_uri?: string; client_name?: string }, caPem?: string): Promise<{ client_id: string } & Record<string, unknown>> {
  const answer = await httpsPost(`${baseUrl}/_admin/smart/clients`, JSON.stringify(registration), { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${adminToken}` }, caPem);
  if (answer.status !== 201) throw new Error(`SMART client registration refused: HTTP ${answer.status} ${answer.body.slice(0, 300)}`);
  return JSON.parse(answer.body) as { client_id: string };
}
