/**
 * Turns a destination spec into the `ExportDestination` a job keeps: the
 * default account's container as is, or a client's URL checked for where it
 * leads and put away in Key Vault under a new job-specific secret name.
 */
import { randomUUID } from 'node:crypto';
import { FhirError } from '../../fhir/errors.ts';
import type { ExportDestination } from '../ports.ts';
import { checkDestinationHost, type DestinationHostPolicy } from './destination-host.ts';
import type { DestinationSpec } from './destination-spec.ts';
import type { DestinationVault } from './destination-vault.ts';

/** What resolving a client destination needs. */
export interface DestinationDeps {
  /** Where client URLs are kept; without it, client destinations are refused. */
  vault?: DestinationVault;
  /** Host checks (`host:port` allow-list, DNS). */
  hostPolicy?: DestinationHostPolicy;
}

/** A resolved destination and how to undo it when the job is not started after all. */
export interface ResolvedDestination {
  /** What the job keeps. */
  destination: ExportDestination;
  /** Removes what resolving stored (the Key Vault secret), if anything. */
  discard(): Promise<void>;
}

/** A new secret name for one job's destination (Key Vault names: letters, digits, hyphens). */
export function newDestinationSecretName(): string {
  return `export-destination-${randomUUID()}`;
}

/** Resolves `spec`; see the module comment. */
export async function resolveDestination(spec: DestinationSpec, deps: DestinationDeps): Promise<ResolvedDestination> {
  if (spec.kind === 'default') return { destination: { kind: 'default', container: spec.container }, discard: async () => undefined };
  if (!deps.vault) throw new FhirError('not-supported', '_destination is not accepted: this server keeps no client destinations (no Key Vault configured)', { expression: '_destination' });
  await checkDestinationHost(spec.host, spec.port, deps.hostPolicy ?? {});
  const secretName = newDestinationSecretName();
  const vault = deps.vault;
  await vault.store(secretName, spec.url, { expiresOn: spec.expiresOn, tags: { purpose: 'fhir-export-destination', host: spec.host.slice(0, 256) } });
  // The container's own URL (no SAS) is kept so the manifest can point at the client's blobs.
  const containerUrl = spec.url.base.replace(/\/+$/, '');
  return { destination: { kind: 'client', secretName, containerUrl }, discard: () => vault.remove(secretName) };
}
