/**
 * Key Vault stand-in: the secrets REST API with the 401 challenge, bearer
 * tokens checked against the Entra stand-in, access policies and soft delete.
 */
export { startKeyVault } from './server.ts';
export type { KeyVaultEntraSettings, KeyVaultOptions, KeyVaultStandIn, PutSecretOptions } from './types.ts';
export type { SecretPermission } from './access.ts';
export { allSecretPermissions } from './access.ts';
export type { SecretOperation } from './routes.ts';
export type { KeyVaultStats, OperationCounts } from './stats.ts';
export type { Fault } from '../entra/faults.ts';
