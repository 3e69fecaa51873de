/**
 * Key Vault error responses: `{ error: { code, message, innererror? } }` with
 * the status codes and messages the real service uses.
 */
import type { SecretPermission } from './access.ts';

/** An error Key Vault answers with. */
export class KeyVaultError extends Error {
  constructor(
    /** HTTP status. */
    readonly status: number,
    /** `error.code`. */
    readonly code: string,
    message: string,
    /** `error.innererror.code`, when any. */
    readonly innerCode?: string,
  ) {
    super(message);
    this.name = 'KeyVaultError';
  }

  /** The JSON body of this error. */
  body(): Record<string, unknown> {
    return { error: { code: this.code, message: this.message, ...(this.innerCode ? { innererror: { code: this.innerCode } } : {}) } };
  }
}

/** 401: no usable bearer token. */
export function unauthorized(message: string): KeyVaultError {
  return new KeyVaultError(401, 'Unauthorized', message);
}

/** 403: the caller's access policy lacks the permission. */
export function forbidden(principal: string, permission: SecretPermission, vaultName: string): KeyVaultError {
  return new KeyVaultError(
    403,
    'Forbidden',
    `The user, group or application '${principal}' does not have secrets ${permission} permission on key vault '${vaultName};location=local'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`,
    'ForbiddenByPolicy',
  );
}

/** 404: no such (live) secret or version. */
export function secretNotFound(nameOrId: string): KeyVaultError {
  return new KeyVaultError(
    404,
    'SecretNotFound',
    `A secret with (name/id) ${nameOrId} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
  );
}

/** 404: no such deleted secret. */
export function deletedSecretNotFound(name: string): KeyVaultError {
  return new KeyVaultError(404, 'SecretNotFound', `Deleted Secret not found: ${name}`);
}

/** 400: a malformed request. */
export function badParameter(message: string): KeyVaultError {
  return new KeyVaultError(400, 'BadParameter', message);
}

/** 409: the name belongs to a deleted but recoverable secret. */
export function deletedButRecoverable(name: string): KeyVaultError {
  return new KeyVaultError(
    409,
    'Conflict',
    `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`,
    'ObjectIsDeletedButRecoverable',
  );
}
