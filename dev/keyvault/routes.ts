/**
 * Maps Key Vault secret REST requests (method + path) to operations and the
 * access-policy permission each needs. Tolerates the trailing slash the SDK
 * sends for "latest version" (`/secrets/{name}/`).
 */
import type { SecretPermission } from './access.ts';

/** Secret operations, named like the `SecretClient` methods that call them. */
export type SecretOperation =
  | 'setSecret'
  | 'getSecret'
  | 'updateSecret'
  | 'listSecrets'
  | 'listSecretVersions'
  | 'deleteSecret'
  | 'getDeletedSecret'
  | 'listDeletedSecrets'
  | 'purgeDeletedSecret'
  | 'recoverDeletedSecret';

/** A request resolved to an operation. */
export interface RoutedRequest {
  operation: SecretOperation;
  /** Permission the caller needs. */
  permission: SecretPermission;
  /** Secret name, for operations on one secret. */
  name?: string;
  /** Version (empty or absent = latest). */
  version?: string;
}

/** Resolves a request; `undefined` when no operation matches. */
export function routeSecretRequest(method: string, segments: string[]): RoutedRequest | undefined {
  const [collection, name, third, fourth] = segments;
  if (fourth !== undefined && fourth !== '') return undefined;
  const hasName = name !== undefined && name !== '';
  if (collection === 'secrets') {
    if (!hasName) return method === 'GET' && third === undefined ? { operation: 'listSecrets', permission: 'list' } : undefined;
    if (third === 'versions') return method === 'GET' ? { operation: 'listSecretVersions', permission: 'list', name } : undefined;
    const version = third ?? '';
    switch (method) {
      case 'PUT':
        return version === '' ? { operation: 'setSecret', permission: 'set', name } : undefined;
      case 'GET':
        return { operation: 'getSecret', permission: 'get', name, version };
      case 'PATCH':
        return { operation: 'updateSecret', permission: 'set', name, version };
      case 'DELETE':
        return version === '' ? { operation: 'deleteSecret', permission: 'delete', name } : undefined;
      default:
        return undefined;
    }
  }
  if (collection === 'deletedsecrets') {
    if (!hasName) return method === 'GET' && third === undefined ? { operation: 'listDeletedSecrets', permission: 'list' } : undefined;
    if (third === 'recover') return method === 'POST' ? { operation: 'recoverDeletedSecret', permission: 'recover', name } : undefined;
    if (third !== undefined && third !== '') return undefined;
    if (method === 'GET') return { operation: 'getDeletedSecret', permission: 'get', name };
    if (method === 'DELETE') return { operation: 'purgeDeletedSecret', permission: 'purge', name };
  }
  return undefined;
}
