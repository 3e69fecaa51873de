/**
 * Connection settings of a command, each from the first of: its flag, its
 * environment variable, `.local/mesh.json`. A setting is looked up only when a
 * command needs it; a missing one is a usage error naming the flag and variable.
 */
import { readFileSync } from 'node:fs';
import { CliError, ExitCode } from './errors.ts';
import type { MeshFile } from './mesh-file.ts';

/** Connection flags common to every command. */
export interface ConnectionFlags {
  routingAddress?: string;
  caFile?: string;
  adminTokenFile?: string;
  refreshTokenFile?: string;
  fhirUrl?: string;
  bearerTokenFile?: string;
  timeout?: number;
}

/** Reads a token file: trimmed, non-empty. */
export function readTokenFile(path: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new CliError(`cannot read the ${what} file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, ExitCode.usage, error);
  }
  if (text === '') throw new CliError(`the ${what} file ${path} is empty`, ExitCode.usage);
  return text;
}

/** Resolved settings; see the module comment. */
export class Connection {
  /** Deadline of each call, in milliseconds. */
  readonly timeoutMs: number;

  /** Settings from `flags`, then `env`, then `mesh`. */
  constructor(
    private readonly flags: ConnectionFlags,
    private readonly env: NodeJS.ProcessEnv,
    private readonly mesh: MeshFile,
  ) {
    this.timeoutMs = (flags.timeout ?? 30) * 1000;
  }

  /** host:port of the routing server (a leading `https://` is dropped). */
  routingAddress(): string {
    const value = this.flags.routingAddress ?? this.env.FHIRMESH_ROUTING_ADDRESS ?? this.mesh.routingAddress;
    if (!value) throw missing('routing server address', '--routing-address', 'FHIRMESH_ROUTING_ADDRESS');
    return value.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  }

  /** PEM of the CA to trust, or undefined for the system's CAs. */
  caPem(): string | undefined {
    const file = this.flags.caFile ?? this.env.FHIRMESH_CA_FILE ?? this.mesh.caFile;
    if (!file) return undefined;
    return readTokenFile(file, 'CA');
  }

  /** The admin token of the routing server's AccountService. */
  adminToken(): string {
    if (this.flags.adminTokenFile) return readTokenFile(this.flags.adminTokenFile, 'admin token');
    if (this.env.FHIRMESH_ADMIN_TOKEN) return this.env.FHIRMESH_ADMIN_TOKEN.trim();
    const file = this.env.FHIRMESH_ADMIN_TOKEN_FILE ?? this.mesh.adminTokenFile;
    if (!file) throw missing('admin token', '--admin-token-file', 'FHIRMESH_ADMIN_TOKEN or FHIRMESH_ADMIN_TOKEN_FILE');
    return readTokenFile(file, 'admin token');
  }

  /** Path of the file holding the account's refresh token. */
  refreshTokenFile(): string {
    const file = this.flags.refreshTokenFile ?? this.env.FHIRMESH_REFRESH_TOKEN_FILE ?? this.mesh.refreshTokenFile;
    if (!file) throw missing('refresh token file', '--refresh-token-file', 'FHIRMESH_REFRESH_TOKEN_FILE');
    return file;
  }

  /** The account's refresh token. */
  refreshToken(): string {
    return readTokenFile(this.refreshTokenFile(), 'refresh token');
  }

  /** FHIR base URL, without a trailing slash. */
  fhirUrl(): string {
    const value = this.flags.fhirUrl ?? this.env.FHIRMESH_FHIR_URL ?? this.mesh.fhirBaseUrl;
    if (!value) throw missing('FHIR base URL', '--fhir-url', 'FHIRMESH_FHIR_URL');
    return value.replace(/\/+$/, '');
  }

  /** The FHIR REST bearer token. */
  bearerToken(): string {
    if (this.flags.bearerTokenFile) return readTokenFile(this.flags.bearerTokenFile, 'bearer token');
    if (this.env.FHIRMESH_BEARER_TOKEN) return this.env.FHIRMESH_BEARER_TOKEN.trim();
    const file = this.env.FHIRMESH_BEARER_TOKEN_FILE ?? this.mesh.bearerTokenFile;
    if (file) return readTokenFile(file, 'bearer token');
    if (this.mesh.bearerToken) return this.mesh.bearerToken;
    throw missing('FHIR bearer token', '--bearer-token-file', 'FHIRMESH_BEARER_TOKEN or FHIRMESH_BEARER_TOKEN_FILE');
  }

  /** Entra ID tenant of new identities (env FHIRMESH_TENANT_ID, then the mesh file). */
  tenantId(): string | undefined {
    return this.env.FHIRMESH_TENANT_ID ?? this.mesh.tenantId;
  }
}

function missing(what: string, flag: string, env: string): CliError {
  return new CliError(`no ${what}: give ${flag} or set ${env} (or run npm start, which writes .local/mesh.json)`, ExitCode.usage);
}
