/**
 * AccountReadRegistryRepository (and the admin write side) over the global
 * Cosmos DB registry: per account an `Account` document and a
 * `ManagedIdentityMetadata` document, both in the account's partition.
 */
import type { Container, ItemDefinition } from '@azure/cosmos';
import type { AccountRecord, CredentialKind, ExportJobConfigurationOverrides } from '../domain/account.ts';
import { RoutingError } from '../domain/errors.ts';
import type { AccountWriteRegistryRepository } from '../domain/ports.ts';
import { cosmosStatus, mapCosmosError } from './cosmos-errors.ts';

/** Partition key path of the registry container. */
export const REGISTRY_PARTITION_KEY = '/accountName';

const ACCOUNT_ID = 'account';
const IDENTITY_ID = 'managedIdentityMetadata';

/** The stored `Account` document. */
interface AccountDocument {
  id: typeof ACCOUNT_ID;
  type: 'Account';
  accountName: string;
  displayName: string;
  state: 'active' | 'disabled';
  allowedResourceUris: string[];
  fhirProperties: { exportJobConfiguration: ExportJobConfigurationOverrides };
  createTime: string;
  updateTime: string;
  _etag?: string;
}

/** The stored `ManagedIdentityMetadata` document. */
interface ManagedIdentityMetadataDocument {
  id: typeof IDENTITY_ID;
  type: 'ManagedIdentityMetadata';
  accountName: string;
  clientId: string;
  tenantId: string;
  'mi-secretName': string;
  credentialKind: CredentialKind;
  _etag?: string;
}

type NewAccount = Omit<AccountRecord, 'etag' | 'identityEtag' | 'createTime' | 'updateTime'>;

/** See the module comment. */
export class CosmosAccountRegistry implements AccountWriteRegistryRepository {
  private readonly source: () => Container;

  /** Uses `container` (partitioned on /accountName), or a source that may throw while it is not reachable yet. */
  constructor(container: Container | (() => Container)) {
    this.source = typeof container === 'function' ? container : () => container;
  }

  private get container(): Container {
    return this.source();
  }

  /** Reads both documents of an account in parallel. */
  async getAccount(name: string): Promise<AccountRecord | undefined> {
    const [account, identity] = await Promise.all([
      this.read<AccountDocument>(ACCOUNT_ID, name),
      this.read<ManagedIdentityMetadataDocument>(IDENTITY_ID, name),
    ]);
    if (!account) return undefined;
    if (!identity) throw new RoutingError('credential-unavailable', `account ${name} has no ManagedIdentityMetadata document`);
    return toRecord(account, identity);
  }

  /** Creates the identity document, then the account document (which fails if the name is taken). */
  async createAccount(input: NewAccount): Promise<AccountRecord> {
    if (await this.read<AccountDocument>(ACCOUNT_ID, input.name)) throw new RoutingError('already-exists', `account ${input.name} already exists`);
    const now = new Date().toISOString();
    try {
      const identity = await this.container.items.upsert<ManagedIdentityMetadataDocument>(identityDoc(input));
      const account = await this.container.items.create<AccountDocument>(accountDoc(input, now, now));
      return toRecord(account.resource!, identity.resource!);
    } catch (err) {
      throw mapCosmosError(err, `account ${input.name}`);
    }
  }

  /** Replaces the account document (guarded by `ifEtag`) and the identity document when it changed. */
  async updateAccount(input: NewAccount, ifEtag?: string): Promise<AccountRecord> {
    const current = await this.getAccount(input.name);
    if (!current) throw new RoutingError('not-found', `account ${input.name} does not exist`);
    if (ifEtag && ifEtag !== current.etag) throw new RoutingError('stale-version', `account ${input.name} was changed by someone else; read it again`);
    try {
      const account = await this.container
        .item(ACCOUNT_ID, input.name)
        .replace<AccountDocument>(accountDoc(input, current.createTime, new Date().toISOString()), {
          accessCondition: { type: 'IfMatch', condition: current.etag },
        });
      const sameIdentity = JSON.stringify(identityDoc(current)) === JSON.stringify(identityDoc(input));
      const identity = sameIdentity
        ? await this.container.item(IDENTITY_ID, input.name).read<ManagedIdentityMetadataDocument>()
        : await this.container.items.upsert<ManagedIdentityMetadataDocument>(identityDoc(input));
      return toRecord(account.resource!, identity.resource!);
    } catch (err) {
      throw mapCosmosError(err, `account ${input.name}`);
    }
  }

  /** Accounts ordered by name after `afterName`. */
  async listAccounts(limit: number, afterName = ''): Promise<AccountRecord[]> {
    try {
      const { resources } = await this.container.items
        .query<AccountDocument>({
          query: 'SELECT * FROM c WHERE c.type = "Account" AND c.accountName > @after ORDER BY c.accountName',
          parameters: [{ name: '@after', value: afterName }],
        })
        .fetchAll();
      const page = resources.slice(0, limit);
      const out: AccountRecord[] = [];
      for (const account of page) {
        const identity = await this.read<ManagedIdentityMetadataDocument>(IDENTITY_ID, account.accountName);
        if (identity) out.push(toRecord(account, identity));
      }
      return out;
    } catch (err) {
      throw mapCosmosError(err, 'the account list');
    }
  }

  private async read<T extends ItemDefinition>(id: string, name: string): Promise<(T & { _etag?: string }) | undefined> {
    try {
      const { resource } = await this.container.item(id, name).read<T>();
      return resource ?? undefined;
    } catch (err) {
      if (cosmosStatus(err) === 404) return undefined;
      throw mapCosmosError(err, `account ${name}`);
    }
  }
}

function accountDoc(input: NewAccount, createTime: string, updateTime: string): AccountDocument {
  return {
    id: ACCOUNT_ID,
    type: 'Account',
    accountName: input.name,
    displayName: input.displayName,
    state: input.state,
    allowedResourceUris: input.allowedResourceUris,
    fhirProperties: { exportJobConfiguration: input.exportJobConfiguration },
    createTime,
    updateTime,
  };
}

function identityDoc(input: Pick<AccountRecord, 'name' | 'identity'>): ManagedIdentityMetadataDocument {
  return {
    id: IDENTITY_ID,
    type: 'ManagedIdentityMetadata',
    accountName: input.name,
    clientId: input.identity.clientId,
    tenantId: input.identity.tenantId,
    'mi-secretName': input.identity.secretName,
    credentialKind: input.identity.credentialKind,
  };
}

function toRecord(account: AccountDocument, identity: ManagedIdentityMetadataDocument): AccountRecord {
  return {
    name: account.accountName,
    displayName: account.displayName,
    state: account.state,
    allowedResourceUris: account.allowedResourceUris,
    exportJobConfiguration: account.fhirProperties?.exportJobConfiguration ?? {},
    identity: {
      clientId: identity.clientId,
      tenantId: identity.tenantId,
      secretName: identity['mi-secretName'],
      credentialKind: identity.credentialKind ?? 'unspecified',
    },
    etag: account._etag ?? '',
    identityEtag: identity._etag ?? '',
    createTime: account.createTime,
    updateTime: account.updateTime,
  };
}
