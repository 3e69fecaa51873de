/**
 * Destination parameters, checked without any I/O: `_container` (a container
 * of the default storage account) and `_destination` (a client's container
 * URL with a SAS). Messages name the parameter and the host, never the SAS.
 */
import { FhirError } from '../../fhir/errors.ts';
import { portOf } from '../../../common/net/host-allow-list.ts';
import { SecretUrl } from './secret-url.ts';

/** Where a kick-off asks its files to go, before the client URL is put away in Key Vault. */
export type DestinationSpec = { kind: 'default'; container: string } | { kind: 'client'; url: SecretUrl; host: string; port: number; expiresOn?: Date };

// Azure container names: 3-63 of a-z, 0-9 and single hyphens, starting and ending with a letter or digit.
const containerPattern = /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/;
// Azure storage account names (path-style URLs of Azurite and IP endpoints put them first).
const accountPattern = /^[a-z0-9]{3,24}$/;

/** True when `name` is a valid Azure container name. */
export function isContainerName(name: string): boolean {
  return containerPattern.test(name);
}

function invalid(parameter: string, why: string): FhirError {
  return new FhirError('invalid', `${parameter} ${why}`, { expression: parameter });
}

/** Checks a `_container` value. */
export function checkContainer(value: string, parameter = '_container'): string {
  if (/[/\\%]|\.\./.test(value)) throw invalid(parameter, 'must be a bare container name: path separators, dot segments and escapes are refused');
  if (!isContainerName(value)) throw invalid(parameter, 'must be 3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit');
  return value;
}

// The path as written (before URL parsing normalises dot segments and escapes).
function rawPath(value: string): string {
  const afterScheme = value.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const slash = afterScheme.search(/[/?#]/);
  if (slash < 0 || afterScheme[slash] !== '/') return '';
  return afterScheme.slice(slash).split(/[?#]/)[0]!;
}

/** Checks a `_destination` value: an https container URL with a SAS, no credentials, no path tricks. */
export function checkDestinationUrl(value: string, now: Date, parameter = '_destination'): DestinationSpec & { kind: 'client' } {
  if (value.length > 4096 || /[\s\\\u0000-\u001f\u007f]/.test(value)) throw invalid(parameter, 'is not a well-formed URL');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(parameter, 'is not a well-formed URL');
  }
  if (url.protocol !== 'https:') throw invalid(parameter, 'must be an https URL');
  if (url.username || url.password) throw invalid(parameter, 'must not carry a user name or password');
  if (url.hash) throw invalid(parameter, 'must not have a fragment');
  const path = rawPath(value);
  if (/\.\.|%2e|%2f|%5c|\/\//i.test(path)) throw invalid(parameter, 'must not contain dot segments, encoded separators or empty path segments');
  const segments = path.replace(/\/$/, '').split('/').slice(1);
  const container = segments.at(-1) ?? '';
  if (segments.length < 1 || segments.length > 2 || !isContainerName(container) || (segments.length === 2 && !accountPattern.test(segments[0]!))) {
    throw invalid(parameter, `must name a container: https://<account host>/<container> (or /<account>/<container>) on ${url.hostname}`);
  }
  if (!url.searchParams.get('sig')) throw invalid(parameter, 'must carry a SAS (sig=...) granting write access to the container');
  const sr = url.searchParams.get('sr');
  if (sr !== null && sr !== 'c') throw invalid(parameter, 'must carry a container SAS (sr=c) or an account SAS');
  const se = url.searchParams.get('se');
  const expiresOn = se !== null && !Number.isNaN(Date.parse(se)) ? new Date(Date.parse(se)) : undefined;
  if (expiresOn && expiresOn.getTime() <= now.getTime()) throw invalid(parameter, `carries a SAS that expired at ${expiresOn.toISOString()}`);
  return { kind: 'client', url: new SecretUrl(value), host: url.hostname, port: portOf(url), ...(expiresOn ? { expiresOn } : {}) };
}

/** The destination `_container` and `_destination` ask for (at most one of them; `_destination` only in a body). */
export function destinationFrom(form: 'query' | 'body', container: string | undefined, destination: string | undefined, defaultContainer: string, now: Date): DestinationSpec {
  if (destination === undefined) return { kind: 'default', container: container === undefined ? defaultContainer : checkContainer(container) };
  if (container !== undefined) throw invalid('_destination', 'and _container cannot both be given');
  if (form === 'query') throw invalid('_destination', 'is accepted only in a POST Parameters body: a SAS must not travel in a URL');
  return checkDestinationUrl(destination.trim(), now);
}
