/** Validation and normalisation of resource URIs (token audiences, storage accounts) as the routing contract defines them. */
import { InvalidContractValue } from './invalid-value.ts';

const MAX_LENGTH = 2048;

/**
 * Normalises a resource URI: https only, absolute, no credentials, query or
 * fragment; lower-case host; no default port; no trailing slash; a trailing
 * "/.default" scope suffix is removed. Throws `InvalidContractValue` saying why.
 */
export function normaliseResourceUri(input: string): string {
  const known = normalised.get(input);
  if (known !== undefined) return known;
  const result = normalise(input);
  if (normalised.size >= 1_000) normalised.clear();
  normalised.set(input, result);
  return result;
}

// Valid inputs seen recently (bounded): the hot path asks for the same few resources again and again.
const normalised = new Map<string, string>();

function normalise(input: string): string {
  if (typeof input !== 'string' || input.trim() === '') {
    throw new InvalidContractValue('resource_uri is required: an absolute https URI such as https://storage.azure.com');
  }
  if (input.length > MAX_LENGTH) {
    throw new InvalidContractValue(`resource_uri is longer than ${MAX_LENGTH} characters`);
  }
  let raw = input.trim();
  if (raw.endsWith('/.default')) raw = raw.slice(0, -'/.default'.length);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidContractValue('resource_uri is not an absolute URI');
  }
  if (url.protocol !== 'https:') {
    throw new InvalidContractValue(`resource_uri must use https, not ${url.protocol.replace(/:$/, '')}`);
  }
  if (url.username || url.password) throw new InvalidContractValue('resource_uri must not carry credentials');
  if (url.search || raw.includes('?')) throw new InvalidContractValue('resource_uri must not have a query string');
  if (url.hash || raw.includes('#')) throw new InvalidContractValue('resource_uri must not have a fragment');
  const path = url.pathname.replace(/\/+$/, '');
  if (path.includes('/..') || path.includes('/./')) throw new InvalidContractValue('resource_uri must not contain dot segments');
  return `https://${url.host.toLowerCase()}${path}`;
}
