/**
 * Executes routed secret operations against the store and shapes their
 * responses (status + JSON body) as Key Vault does.
 */
import type { BundleWriter } from './bundles.ts';
import type { RoutedRequest } from './routes.ts';
import { parseSetSecret, parseUpdateSecret, type SecretStore } from './secrets.ts';
import { KeyVaultError, badParameter } from './errors.ts';

/** A response to send: status and optional JSON body. */
export interface OperationResult {
  status: number;
  body?: Record<string, unknown>;
}

/** What an operation needs besides the route. */
export interface OperationInput {
  /** Parsed JSON body (PUT/PATCH). */
  body: unknown;
  /** `api-version` of the request (carried into `nextLink`). */
  apiVersion: string;
  /** `maxresults` query parameter. */
  maxResults?: string;
  /** `$skiptoken` query parameter. */
  skipToken?: string;
}

function pageBounds(input: OperationInput): { skip: number; max: number } {
  const max = input.maxResults === undefined ? 25 : Number(input.maxResults);
  if (!Number.isInteger(max) || max < 1 || max > 25) throw badParameter('maxresults must be a whole number between 1 and 25.');
  const skip = input.skipToken === undefined ? 0 : Number(input.skipToken);
  if (!Number.isInteger(skip) || skip < 0) throw badParameter('Invalid $skiptoken.');
  return { skip, max };
}

/** Runs one operation. */
export function runOperation(route: RoutedRequest, input: OperationInput, store: SecretStore, bundles: BundleWriter): OperationResult {
  const name = route.name ?? '';
  switch (route.operation) {
    case 'setSecret': {
      const { entry, version } = store.set(name, parseSetSecret(input.body));
      return { status: 200, body: bundles.secret(entry, version, true) };
    }
    case 'getSecret': {
      const { entry, version } = store.get(name, route.version);
      if (!version.enabled) throw new KeyVaultError(403, 'Forbidden', 'Operation get is not allowed on a disabled secret.', 'SecretDisabled');
      return { status: 200, body: bundles.secret(entry, version, true) };
    }
    case 'updateSecret': {
      const { entry, version } = store.update(name, route.version, parseUpdateSecret(input.body));
      return { status: 200, body: bundles.secret(entry, version, false) };
    }
    case 'listSecrets': {
      const { skip, max } = pageBounds(input);
      const items = store.list().map((e) => bundles.item(e, e.versions.at(-1)!, false));
      return { status: 200, body: bundles.page(items, '/secrets', input.apiVersion, skip, max) };
    }
    case 'listSecretVersions': {
      const { skip, max } = pageBounds(input);
      const { entry, versions } = store.versions(name);
      const items = versions.map((v) => bundles.item(entry, v, true));
      return { status: 200, body: bundles.page(items, `/secrets/${entry.name}/versions`, input.apiVersion, skip, max) };
    }
    case 'deleteSecret': {
      const entry = store.delete(name);
      if (entry.deleted) return { status: 200, body: bundles.deleted({ ...entry, deleted: entry.deleted }) };
      return { status: 200, body: bundles.secret(entry, entry.versions.at(-1)!, false) };
    }
    case 'getDeletedSecret':
      return { status: 200, body: bundles.deleted(store.getDeleted(name)) };
    case 'listDeletedSecrets': {
      const { skip, max } = pageBounds(input);
      const items = store.listDeleted().map((e) => bundles.deletedItem(e));
      return { status: 200, body: bundles.page(items, '/deletedsecrets', input.apiVersion, skip, max) };
    }
    case 'purgeDeletedSecret':
      store.purge(name);
      return { status: 204 };
    case 'recoverDeletedSecret': {
      const entry = store.recover(name);
      return { status: 200, body: bundles.secret(entry, entry.versions.at(-1)!, false) };
    }
  }
}
