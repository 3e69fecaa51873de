/** Security test helpers on a running mesh: distinct REST client identities, gRPC clients, every Cosmos document. */
import { ClientSecretCredential } from '@azure/identity';
import type { CosmosClient } from '@azure/cosmos';
import { randomBytes } from 'node:crypto';
import { FHIR_API, type MeshSetup } from '../../../dev/mesh-setup.ts';
import { entraCredentialOptions } from '../../../common/auth/entra-credential-options.ts';

/** A REST client identity of its own (its own app registration, so its own principal). */
export interface ClientIdentity {
  /** The app id (the principal of its tokens). */
  appId: string;
  /** Its client secret (tests scan for it). */
  secret: string;
  /** A fresh access token for the FHIR API. */
  token(): Promise<string>;
}

/** Registers a new client app with `roles` on the FHIR API. */
export function newClient(mesh: MeshSetup, roles: readonly string[], name = 'security client'): ClientIdentity {
  const entra = mesh.routing.standIns.entra;
  const secret = randomBytes(24).toString('base64url');
  const app = entra.registerApplication({ displayName: name, secrets: [secret], roles: { [FHIR_API]: [...roles] } });
  const credential = new ClientSecretCredential(entra.tenantId, app.appId, secret, entraCredentialOptions({ authorityHost: entra.authorityHost, caPem: mesh.routing.standIns.tls.caPem }));
  return { appId: app.appId, secret, token: async () => (await credential.getToken(`${FHIR_API}/.default`))!.token };
}

/** One stored document and where it lives. */
export interface FoundDocument {
  database: string;
  container: string;
  id: string;
  json: string;
}

/** Every document of every container of every database `client` can list. */
export async function readEveryDocument(client: CosmosClient): Promise<FoundDocument[]> {
  const out: FoundDocument[] = [];
  const { resources: databases } = await client.databases.readAll().fetchAll();
  for (const db of databases) {
    const { resources: containers } = await client.database(db.id).containers.readAll().fetchAll();
    for (const c of containers) {
      const { resources } = await client.database(db.id).container(c.id).items.readAll().fetchAll();
      for (const doc of resources) out.push({ database: db.id, container: c.id, id: String(doc.id), json: JSON.stringify(doc) });
    }
  }
  return out;
}

/** Plain error from anything thrown (uvu's reporter chokes on Azure SDK errors). */
export function plain(err: unknown): Error {
  const e = err as { message?: string; code?: unknown; statusCode?: unknown };
  return new Error(`${e?.message ?? String(err)}${e?.statusCode ? ` (HTTP ${String(e.statusCode)})` : ''}`);
}

/** Polls `statusUrl` with `token` until 200 (the manifest) or a non-202 answer. */
export async function pollExport(get: () => Promise<{ status: number; body: string }>, attempts = 120): Promise<{ status: number; body: string }> {
  for (let i = 0; i < attempts; i++) {
    const res = await get();
    if (res.status !== 202) return res;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('export did not finish in time');
}
