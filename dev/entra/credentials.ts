/**
 * Application credentials as the directory keeps them: client secrets (only a
 * SHA-256 digest is stored, compared in constant time) and certificates (public
 * part only, looked up by SHA-1 or SHA-256 thumbprint).
 */
import { createHash, timingSafeEqual, X509Certificate, type KeyObject } from 'node:crypto';

/** A client secret to register, optionally with an expiry. */
export interface SecretCredentialInput {
  /** The secret text. */
  value: string;
  /** When the secret stops working (Date, epoch ms or ISO text). */
  expiresOn?: Date | number | string;
}

/** A client secret as stored: digest and expiry, never the text. */
export interface StoredSecret {
  /** SHA-256 of the secret text. */
  digest: Buffer;
  /** Expiry in epoch ms, when any. */
  expiresOnMs?: number;
}

/** A certificate credential as stored: its public key, thumbprints and validity. */
export interface StoredCertificate {
  /** base64url SHA-1 thumbprint (`x5t`). */
  x5t: string;
  /** base64url SHA-256 thumbprint (`x5t#S256`). */
  x5tS256: string;
  /** RSA public key of the certificate. */
  publicKey: KeyObject;
  /** Start of validity. */
  notBefore: Date;
  /** End of validity. */
  notAfter: Date;
}

/** Outcome of checking a presented secret against an application's secrets. */
export type SecretCheck = 'valid' | 'expired' | 'invalid';

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Turns a secret registration into its stored form. */
export function storeSecret(input: string | SecretCredentialInput): StoredSecret {
  const value = typeof input === 'string' ? input : input.value;
  if (typeof value !== 'string' || value.length === 0) throw new TypeError('a client secret must be a non-empty string');
  const expires = typeof input === 'string' ? undefined : input.expiresOn;
  if (expires === undefined) return { digest: digest(value) };
  const expiresOnMs = new Date(expires).getTime();
  if (Number.isNaN(expiresOnMs)) throw new TypeError('secret expiresOn is not a valid date');
  return { digest: digest(value), expiresOnMs };
}

/** True when `presented` is the secret stored as `stored` (constant-time comparison). */
export function secretMatches(stored: StoredSecret, presented: string): boolean {
  return timingSafeEqual(stored.digest, digest(presented));
}

/** Checks a presented secret against all of an application's secrets, comparing every one. */
export function checkSecret(secrets: readonly StoredSecret[], presented: string, now = Date.now()): SecretCheck {
  let result: SecretCheck = 'invalid';
  for (const secret of secrets) {
    if (!secretMatches(secret, presented)) continue;
    if (secret.expiresOnMs !== undefined && secret.expiresOnMs <= now) {
      if (result === 'invalid') result = 'expired';
    } else {
      result = 'valid';
    }
  }
  return result;
}

/** Parses the first certificate of a PEM text (a key + certificate bundle is fine; the key is ignored). */
export function storeCertificate(pem: string): StoredCertificate {
  const match = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  if (!match) throw new TypeError('certificate PEM holds no CERTIFICATE block');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(match[0]);
  } catch {
    throw new TypeError('certificate PEM could not be parsed');
  }
  if (cert.publicKey.asymmetricKeyType !== 'rsa') throw new TypeError('application certificates must have RSA keys');
  return {
    x5t: createHash('sha1').update(cert.raw).digest('base64url'),
    x5tS256: createHash('sha256').update(cert.raw).digest('base64url'),
    publicKey: cert.publicKey,
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
  };
}

/** Finds a certificate by `x5t#S256` (preferred) or `x5t`. */
export function findCertificate(certs: readonly StoredCertificate[], x5tS256: string | undefined, x5t: string | undefined): StoredCertificate | undefined {
  if (x5tS256) return certs.find((c) => c.x5tS256 === x5tS256);
  if (x5t) return certs.find((c) => c.x5t === x5t);
  return undefined;
}

/** Entra prints thumbprints as upper-case hex; converts a base64url thumbprint for messages. */
export function thumbprintHex(base64url: string): string {
  return Buffer.from(base64url, 'base64url').toString('hex').toUpperCase();
}
