/**
 * `.local/mesh.json`, written by `npm start`: where the local mesh runs. The
 * CLI takes connection defaults from it when neither a flag nor the
 * environment says otherwise, and ignores it once the process that wrote it
 * has exited.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../common/package-root.ts';

/** What `npm start` records about the running mesh (every field optional). */
export interface MeshFile {
  /** FHIR base URL of the fhir-server. */
  fhirBaseUrl?: string;
  /** host:port of the routing server. */
  routingAddress?: string;
  /** PEM file of the CA the mesh's certificates chain to. */
  caFile?: string;
  /** File holding a FHIR REST bearer token. */
  bearerTokenFile?: string;
  /** A FHIR REST bearer token (when no file is named). */
  bearerToken?: string;
  /** File holding the demo account's refresh token. */
  refreshTokenFile?: string;
  /** File holding an admin token of the routing server. */
  adminTokenFile?: string;
  /** Entra ID tenant of the identities. */
  tenantId?: string;
  /** Process id of `npm start`. */
  pid?: number;
}

/** Default location: `<checkout>/.local/mesh.json`, or `FHIRMESH_MESH_FILE`. */
export function meshFilePath(env: NodeJS.ProcessEnv): string {
  if (env.FHIRMESH_MESH_FILE !== undefined) return env.FHIRMESH_MESH_FILE;
  return join(packageRoot, '.local', 'mesh.json');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Reads the mesh file; `{}` when it is absent, unreadable, or its writer is gone. */
export function readMeshFile(path: string): MeshFile {
  if (path === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
  const mesh = parsed as MeshFile;
  if (typeof mesh.pid === 'number' && !alive(mesh.pid)) return {};
  return mesh;
}
