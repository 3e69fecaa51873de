/**
 * Where a client destination may lead: literal addresses of every non-public
 * kind (IPv4, IPv6, embedded IPv4 forms, odd IPv4 spellings the URL parser
 * normalises), names resolving to such addresses, and the host:port allow-list.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { refusedAddressCategory } from '../../common/net/address-policy.ts';
import { HostPortAllowList } from '../../common/net/host-allow-list.ts';
import { checkDestinationHost, type DestinationHostPolicy, type HostLookup } from '../../fhir-server/export/facade/destination-host.ts';
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

async function refusedHost(host: string, policy: DestinationHostPolicy, why: RegExp, port = 443): Promise<void> {
  try {
    await checkDestinationHost(host, port, policy);
  } catch (err) {
    assert.instance(err, FhirError);
    assert.is((err as FhirError).expression, '_destination');
    assert.match((err as FhirError).message, why);
    return;
  }
  assert.unreachable(`${host} was accepted`);
}

test('non-public IPv4 and IPv6 addresses are classified; every IPv6 form carrying an IPv4 address is refused whatever it carries', () => {
  const cases: [string, string | undefined][] = [
    ['127.0.0.1', 'loopback'], ['127.255.0.9', 'loopback'], ['0.0.0.0', 'this host on this network'], ['10.2.3.4', 'private-use'], ['172.16.0.1', 'private-use'],
    ['172.31.255.255', 'private-use'], ['192.168.1.1', 'private-use'], ['169.254.169.254', 'link-local'], ['100.64.0.1', 'shared address space'],
    ['168.63.129.16', 'Azure platform'], ['224.0.0.1', 'multicast'], ['255.255.255.255', 'limited broadcast'], ['192.0.2.10', 'documentation'],
    ['192.31.196.1', 'AS112'], ['192.52.193.1', 'AMT'], ['192.175.48.1', 'AS112 direct delegation'], ['198.19.0.1', 'benchmarking'],
    ['::1', 'loopback'], ['::', 'unspecified'], ['fe80::1', 'link-local'], ['fd12:3456::1', 'unique-local'], ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'IPv4-mapped'], ['::ffff:7f00:1', 'IPv4-mapped'], ['::ffff:8.8.8.8', 'IPv4-mapped'], ['::ffff:0:8.8.8.8', 'IPv4-translated'],
    ['::127.0.0.1', 'IPv4-compatible'], ['64:ff9b::a00:1', 'NAT64'], ['64:ff9b::808:808', 'NAT64'], ['64:ff9b:1::808:808', 'NAT64 (local use)'],
    ['2002:c0a8:101::1', '6to4'], ['2002:808:808::1', '6to4'], ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo'],
    ['2001:db8::1', 'documentation'], ['3fff::1', 'documentation'], ['2001:2::1', 'benchmarking'], ['2620:4f:8000::1', 'AS112 direct delegation'],
    ['5f00::1', 'segment routing (SRv6) SIDs'], ['4000::1', 'reserved (not global unicast)'], ['fec0::1', 'reserved (not global unicast)'],
    ['8.8.8.8', undefined], ['20.60.0.1', undefined], ['172.32.0.1', undefined], ['2606:4700::1111', undefined], ['2001:4860:4860::8888', undefined],
  ];
  for (const [address, category] of cases) assert.is(refusedAddressCategory(address), category, address);
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
  for (const url of [`https://[::ffff:8.8.8.8]/c1x?${sas}`, `https://[64:ff9b::8.8.8.8]/c1x?${sas}`, `https://[2002:808:808::1]/c1x?${sas}`]) {
    await refusedHost(hostOf(url), { lookup: dns({}) }, /IPv4-mapped|NAT64|6to4/);
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
  await checkDestinationHost('acct.blob.core.windows.net', 443, { lookup });
  await checkDestinationHost('dual.example', 443, { lookup });
  await refusedHost('sneaky.example', { lookup }, /private-use/);
  await refusedHost('metadata.example', { lookup }, /link-local/);
  await refusedHost('v6local.example', { lookup }, /unique-local/);
  await refusedHost('mapped.example', { lookup }, /IPv4-mapped/);
  await refusedHost('localhost', { lookup }, /loopback/);
  await refusedHost('nowhere.example', { lookup }, /does not resolve/);
});

test('a DNS failure that is not "no such name" is a retryable 503, not the client\'s fault', async () => {
  const lookup: HostLookup = async () => {
    throw Object.assign(new Error('getaddrinfo EAI_AGAIN'), { code: 'EAI_AGAIN' });
  };
  try {
    await checkDestinationHost('acct.blob.core.windows.net', 443, { lookup });
    assert.unreachable('accepted');
  } catch (err) {
    assert.is((err as FhirError).kind, 'unavailable');
    assert.is((err as FhirError).retryAfterSeconds, 30);
  }
});

test('the allow-list admits an endpoint by host and port (e.g. Azurite on 127.0.0.1:10000), and nothing else', async () => {
  const allow = HostPortAllowList.parse('127.0.0.1:10000, [::1]:8443, LocalHost:9000');
  const lookup = dns({ localhost: ['127.0.0.1'] });
  await checkDestinationHost('127.0.0.1', 10000, { allow, lookup });
  await checkDestinationHost('[::1]', 8443, { allow, lookup });
  await checkDestinationHost('localhost', 9000, { allow, lookup });
  await refusedHost('127.0.0.1', { allow, lookup }, /loopback/, 10001);
  await refusedHost('127.0.0.1', { allow, lookup }, /loopback/, 443);
  await refusedHost('127.0.0.2', { allow, lookup }, /loopback/, 10000);
  await refusedHost('localhost', { allow, lookup }, /loopback/, 10000);
  for (const entry of ['127.0.0.1', '::1', 'localhost', '127.0.0.1:0', '127.0.0.1:99999']) {
    assert.throws(() => HostPortAllowList.parse(entry), /must be host:port/, entry);
  }
});

test.run();
