/**
 * Where a client destination may lead: literal addresses of every non-public
 * kind (IPv4, IPv6, embedded IPv4 forms, odd IPv4 spellings the URL parser
 * normalises), names resolving to such addresses, and the allow-list.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nonPublicCategory } from '../../fhir-server/export/facade/address-policy.ts';
import { checkDestinationHost, type HostLookup } from '../../fhir-server/export/facade/destination-host.ts';
import { checkDestinationUrl } from '../../fhir-server/export/facade/destination-spec.ts';
import { FhirError } from '../../fhir-server/fhir/errors.ts';

const sas = 'sv=2024-08-04&sr=c&sp=cw&sig=SIG';
const now = new Date();

/** A resolver answering from a table; unknown names fail like getaddrinfo. */
function dns(table: Record<string, string[]>): HostLookup {
  return async (host) => {
    const addresses = table[host];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

/** The host of a destination URL as the parser gives it. */
const hostOf = (url: string) => checkDestinationUrl(url, now).host;

async function refusedHost(host: string, policy: Parameters<typeof checkDestinationHost>[1], why: RegExp): Promise<void> {
  try {
    await checkDestinationHost(host, policy);
  } catch (err) {
    assert.instance(err, FhirError);
    assert.is((err as FhirError).expression, '_destination');
    assert.match((err as FhirError).message, why);
    return;
  }
  assert.unreachable(`${host} was accepted`);
}

test('non-public IPv4 and IPv6 addresses are classified; public ones are not', () => {
  const cases: [string, string | undefined][] = [
    ['127.0.0.1', 'loopback'], ['127.255.0.9', 'loopback'], ['0.0.0.0', 'unspecified'], ['10.2.3.4', 'private'], ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'], ['192.168.1.1', 'private'], ['169.254.169.254', 'link-local'], ['100.64.0.1', 'shared (carrier-grade NAT)'],
    ['168.63.129.16', 'Azure platform'], ['224.0.0.1', 'multicast'], ['255.255.255.255', 'reserved'], ['192.0.2.10', 'documentation'],
    ['::1', 'loopback'], ['::', 'unspecified'], ['fe80::1', 'link-local'], ['fd12:3456::1', 'private'], ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'], ['::ffff:7f00:1', 'loopback'], ['::ffff:a9fe:a9fe', 'link-local'], ['64:ff9b::a00:1', 'private'],
    ['2002:c0a8:101::1', 'private'], ['::127.0.0.1', 'reserved'], ['2001:db8::1', 'documentation'],
    ['8.8.8.8', undefined], ['20.60.0.1', undefined], ['172.32.0.1', undefined], ['2606:4700::1111', undefined], ['::ffff:8.8.8.8', undefined], ['2002:808:808::1', undefined],
  ];
  for (const [address, category] of cases) assert.is(nonPublicCategory(address), category, address);
});

test('literal hosts in URLs, including spellings the URL parser normalises, are refused', async () => {
  for (const url of [
    `https://127.0.0.1/c1x?${sas}`,
    `https://[::1]/c1x?${sas}`,
    `https://[::ffff:127.0.0.1]/c1x?${sas}`,
    `https://[::ffff:10.0.0.1]:8443/c1x?${sas}`,
    `https://169.254.169.254/c1x?${sas}`,
    `https://2130706433/c1x?${sas}`,
    `https://0x7f.0.0.1/c1x?${sas}`,
    `https://0177.0.0.1/c1x?${sas}`,
    `https://127.1/c1x?${sas}`,
    `https://[fe80::1]/c1x?${sas}`,
    `https://10.1.2.3/c1x?${sas}`,
  ]) {
    await refusedHost(hostOf(url), { lookup: dns({}) }, /leads to a .* address/);
  }
});

test('names are checked by every address they resolve to', async () => {
  const lookup = dns({
    'acct.blob.core.windows.net': ['20.60.1.2'],
    'dual.example': ['20.60.1.2', '2606:4700::1'],
    'sneaky.example': ['20.60.1.2', '10.0.0.7'],
    'metadata.example': ['169.254.169.254'],
    'v6local.example': ['fd00::5'],
    'mapped.example': ['::ffff:192.168.0.1'],
    'localhost': ['127.0.0.1', '::1'],
  });
  await checkDestinationHost('acct.blob.core.windows.net', { lookup });
  await checkDestinationHost('dual.example', { lookup });
  await refusedHost('sneaky.example', { lookup }, /private/);
  await refusedHost('metadata.example', { lookup }, /link-local/);
  await refusedHost('v6local.example', { lookup }, /private/);
  await refusedHost('mapped.example', { lookup }, /private/);
  await refusedHost('localhost', { lookup }, /loopback/);
  await refusedHost('nowhere.example', { lookup }, /does not resolve/);
});

test('a DNS failure that is not "no such name" is a retryable 503, not the client\'s fault', async () => {
  const lookup: HostLookup = async () => {
    throw Object.assign(new Error('getaddrinfo EAI_AGAIN'), { code: 'EAI_AGAIN' });
  };
  try {
    await checkDestinationHost('acct.blob.core.windows.net', { lookup });
    assert.unreachable('accepted');
  } catch (err) {
    assert.is((err as FhirError).kind, 'unavailable');
    assert.is((err as FhirError).retryAfterSeconds, 30);
  }
});

test('the allow-list admits named hosts (e.g. Azurite on 127.0.0.1) without a lookup, and nothing else', async () => {
  const lookup: HostLookup = async () => assert.unreachable('no lookup for an allowed host') as never;
  await checkDestinationHost('127.0.0.1', { allowedHosts: ['127.0.0.1'], lookup });
  await checkDestinationHost('[::1]', { allowedHosts: ['::1'], lookup });
  await checkDestinationHost('LocalHost', { allowedHosts: ['localhost'], lookup });
  await refusedHost('127.0.0.2', { allowedHosts: ['127.0.0.1'], lookup: dns({}) }, /loopback/);
});

test.run();
