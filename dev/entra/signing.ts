/**
 * The tenant's token-signing key: an RSA key with a self-signed certificate,
 * published as a JWKS entry (`kid` = `x5t` = SHA-1 thumbprint, with `x5c`) the
 * way Entra publishes its keys, and used to sign RS256 access tokens.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import { createIdentityCertificate } from '../certs.ts';

/** One key of a JSON Web Key Set, as Entra publishes it. */
export interface PublishedJwk {
  kty: string;
  use: 'sig';
  kid: string;
  x5t: string;
  n: string;
  e: string;
  x5c: string[];
  issuer: string;
}

/** Signs access tokens and describes its public key. */
export class TokenSigner {
  private constructor(
    /** Key id (`kid`, equal to `x5t`). */
    readonly kid: string,
    /** base64url SHA-1 thumbprint of the signing certificate. */
    readonly x5t: string,
    private readonly privateKey: KeyObject,
    private readonly certificate: X509Certificate,
  ) {}

  /** Creates a fresh signing key and certificate. */
  static async create(): Promise<TokenSigner> {
    const material = await createIdentityCertificate('accounts.local token signing', { validDays: 30 });
    return new TokenSigner(material.x5t, material.x5t, createPrivateKey(material.keyPem), new X509Certificate(material.certPem));
  }

  /** The JWKS entry for this key; `issuer` is the tenant's v2 issuer as Entra lists it. */
  jwk(issuer: string): PublishedJwk {
    const { n, e, kty } = this.certificate.publicKey.export({ format: 'jwk' });
    return { kty: kty ?? 'RSA', use: 'sig', kid: this.kid, x5t: this.x5t, n: n ?? '', e: e ?? '', x5c: [this.certificate.raw.toString('base64')], issuer };
  }

  /** Signs claims into an RS256 JWT with Entra's header `{ typ, alg, x5t, kid }`. */
  sign(claims: JWTPayload): Promise<string> {
    return new SignJWT(claims).setProtectedHeader({ typ: 'JWT', alg: 'RS256', x5t: this.x5t, kid: this.kid }).sign(this.privateKey);
  }
}
