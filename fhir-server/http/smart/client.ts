/**
 * A registered SMART Backend Services client and the checks a registration
 * must pass: system scopes only, and public keys (RS384 or ES384, each with a
 * `kid`) given inline as a JWKS or by an https `jwks_uri`.
 */
import type { JSONWebKeySet, JWK } from 'jose';
import { FhirError } from '../../fhir/errors.ts';
import { parseScope, splitScopes } from './scopes.ts';

/** A registered client. */
export interface SmartClient {
  /** Generated id (`iss`/`sub` of its assertions). */
  readonly clientId: string;
  /** Free text, for operators. */
  readonly name?: string;
  /** Scopes it may be granted. */
  readonly scopes: readonly string[];
  /** Its public keys, when registered inline. */
  readonly jwks?: JSONWebKeySet;
  /** Where its public keys are published, when not inline. */
  readonly jwksUri?: string;
  /** ISO time of registration. */
  readonly createdAt: string;
  /** True while an operator has disabled it: no new tokens, and its tokens are refused. */
  readonly disabled?: boolean;
}

/** What a registration says, checked. */
export type SmartClientRegistration = Omit<SmartClient, 'clientId' | 'createdAt' | 'disabled'>;

/** Signing algorithms accepted for client assertions. */
export const assertionAlgorithms = Object.freeze(['RS384', 'ES384'] as const);

const privateMembers = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];
const MAX_KEYS = 20;

const invalid = (message: string, expression: string) => new FhirError('invalid', message, { expression });

/** Checks one public key of a client JWKS; returns a problem or undefined. */
export function publicKeyProblem(key: JWK, at: string): string | undefined {
  if (typeof key !== 'object' || key === null) return `${at} is not a JSON object`;
  if (typeof key.kid !== 'string' || key.kid === '') return `${at} needs a kid`;
  if (privateMembers.some((m) => m in key)) return `${at} holds private key material; register the public key only`;
  if (key.alg !== undefined && !assertionAlgorithms.includes(key.alg as 'RS384')) return `${at}.alg must be RS384 or ES384`;
  if (key.kty === 'RSA') {
    if (typeof key.n !== 'string' || typeof key.e !== 'string') return `${at} needs n and e`;
    if (Buffer.from(key.n, 'base64url').length < 256) return `${at}: RSA keys need at least 2048 bits`;
    return undefined;
  }
  if (key.kty === 'EC') return key.crv === 'P-384' && typeof key.x === 'string' && typeof key.y === 'string' ? undefined : `${at}: EC keys must be P-384 with x and y`;
  return `${at}.kty must be RSA or EC`;
}

/** Checks a JWKS (inline or fetched); throws `FhirError('invalid')` naming `where`. */
export function checkJwks(value: unknown, where: string): JSONWebKeySet {
  const keys = (value as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw invalid(`${where} must be a JWKS with at least one key`, where);
  if (keys.length > MAX_KEYS) throw invalid(`${where} holds more than ${MAX_KEYS} keys`, where);
  keys.forEach((key, i) => {
    const problem = publicKeyProblem(key as JWK, `${where}.keys[${i}]`);
    if (problem) throw invalid(problem, `${where}.keys[${i}]`);
  });
  return { keys: keys as JWK[] };
}

/** Checks an https `jwks_uri`. */
export function checkJwksUri(value: unknown): string {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw invalid('jwks_uri must be an absolute https URL', 'jwks_uri');
  }
  if (url.protocol !== 'https:' || url.username || url.password) throw invalid('jwks_uri must be an https URL without credentials', 'jwks_uri');
  return url.toString();
}

/** Checks a registration body `{ scope, jwks | jwks_uri, client_name? }`. */
export function checkRegistration(body: unknown): SmartClientRegistration {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('The body must be a JSON object', '$');
  const input = body as Record<string, unknown>;
  const scopes = splitScopes(typeof input.scope === 'string' ? input.scope : undefined);
  if (scopes.length === 0) throw invalid('scope must list at least one system scope, e.g. "system/*.read"', 'scope');
  const bad = scopes.find((s) => !parseScope(s));
  if (bad) throw invalid(`scope ${JSON.stringify(bad)} is not a SMART system scope (system/<Type|*>.<read|write|*|cruds>)`, 'scope');
  if ((input.jwks === undefined) === (input.jwks_uri === undefined)) throw invalid('Give exactly one of jwks and jwks_uri', 'jwks');
  const name = typeof input.client_name === 'string' && input.client_name.trim() ? input.client_name.trim().slice(0, 200) : undefined;
  return {
    ...(name ? { name } : {}),
    scopes: [...new Set(scopes)],
    ...(input.jwks !== undefined ? { jwks: checkJwks(input.jwks, 'jwks') } : { jwksUri: checkJwksUri(input.jwks_uri) }),
  };
}

/** The client as the admin API answers it (RFC 7591 names). */
export function clientView(client: SmartClient): Record<string, unknown> {
  return {
    client_id: client.clientId,
    ...(client.name ? { client_name: client.name } : {}),
    scope: client.scopes.join(' '),
    ...(client.jwks ? { jwks: client.jwks } : {}),
    ...(client.jwksUri ? { jwks_uri: client.jwksUri } : {}),
    token_endpoint_auth_method: 'private_key_jwt',
    grant_types: ['client_credentials'],
    created_at: client.createdAt,
    disabled: client.disabled === true,
  };
}

/** Checks a client update (`PATCH`): `{ "disabled": true | false }`; answers the new value. */
export function checkClientUpdate(body: unknown): { disabled: boolean } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('The body must be a JSON object', '$');
  const input = body as Record<string, unknown>;
  const unknown = Object.keys(input).find((key) => key !== 'disabled');
  if (unknown !== undefined) throw invalid(`${unknown.slice(0, 40)} cannot be changed; only disabled can`, unknown.slice(0, 40));
  if (typeof input.disabled !== 'boolean') throw invalid('disabled must be true or false', 'disabled');
  return { disabled: input.disabled };
}
