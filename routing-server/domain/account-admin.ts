/** Admin use cases on accounts: validated create, update (field mask), get and list. */
import type { AccountCache } from './account-cache.ts';
import {
  validateAccountName,
  validateAllowedResources,
  validateExportOverrides,
  validateIdentity,
  type AccountRecord,
} from './account.ts';
import { RoutingError } from './errors.ts';
import type { AccountWriteRegistryRepository } from './ports.ts';

type AccountInput = Omit<AccountRecord, 'etag' | 'identityEtag' | 'createTime' | 'updateTime'>;

/** Paths an update mask may name. */
export const UPDATABLE_PATHS = ['display_name', 'state', 'allowed_resource_uris', 'managed_identity', 'fhir_properties', 'fhir_properties.export_job_configuration'] as const;

/** See the module comment. */
export class AccountAdmin {
  /** Wires the use cases to the registry and the account cache. */
  constructor(
    private readonly registry: AccountWriteRegistryRepository,
    private readonly cache: AccountCache,
  ) {}

  /** Validates and stores a new account. */
  create(input: AccountInput): Promise<AccountRecord> {
    return this.registry.createAccount(validate(input));
  }

  /** Applies the fields named in `mask` (all when empty); `etag` guards against lost updates. */
  async update(input: AccountInput, mask: string[], etag: string | undefined): Promise<AccountRecord> {
    validateAccountName(input.name);
    const current = await this.get(input.name);
    const unknown = mask.filter((p) => !(UPDATABLE_PATHS as readonly string[]).includes(p));
    if (unknown.length > 0) throw new RoutingError('invalid-argument', `update_mask names unknown or read-only fields: ${unknown.join(', ')}`);
    const all = mask.length === 0;
    const has = (p: string) => all || mask.includes(p);
    const next: AccountInput = {
      name: current.name,
      displayName: has('display_name') ? input.displayName : current.displayName,
      state: has('state') ? input.state : current.state,
      allowedResourceUris: has('allowed_resource_uris') ? input.allowedResourceUris : current.allowedResourceUris,
      identity: has('managed_identity') ? input.identity : current.identity,
      exportJobConfiguration:
        has('fhir_properties') || has('fhir_properties.export_job_configuration') ? input.exportJobConfiguration : current.exportJobConfiguration,
    };
    const stored = await this.registry.updateAccount(validate(next), etag || undefined);
    this.cache.invalidate(stored.name);
    return stored;
  }

  /** One account; `not-found` when absent. */
  async get(name: string): Promise<AccountRecord> {
    const account = await this.registry.getAccount(validateAccountName(name));
    if (!account) throw new RoutingError('not-found', `account ${name} does not exist`);
    return account;
  }

  /** A page of accounts and the token of the next page. */
  async list(pageSize: number, pageToken: string): Promise<{ accounts: AccountRecord[]; nextPageToken: string }> {
    const size = pageSize === 0 ? 100 : pageSize;
    if (!Number.isInteger(size) || size < 1 || size > 500) throw new RoutingError('invalid-argument', 'page_size must be from 1 to 500');
    let after = '';
    if (pageToken) {
      try {
        after = validateAccountName(Buffer.from(pageToken, 'base64url').toString('utf8'));
      } catch {
        throw new RoutingError('invalid-argument', 'page_token is not a token this server issued');
      }
    }
    const accounts = await this.registry.listAccounts(size + 1, after);
    const page = accounts.slice(0, size);
    const nextPageToken = accounts.length > size ? Buffer.from(page[page.length - 1]!.name).toString('base64url') : '';
    return { accounts: page, nextPageToken };
  }
}

function validate(input: AccountInput): AccountInput {
  return {
    name: validateAccountName(input.name),
    displayName: (input.displayName || input.name).slice(0, 256),
    state: input.state,
    allowedResourceUris: validateAllowedResources(input.allowedResourceUris),
    identity: validateIdentity(input.identity),
    exportJobConfiguration: validateExportOverrides(input.exportJobConfiguration),
  };
}
