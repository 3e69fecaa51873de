/**
 * Where a job's files go. `{ kind: 'default' }`: the configured storage account,
 * written with the export's token credential (the routing credential).
 * `{ kind: 'client' }`: a container SAS URL read from a secret store by name,
 * written anonymously with the SAS; the secret is deleted when the job ends.
 * Client destinations connect only to public addresses, checked at each new
 * connection (common/net/guarded-connect.ts) except for allow-listed endpoints.
 */
import type { TokenCredential } from '@azure/core-auth';
import { AnonymousCredential, BlobSASPermissions, ContainerClient, type BlobServiceClient } from '@azure/storage-blob';
import { blobPipeline, blobSasVersion, createBlobServiceClient } from '../../../common/blob.ts';
import { GuardedAgent, type AddressGuard } from '../../../common/net/guarded-connect.ts';
import type { ExportDestination } from '../ports.ts';
import { calling, ExportFailure } from './failures.ts';

/** The port to the secrets that hold client destinations (Key Vault in production). */
export interface DestinationSecrets {
  /** The secret's value, or undefined when there is no such secret; `abortSignal` gives up waiting. */
  read(name: string, options?: { abortSignal?: AbortSignal }): Promise<string | undefined>;
  /** Deletes the secret (no error when it is already gone). */
  remove(name: string): Promise<void>;
}

/** Opens destinations and releases them. */
export interface DestinationResolver {
  /** The container a job with `destination` writes to (created if it is the default account's and missing). */
  open(destination: ExportDestination): Promise<ContainerClient>;
  /** Called when a job ends: a client destination's secret is deleted. */
  release(destination: ExportDestination): Promise<void>;
  /** A read-only user delegation SAS URL for a blob of a default destination, when possible. */
  readUrl?(destination: ExportDestination, blobName: string, minutes: number): Promise<string | undefined>;
}

/** Options of {@link BlobDestinations}. */
export interface BlobDestinationsOptions {
  /** Default storage account URL. */
  storageAccountUri?: string;
  /** Credential for the default account (bearer tokens for https://storage.azure.com). */
  credential: TokenCredential;
  /** Secrets holding client destinations; without it client destinations fail. */
  secrets?: DestinationSecrets;
  /** CA to trust for storage endpoints. */
  caPem?: string;
  /** Where client destinations may connect (default: public addresses only, no exemptions). */
  clientGuard?: AddressGuard;
}

/** The Blob Storage adapter of {@link DestinationResolver}. */
export class BlobDestinations implements DestinationResolver {
  #service: BlobServiceClient | undefined;
  #clientAgent: GuardedAgent | undefined;
  readonly #created = new Set<string>();

  /** Uses `options`. */
  constructor(private readonly options: BlobDestinationsOptions) {}

  #defaultService(): BlobServiceClient {
    if (!this.options.storageAccountUri) throw new ExportFailure('invalid-destination', 'no default storage account is configured (storageAccountUri)');
    this.#service ??= createBlobServiceClient({ url: this.options.storageAccountUri, credential: this.options.credential, caPem: this.options.caPem });
    return this.#service;
  }

  async open(destination: ExportDestination): Promise<ContainerClient> {
    if (destination.kind === 'default') {
      const container = this.#defaultService().getContainerClient(destination.container);
      if (!this.#created.has(destination.container)) {
        await calling('Blob Storage', (abortSignal) => container.createIfNotExists({ abortSignal }));
        this.#created.add(destination.container);
      }
      return container;
    }
    const secrets = this.options.secrets;
    if (!secrets) throw new ExportFailure('invalid-destination', 'client destinations are not configured (no secret store)');
    const value = await calling('Key Vault', (abortSignal) => secrets.read(destination.secretName, { abortSignal }));
    if (value === undefined) throw new ExportFailure('destination-missing', `Key Vault secret '${destination.secretName}' does not exist`);
    let url: URL;
    try {
      url = new URL(value.trim());
    } catch {
      throw new ExportFailure('invalid-destination', `Key Vault secret '${destination.secretName}' does not hold a URL`);
    }
    if (url.protocol !== 'https:' || url.pathname.split('/').filter(Boolean).length === 0) {
      throw new ExportFailure('invalid-destination', `Key Vault secret '${destination.secretName}' does not hold an https container URL`);
    }
    this.#clientAgent ??= new GuardedAgent(this.options.clientGuard ?? {}, { keepAlive: true, maxSockets: 64, ...(this.options.caPem ? { ca: this.options.caPem } : {}) });
    return new ContainerClient(url.toString(), blobPipeline(new AnonymousCredential(), this.options.caPem, undefined, this.#clientAgent));
  }

  async release(destination: ExportDestination): Promise<void> {
    if (destination.kind !== 'client' || !this.options.secrets) return;
    const secrets = this.options.secrets;
    await calling('Key Vault', () => secrets.remove(destination.secretName));
  }

  async readUrl(destination: ExportDestination, blobName: string, minutes: number): Promise<string | undefined> {
    if (destination.kind !== 'default' || minutes <= 0) return undefined;
    const service = this.#defaultService();
    const startsOn = new Date(Date.now() - 60_000);
    const expiresOn = new Date(Date.now() + minutes * 60_000);
    const key = await calling('Blob Storage', () => service.getUserDelegationKey(startsOn, expiresOn));
    const blob = service.getContainerClient(destination.container).getBlobClient(blobName);
    return blob.generateUserDelegationSasUrl({ permissions: BlobSASPermissions.parse('r'), startsOn, expiresOn, version: blobSasVersion }, key);
  }
}
