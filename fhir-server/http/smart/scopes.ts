/**
 * SMART system scopes, v1 (`system/Patient.read`, `.write`, `.*`) and v2
 * (`system/Patient.rs`, permissions in `cruds` order) syntax alike, as sets
 * of permissions per resource type (`*` for every type). Types are R4's
 * (`fhir/resource-types.ts`); a scope on any other name is no scope.
 */
import { isResourceType } from '../../fhir/resource-types.ts';

/** One SMART v2 permission: create, read, update, delete, search. */
export type SmartPermission = 'c' | 'r' | 'u' | 'd' | 's';

/** A parsed scope: the type (or `*`) and its permissions. */
export interface SmartScope {
  /** The scope as written. */
  text: string;
  /** Resource type, or `*`. */
  type: string;
  /** Permissions it grants. */
  permissions: ReadonlySet<SmartPermission>;
}

const v1Permissions: Record<string, SmartPermission[]> = { read: ['r', 's'], write: ['c', 'u', 'd'], '*': ['c', 'r', 'u', 'd', 's'] };
const scopePattern = /^system\/(\*|[A-Z][A-Za-z]{0,63})\.([A-Za-z*]+)$/;

/** Parses one system scope; undefined when it is not one (other contexts, v2 query parameters, bad permissions, a type R4 does not define). */
export function parseScope(text: string): SmartScope | undefined {
  const match = scopePattern.exec(text);
  if (!match) return undefined;
  const [, type, perms] = match as unknown as [string, string, string];
  if (type !== '*' && !isResourceType(type)) return undefined;
  if (v1Permissions[perms]) return { text, type, permissions: new Set(v1Permissions[perms]) };
  // v2: a non-empty subsequence of "cruds", in that order.
  if (!/^c?r?u?d?s?$/.test(perms) || perms === '') return undefined;
  return { text, type, permissions: new Set(perms.split('') as SmartPermission[]) };
}

/** Splits a space-separated scope string (empty entries dropped). */
export function splitScopes(scope: string | undefined): string[] {
  return (scope ?? '').split(' ').filter(Boolean);
}

/** What a set of scopes allows. */
export class ScopeSet {
  readonly #byType = new Map<string, Set<SmartPermission>>();

  /** Collects the system scopes of `scopes` (anything else is ignored). */
  constructor(scopes: Iterable<string>) {
    for (const text of scopes) {
      const scope = parseScope(text);
      if (!scope) continue;
      const held = this.#byType.get(scope.type) ?? new Set<SmartPermission>();
      for (const p of scope.permissions) held.add(p);
      this.#byType.set(scope.type, held);
    }
  }

  /** True when `permission` is held on `type` (directly or through `*`); `type` `*` needs the wildcard scope itself. */
  allows(type: string, permission: SmartPermission): boolean {
    return Boolean(this.#byType.get('*')?.has(permission) || (type !== '*' && this.#byType.get(type)?.has(permission)));
  }

  /** True when every permission of `scope` is held on its type. */
  covers(scope: SmartScope): boolean {
    return [...scope.permissions].every((p) => this.allows(scope.type, p));
  }

  /** True when `permission` is held on at least one type. */
  any(permission: SmartPermission): boolean {
    return [...this.#byType.values()].some((held) => held.has(permission));
  }
}

/** The requested scopes the registered ones cover, in request order, each once (`system/Patient.read` is covered by `system/*.rs`). */
export function grantScopes(requested: readonly string[], registered: readonly string[]): string[] {
  const held = new ScopeSet(registered);
  const granted: string[] = [];
  for (const text of requested) {
    const scope = parseScope(text);
    if (scope && held.covers(scope) && !granted.includes(text)) granted.push(text);
  }
  return granted;
}
