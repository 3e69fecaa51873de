/**
 * JSON shapes of the Key Vault secrets REST API (SecretBundle, SecretItem,
 * DeletedSecretBundle, DeletedSecretItem), with ids under the vault URL.
 */
import type { SecretEntry, SecretVersion } from './secrets.ts';

/** Recovery level Key Vault reports for a retention period (0 = no soft delete). */
export function recoveryLevel(recoverableDays: number): string {
  if (recoverableDays <= 0) return 'Purgeable';
  return recoverableDays >= 90 ? 'Recoverable+Purgeable' : 'CustomizedRecoverable+Purgeable';
}

function attributes(v: SecretVersion, recoverableDays: number): Record<string, unknown> {
  return {
    enabled: v.enabled,
    ...(v.nbf !== undefined ? { nbf: v.nbf } : {}),
    ...(v.exp !== undefined ? { exp: v.exp } : {}),
    created: v.created,
    updated: v.updated,
    ...(recoverableDays > 0 ? { recoverableDays } : {}),
    recoveryLevel: recoveryLevel(recoverableDays),
  };
}

function properties(v: SecretVersion, recoverableDays: number): Record<string, unknown> {
  return {
    attributes: attributes(v, recoverableDays),
    ...(v.contentType !== undefined ? { contentType: v.contentType } : {}),
    ...(v.tags !== undefined ? { tags: v.tags } : {}),
  };
}

/** Formats the vault's secret ids. */
export class BundleWriter {
  constructor(
    /** `https://127.0.0.1:PORT`. */
    readonly vaultUrl: string,
    /** Soft-delete retention. */
    readonly recoverableDays: number,
  ) {}

  /** A SecretBundle (the value only when `withValue`). */
  secret(entry: SecretEntry, v: SecretVersion, withValue: boolean): Record<string, unknown> {
    return {
      ...(withValue ? { value: v.value } : {}),
      id: `${this.vaultUrl}/secrets/${entry.name}/${v.version}`,
      ...properties(v, this.recoverableDays),
    };
  }

  /** A SecretItem: the secret (id without version) or one of its versions. */
  item(entry: SecretEntry, v: SecretVersion, withVersion: boolean): Record<string, unknown> {
    return {
      id: `${this.vaultUrl}/secrets/${entry.name}${withVersion ? `/${v.version}` : ''}`,
      ...properties(v, this.recoverableDays),
    };
  }

  /** A DeletedSecretBundle (no value). */
  deleted(entry: SecretEntry & { deleted: NonNullable<SecretEntry['deleted']> }): Record<string, unknown> {
    const latest = entry.versions.at(-1)!;
    return {
      recoveryId: `${this.vaultUrl}/deletedsecrets/${entry.name}`,
      deletedDate: entry.deleted.deletedDate,
      scheduledPurgeDate: entry.deleted.scheduledPurgeDate,
      ...this.secret(entry, latest, false),
    };
  }

  /** A DeletedSecretItem. */
  deletedItem(entry: SecretEntry & { deleted: NonNullable<SecretEntry['deleted']> }): Record<string, unknown> {
    const latest = entry.versions.at(-1)!;
    return {
      recoveryId: `${this.vaultUrl}/deletedsecrets/${entry.name}`,
      deletedDate: entry.deleted.deletedDate,
      scheduledPurgeDate: entry.deleted.scheduledPurgeDate,
      ...this.item(entry, latest, false),
    };
  }

  /** One page of a list, with `nextLink` (carrying `api-version`, `maxresults` and `$skiptoken`) when more remain. */
  page(items: Array<Record<string, unknown>>, path: string, apiVersion: string, skip: number, max: number): Record<string, unknown> {
    const slice = items.slice(skip, skip + max);
    const more = skip + max < items.length;
    const next = more ? `${this.vaultUrl}${path}?api-version=${encodeURIComponent(apiVersion)}&maxresults=${max}&$skiptoken=${skip + max}` : null;
    return { value: slice, nextLink: next };
  }
}
