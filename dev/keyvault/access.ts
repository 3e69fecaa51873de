/**
 * Vault access policies: which principals (service principal object id, or
 * application id for convenience) hold which secret permissions.
 */

/** Secret permissions of a Key Vault access policy. */
export type SecretPermission = 'get' | 'list' | 'set' | 'delete' | 'recover' | 'purge';

/** Every secret permission. */
export const allSecretPermissions: readonly SecretPermission[] = ['get', 'list', 'set', 'delete', 'recover', 'purge'];

/** The caller a verified token describes. */
export interface Caller {
  /** `appid` claim. */
  appId?: string;
  /** `oid` claim. */
  objectId?: string;
  /** `iss` claim. */
  issuer: string;
}

/** Checks an untrusted permission list. */
export function parsePermissions(value: unknown): SecretPermission[] {
  if (!Array.isArray(value)) throw new TypeError('permissions must be a list');
  for (const p of value) {
    if (!allSecretPermissions.includes(p as SecretPermission)) throw new TypeError(`unknown secret permission '${String(p)}' (known: ${allSecretPermissions.join(', ')})`);
  }
  return value as SecretPermission[];
}

/** Access policies by principal id (lower case). */
export class AccessPolicies {
  private readonly policies = new Map<string, Set<SecretPermission>>();

  /** Adds permissions for a principal (object id or application id). */
  grant(principal: string, permissions: readonly SecretPermission[]): void {
    const key = principal.toLowerCase();
    const set = this.policies.get(key) ?? new Set<SecretPermission>();
    for (const p of parsePermissions(permissions)) set.add(p);
    this.policies.set(key, set);
  }

  /** Removes permissions (all when none are named) from a principal. */
  revoke(principal: string, permissions?: readonly SecretPermission[]): void {
    const key = principal.toLowerCase();
    if (!permissions) {
      this.policies.delete(key);
      return;
    }
    const set = this.policies.get(key);
    if (!set) return;
    for (const p of parsePermissions(permissions)) set.delete(p);
    if (set.size === 0) this.policies.delete(key);
  }

  /** True when the caller's object id or application id holds the permission. */
  allows(caller: Caller, permission: SecretPermission): boolean {
    return [caller.objectId, caller.appId].some((id) => id !== undefined && this.policies.get(id.toLowerCase())?.has(permission) === true);
  }

  /** All policies, for reading back. */
  list(): Record<string, SecretPermission[]> {
    return Object.fromEntries([...this.policies].map(([k, v]) => [k, [...v]]));
  }
}

/** How Key Vault names a caller in a 403 message. */
export function describeCaller(caller: Caller): string {
  return `appid=${caller.appId ?? ''};oid=${caller.objectId ?? ''};iss=${caller.issuer}`;
}
