/**
 * Verification of certificate client assertions (RFC 7523 `private_key_jwt`)
 * the way Entra ID checks them: certificate looked up by `x5t#S256` / `x5t`
 * header, RS256 or PS256 signature, `iss` = `sub` = client id, `aud` = the
 * tenant's token endpoint, `exp`/`nbf` within a clock skew, `jti` present and
 * not replayed.
 */
import { createHash } from 'node:crypto';
import { compactVerify, decodeProtectedHeader } from 'jose';
import { Aadsts, EntraError } from './errors.ts';
import { findCertificate, thumbprintHex, type StoredCertificate } from './credentials.ts';
import type { Application } from './directory.ts';

/** How re-presented assertions are treated. */
export type AssertionReplayPolicy =
  /**
   * The same assertion (byte for byte) may be presented again while it is valid —
   * MSAL caches its signed assertion for up to 10 minutes and sends it with every
   * token request, and Entra accepts that — but a `jti` reused in a different
   * assertion is refused.
   */
  | 'allow-identical'
  /** Every `jti` is accepted once only. */
  | 'reject';

/** What a client assertion is checked against. */
export interface AssertionCheck {
  /** The application named by `client_id`. */
  app: Application;
  /** Accepted `aud` values (the tenant's token endpoints). */
  audiences: readonly string[];
  /** Tolerated clock skew for `exp` and `nbf`. */
  clockSkewSeconds: number;
  /** Replay memory. */
  replay: ReplayGuard;
  /** Current time (epoch ms). */
  now: number;
}

const docs = 'Review the documentation at https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials .';
const supportedAlgorithms = new Set(['RS256', 'PS256']);

function invalidJwt(detail: string): EntraError {
  return new EntraError(401, 'invalid_client', Aadsts.invalidJwt, `Invalid JWT token. ${detail}`);
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function foundKey(cert: StoredCertificate): string {
  return `Found key 'Start=${isoSeconds(cert.notBefore.getTime())}, End=${isoSeconds(cert.notAfter.getTime())}'`;
}

/** Remembers the `jti` of accepted assertions until they expire. */
export class ReplayGuard {
  private readonly seen = new Map<string, { digest: string; forgetAtMs: number }>();
  private nextPruneMs = 0;

  constructor(
    /** How a re-presented `jti` is treated. */
    public policy: AssertionReplayPolicy = 'allow-identical',
  ) {}

  /** Records an assertion's `jti`; throws AADSTS50013 when it was used before in a way the policy refuses. */
  remember(clientId: string, jti: string, assertion: string, forgetAtMs: number, now: number): void {
    this.prune(now);
    const key = `${clientId}\u0000${jti}`;
    const digest = createHash('sha256').update(assertion).digest('base64url');
    const previous = this.seen.get(key);
    if (previous && (this.policy === 'reject' || previous.digest !== digest)) {
      throw new EntraError(401, 'invalid_client', Aadsts.assertionReplayed, `The client assertion was already used: its 'jti' claim '${jti}' has been presented before. ${docs}`);
    }
    this.seen.set(key, { digest, forgetAtMs: Math.max(forgetAtMs, previous?.forgetAtMs ?? 0) });
  }

  /** Forgets everything. */
  clear(): void {
    this.seen.clear();
  }

  private prune(now: number): void {
    if (now < this.nextPruneMs) return;
    this.nextPruneMs = now + 60_000;
    for (const [key, entry] of this.seen) if (entry.forgetAtMs <= now) this.seen.delete(key);
  }
}

function numericClaim(payload: Record<string, unknown>, name: string): number | undefined {
  const value = payload[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidJwt(`The '${name}' claim is not a number.`);
  return value;
}

/** Verifies a client assertion for `check.app`; throws an EntraError describing the first problem found. */
export async function verifyClientAssertion(assertion: string, check: AssertionCheck): Promise<void> {
  const { app } = check;
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(assertion);
  } catch {
    throw invalidJwt('The client assertion is not a well-formed JWT.');
  }
  const alg = header.alg ?? '';
  const x5tS256 = typeof header['x5t#S256'] === 'string' ? header['x5t#S256'] : undefined;
  const x5t = typeof header.x5t === 'string' ? header.x5t : undefined;
  if (!x5tS256 && !x5t) throw invalidJwt('No certificate thumbprint specified in token header.');
  const presentedThumbprint = thumbprintHex(x5tS256 ?? x5t ?? '');
  if (!supportedAlgorithms.has(alg)) {
    throw new EntraError(401, 'invalid_client', Aadsts.assertionSignature, `Client assertion contains an invalid signature. [Reason - The signing algorithm '${alg}' is not supported; use RS256 or PS256., Thumbprint of key used by client: '${presentedThumbprint}']`);
  }
  const cert = findCertificate(app.certificates, x5tS256, x5t);
  if (!cert) {
    throw new EntraError(
      401,
      'invalid_client',
      Aadsts.assertionSignature,
      `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${presentedThumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${app.appId}'.]`,
    );
  }
  if (check.now < cert.notBefore.getTime() || check.now >= cert.notAfter.getTime()) {
    throw new EntraError(401, 'invalid_client', Aadsts.assertionSignature, `Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of key used by client: '${presentedThumbprint}', ${foundKey(cert)}]`);
  }
  let payload: Record<string, unknown>;
  try {
    const verified = await compactVerify(assertion, cert.publicKey, { algorithms: [alg] });
    const parsed: unknown = JSON.parse(new TextDecoder().decode(verified.payload));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new TypeError('payload is not an object');
    payload = parsed as Record<string, unknown>;
  } catch (err) {
    if (err instanceof EntraError) throw err;
    throw new EntraError(
      401,
      'invalid_client',
      Aadsts.assertionSignature,
      `Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '${presentedThumbprint}', ${foundKey(cert)}]`,
    );
  }
  const sameClient = (v: unknown) => typeof v === 'string' && v.toLowerCase() === app.appId;
  if (!sameClient(payload.iss) || !sameClient(payload.sub)) {
    throw new EntraError(401, 'invalid_client', Aadsts.assertionClientMismatch, `Client assertion application identifier doesn't match 'client_id' parameter. ${docs}`);
  }
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (!audiences.some((a) => typeof a === 'string' && check.audiences.includes(a))) {
    throw new EntraError(401, 'invalid_client', Aadsts.assertionAudience, `Client assertion audience claim does not match Realm issuer. ${docs}`);
  }
  const exp = numericClaim(payload, 'exp');
  const nbf = numericClaim(payload, 'nbf');
  if (exp === undefined) throw invalidJwt("The client assertion has no expiry ('exp' claim).");
  const skewMs = check.clockSkewSeconds * 1000;
  if (check.now > exp * 1000 + skewMs || (nbf !== undefined && check.now < nbf * 1000 - skewMs)) {
    throw new EntraError(
      401,
      'invalid_client',
      Aadsts.assertionTimeRange,
      `Client assertion is not within its valid time range. Current time: ${isoSeconds(check.now)}, assertion valid from ${nbf !== undefined ? isoSeconds(nbf * 1000) : 'unset'}, expiry time of assertion ${isoSeconds(exp * 1000)}. ${docs}`,
    );
  }
  if (typeof payload.jti !== 'string' || payload.jti.length === 0) throw invalidJwt("The client assertion has no 'jti' claim.");
  check.replay.remember(app.appId, payload.jti, assertion, exp * 1000 + skewMs, check.now);
}
