/**
 * The keys the fhir-server signs its SMART access tokens with: a key ring of
 * the current key (signs) and up to two earlier ones (still verify), loaded
 * from a `SigningKeySource` (PEM private keys, newest first), reloaded every
 * `refreshSeconds` and, at most every `unknownKidRefreshSeconds` (30), when a token names a key the ring
 * lacks (another instance may have loaded a newer one first).
 * Key ids are JWK thumbprints, so every instance names a key alike.
 */
import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose';
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

/** Where the signing keys come from: PEM private keys, newest first (at least one). */
export interface SigningKeySource {
  /** Human-readable origin, for logs (never the key). */
  readonly description: string;
  /** The keys. */
  load(): Promise<string[]>;
  /** A remote source that may be out of reach at start: start-up goes on and the keys are loaded on first use. */
  readonly mayBeUnreachableAtStart?: boolean;
}

/** One loaded key. */
export interface SigningKey {
  /** Key id (JWK thumbprint). */
  kid: string;
  /** JWS algorithm. */
  alg: 'ES384' | 'ES256' | 'RS384';
  /** Signs. */
  privateKey: KeyObject;
  /** Verifies. */
  publicKey: KeyObject;
  /** The public key as a JWK (with kid and alg). */
  publicJwk: JWK;
}

/** Imports a PEM private key (EC P-384 / P-256 or RSA ≥ 2048 bits). */
export async function importSigningKey(pem: string): Promise<SigningKey> {
  const privateKey = createPrivateKey(pem);
  const details = privateKey.asymmetricKeyDetails ?? {};
  let alg: SigningKey['alg'];
  if (privateKey.asymmetricKeyType === 'ec' && details.namedCurve === 'secp384r1') alg = 'ES384';
  else if (privateKey.asymmetricKeyType === 'ec' && details.namedCurve === 'prime256v1') alg = 'ES256';
  else if (privateKey.asymmetricKeyType === 'rsa' && (details.modulusLength ?? 0) >= 2048) alg = 'RS384';
  else throw new Error('a SMART signing key must be an EC P-384/P-256 or RSA (2048+ bit) private key');
  const publicKey = createPublicKey(privateKey);
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk, 'sha256');
  return { kid, alg, privateKey, publicKey, publicJwk: { ...jwk, kid, alg, use: 'sig' } };
}

/** A new ES384 private key as PKCS#8 PEM. */
export function generateSigningKeyPem(): string {
  return generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** Keys from PEM text (current first, then previous): configured files. */
export function pemSigningKeySource(pems: string[], description = 'configured PEM files'): SigningKeySource {
  if (pems.length === 0) throw new Error('pemSigningKeySource needs at least one key');
  return { description, load: async () => pems };
}

/** One key generated in memory: valid for this process only (one instance, local experiments, tests). */
export function ephemeralSigningKeySource(): SigningKeySource {
  const pem = generateSigningKeyPem();
  return { description: 'a key generated at start-up (this instance only)', load: async () => [pem] };
}

/** See the module comment. */
export class SigningKeyRing {
  readonly #source: SigningKeySource;
  readonly #refreshMs: number;
  readonly #unknownKidRefreshMs: number;
  #keys: SigningKey[] = [];
  #loadedAt = 0;
  #loading: Promise<void> | undefined;

  /** A ring over `source`; `refreshSeconds` default 600, `unknownKidRefreshSeconds` (earliest reload for an unknown kid) default 30. */
  constructor(source: SigningKeySource, options: { refreshSeconds?: number; unknownKidRefreshSeconds?: number } = {}) {
    this.#source = source;
    this.#refreshMs = (options.refreshSeconds ?? 600) * 1000;
    this.#unknownKidRefreshMs = (options.unknownKidRefreshSeconds ?? 30) * 1000;
  }

  /** Whether start-up may go on without the keys (see `SigningKeySource`). */
  get mayBeUnreachableAtStart(): boolean {
    return this.#source.mayBeUnreachableAtStart === true;
  }

  /** Where the keys come from. */
  get description(): string {
    return this.#source.description;
  }

  /** Loads the keys (call once at start; throws when the source fails). */
  async load(): Promise<void> {
    this.#loading ??= (async () => {
      try {
        const pems = (await this.#source.load()).slice(0, 3);
        if (pems.length === 0) throw new Error(`no SMART signing key in ${this.#source.description}`);
        this.#keys = await Promise.all(pems.map(importSigningKey));
        this.#loadedAt = Date.now();
      } finally {
        this.#loading = undefined;
      }
    })();
    return this.#loading;
  }

  /** The key new tokens are signed with (reloaded in the background when due). */
  async current(): Promise<SigningKey> {
    if (this.#keys.length === 0) await this.load();
    else if (Date.now() - this.#loadedAt > this.#refreshMs) this.load().catch(() => undefined);
    return this.#keys[0]!;
  }

  /** The current or previous key named `kid`, or undefined. */
  async verificationKey(kid: string): Promise<SigningKey | undefined> {
    if (this.#keys.length === 0) await this.load();
    let key = this.#keys.find((k) => k.kid === kid);
    if (!key && Date.now() - this.#loadedAt >= this.#unknownKidRefreshMs) {
      await this.load().catch(() => undefined);
      key = this.#keys.find((k) => k.kid === kid);
    }
    return key;
  }

  /** The public keys (current first) as a JWKS. */
  jwks(): { keys: JWK[] } {
    return { keys: this.#keys.map((k) => k.publicJwk) };
  }
}
