/**
 * The tenant's directory: application registrations (with their service
 * principals' object ids, credentials and app-role assignments) and the
 * resources tokens may be issued for.
 */
import { randomUUID } from 'node:crypto';
import {
  storeCertificate,
  storeSecret,
  secretMatches,
  type SecretCredentialInput,
  type StoredCertificate,
  type StoredSecret,
} from './credentials.ts';

/** Resources every tenant knows (first-party Azure services). */
export const builtInResources: readonly string[] = [
  'https://storage.azure.com',
  'https://vault.azure.net',
  'https://management.azure.com',
  'https://cosmos.azure.com',
];

/** Input for registering an application. */
export interface ApplicationRegistration {
  /** Application (client) id; a new GUID when omitted. */
  appId?: string;
  /** Display name, shown in error messages. */
  displayName?: string;
  /** Client secrets. */
  secrets?: Array<string | SecretCredentialInput>;
  /** Certificates (PEM; a key + certificate bundle is accepted, the key is ignored). */
  certificates?: string[];
  /** App roles granted to this application, per resource URI. */
  roles?: Record<string, string[]>;
  /** Identifier URI, making the application itself a resource tokens can be requested for. */
  identifierUri?: string;
  /** Lifetime of tokens issued to this application (overrides the tenant's). */
  tokenLifetimeSeconds?: number;
  /** A disabled application gets no token. */
  disabled?: boolean;
}

/** Changes to an application; omitted fields stay as they are. */
export interface ApplicationUpdate {
  /** New display name. */
  displayName?: string;
  /** Secrets to add. */
  addSecrets?: Array<string | SecretCredentialInput>;
  /** Secrets to remove (by value). */
  removeSecrets?: string[];
  /** Certificates (PEM) to add. */
  addCertificates?: string[];
  /** Certificates to remove, by PEM or by `x5t` / `x5t#S256` thumbprint. */
  removeCertificates?: string[];
  /** Replaces the app-role assignments. */
  roles?: Record<string, string[]>;
  /** New identifier URI (`null` removes it). */
  identifierUri?: string | null;
  /** New per-application token lifetime (`null` falls back to the tenant's). */
  tokenLifetimeSeconds?: number | null;
  /** Enables or disables the application. */
  disabled?: boolean;
}

/** Ids of a registered application. */
export interface RegisteredApplication {
  /** Application (client) id. */
  appId: string;
  /** Object id of the application's service principal (the `oid` of its tokens). */
  objectId: string;
}

/** What can be read back about an application (no secret material). */
export interface ApplicationSummary extends RegisteredApplication {
  displayName: string;
  disabled: boolean;
  identifierUri?: string;
  tokenLifetimeSeconds?: number;
  secretCount: number;
  certificates: Array<{ x5t: string; x5tS256: string; notBefore: string; notAfter: string }>;
  roles: Record<string, string[]>;
}

/** An application as the directory holds it. */
export interface Application extends RegisteredApplication {
  displayName: string;
  disabled: boolean;
  identifierUri?: string;
  tokenLifetimeSeconds?: number;
  secrets: StoredSecret[];
  certificates: StoredCertificate[];
  /** Roles per normalised resource. */
  roles: Map<string, string[]>;
}

const guidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a GUID in its usual 8-4-4-4-12 form. */
export function isGuid(text: string): boolean {
  return guidPattern.test(text);
}

/** Normalises a resource URI for lookups: lower case, no trailing slashes. */
export function resourceKey(resource: string): string {
  return resource.trim().replace(/\/+$/, '').toLowerCase();
}

function checkLifetime(seconds: number | undefined): void {
  if (seconds !== undefined && (!Number.isInteger(seconds) || seconds < 1)) {
    throw new TypeError('token lifetime must be a positive whole number of seconds');
  }
}

function rolesMap(roles: Record<string, string[]> | undefined): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const [resource, names] of Object.entries(roles ?? {})) {
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) throw new TypeError(`roles for ${resource} must be a list of names`);
    map.set(resourceKey(resource), [...names]);
  }
  return map;
}

/** Raised for directory operations on an application that does not exist. */
export class ApplicationNotFoundError extends Error {
  constructor(appId: string) {
    super(`application ${appId} is not registered`);
    this.name = 'ApplicationNotFoundError';
  }
}

/** The tenant's applications and resources. */
export class Directory {
  private readonly applications = new Map<string, Application>();
  private readonly resources = new Set<string>(builtInResources.map(resourceKey));

  /** Registers an application and its service principal. */
  register(input: ApplicationRegistration): RegisteredApplication {
    const appId = input.appId ?? randomUUID();
    if (!isGuid(appId)) throw new TypeError(`appId must be a GUID, got '${appId}'`);
    if (this.applications.has(appId.toLowerCase())) throw new TypeError(`application ${appId} is already registered`);
    checkLifetime(input.tokenLifetimeSeconds);
    const app: Application = {
      appId: appId.toLowerCase(),
      objectId: randomUUID(),
      displayName: input.displayName ?? `app-${appId.slice(0, 8)}`,
      disabled: input.disabled ?? false,
      secrets: (input.secrets ?? []).map(storeSecret),
      certificates: (input.certificates ?? []).map(storeCertificate),
      roles: rolesMap(input.roles),
    };
    if (input.identifierUri !== undefined) app.identifierUri = input.identifierUri;
    if (input.tokenLifetimeSeconds !== undefined) app.tokenLifetimeSeconds = input.tokenLifetimeSeconds;
    this.applications.set(app.appId, app);
    return { appId: app.appId, objectId: app.objectId };
  }

  /** Applies changes to an application. */
  update(appId: string, change: ApplicationUpdate): ApplicationSummary {
    const app = this.require(appId);
    checkLifetime(change.tokenLifetimeSeconds ?? undefined);
    const added = (change.addSecrets ?? []).map(storeSecret);
    const addedCerts = (change.addCertificates ?? []).map(storeCertificate);
    const roles = change.roles !== undefined ? rolesMap(change.roles) : undefined;
    if (change.displayName !== undefined) app.displayName = change.displayName;
    if (change.disabled !== undefined) app.disabled = change.disabled;
    if (change.identifierUri === null) delete app.identifierUri;
    else if (change.identifierUri !== undefined) app.identifierUri = change.identifierUri;
    if (change.tokenLifetimeSeconds === null) delete app.tokenLifetimeSeconds;
    else if (change.tokenLifetimeSeconds !== undefined) app.tokenLifetimeSeconds = change.tokenLifetimeSeconds;
    for (const value of change.removeSecrets ?? []) app.secrets = app.secrets.filter((s) => !secretMatches(s, value));
    for (const ref of change.removeCertificates ?? []) {
      const thumbs = ref.includes('-----BEGIN') ? storeCertificate(ref) : { x5t: ref, x5tS256: ref };
      app.certificates = app.certificates.filter((c) => c.x5t !== thumbs.x5t && c.x5tS256 !== thumbs.x5tS256);
    }
    app.secrets.push(...added);
    app.certificates.push(...addedCerts);
    if (roles) app.roles = roles;
    return this.summary(app.appId);
  }

  /** Removes an application. */
  remove(appId: string): void {
    if (!this.applications.delete(appId.toLowerCase())) throw new ApplicationNotFoundError(appId);
  }

  /** The application with this client id, if registered. */
  find(appId: string): Application | undefined {
    return this.applications.get(appId.toLowerCase());
  }

  /** A readable view of an application (no secret material). */
  summary(appId: string): ApplicationSummary {
    const app = this.require(appId);
    const summary: ApplicationSummary = {
      appId: app.appId,
      objectId: app.objectId,
      displayName: app.displayName,
      disabled: app.disabled,
      secretCount: app.secrets.length,
      certificates: app.certificates.map((c) => ({
        x5t: c.x5t,
        x5tS256: c.x5tS256,
        notBefore: c.notBefore.toISOString(),
        notAfter: c.notAfter.toISOString(),
      })),
      roles: Object.fromEntries(app.roles),
    };
    if (app.identifierUri !== undefined) summary.identifierUri = app.identifierUri;
    if (app.tokenLifetimeSeconds !== undefined) summary.tokenLifetimeSeconds = app.tokenLifetimeSeconds;
    return summary;
  }

  /** Makes a resource URI known, so tokens can be issued for it. */
  registerResource(uri: string): void {
    if (typeof uri !== 'string' || !uri.trim()) throw new TypeError('resource must be a non-empty URI');
    this.resources.add(resourceKey(uri));
  }

  /** True when tokens may be issued for this resource (built-in, registered, or an application's identifier URI or id). */
  isKnownResource(resource: string): boolean {
    return this.resources.has(resourceKey(resource)) || this.applicationForResource(resource) !== undefined;
  }

  /** App roles of `app` for `resource`, if any were assigned. */
  rolesFor(app: Application, resource: string): string[] {
    const direct = app.roles.get(resourceKey(resource));
    if (direct) return direct;
    const target = this.applicationForResource(resource);
    if (!target) return [];
    return app.roles.get(target.appId) ?? (target.identifierUri ? app.roles.get(resourceKey(target.identifierUri)) : undefined) ?? [];
  }

  private applicationForResource(resource: string): Application | undefined {
    const key = resourceKey(resource);
    for (const app of this.applications.values()) {
      if (app.appId === key || (app.identifierUri !== undefined && resourceKey(app.identifierUri) === key)) return app;
    }
    return undefined;
  }

  private require(appId: string): Application {
    const app = this.find(appId);
    if (!app) throw new ApplicationNotFoundError(appId);
    return app;
  }
}
