/**
 * The address policy against an independent classification (ipaddr.js range
 * names), property-tested both ways; every IPv6 form carrying an IPv4 address;
 * refusal at connect time for literals, names and names whose answer changes
 * after the kick-off check (real sockets to a local HTTPS server); the
 * host:port allow-list; jwks_uri fetches bounded in size and time whose errors
 * never echo the body; admin-supplied resource URIs with IP hosts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { fetchLimitedJson } from '../../common/auth/jwks.ts';
import { refusedAddressCategory } from '../../common/net/address-policy.ts';
import { GuardedAgent, type HostLookup } from '../../common/net/guarded-connect.ts';
import { HostPortAllowList } from '../../common/net/host-allow-list.ts';
import { ensureLocalTls } from '../../dev/certs.ts';
import { checkDestinationHost } from '../../fhir-server/export/facade/destination-host.ts';
import { ClientKeys } from '../../fhir-server/http/smart/client-keys.ts';
import { validateAllowedResources } from '../../routing-server/domain/account.ts';
import { RoutingError } from '../../routing-server/domain/errors.ts';
import { smartApp } from '../smart/support/app.ts';

/** Ranges we refuse that ipaddr.js calls `unicast`: each one named in address-policy.ts's comment. */
const ALSO_REFUSED = ['168.63.129.16/32', '100:0:0:1::/64', '2001:1::1/128', '2001:1::2/128', '2001:1::3/128', '3fff::/20', '::/96'].map((c) => ipaddr.parseCIDR(c));
const GLOBAL_UNICAST = ipaddr.parseCIDR('2000::/3');

/** Whether the independent classification refuses `address`. */
function independentlyRefused(address: string): boolean {
  const parsed = ipaddr.parse(address);
  if (parsed.range() !== 'unicast') return true;
  if (parsed.kind() === 'ipv6' && !parsed.match(GLOBAL_UNICAST)) return true;
  return ALSO_REFUSED.some(([net, bits]) => net.kind() === parsed.kind() && parsed.match(net, bits));
}

/** An address inside `cidr` with host bits from `bits` (16 random bytes). */
function inside([net, prefix]: [ipaddr.IPv4 | ipaddr.IPv6, number], bits: Uint8Array): string {
  const base = net.toByteArray();
  const out = base.map((byte, i) => {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    const mask = (0xff << (8 - keep)) & 0xff;
    return (byte & mask) | (bits[i]! & ~mask & 0xff);
  });
  return ipaddr.fromByteArray(out).toString();
}

const specialRanges = (kind: typeof ipaddr.IPv4 | typeof ipaddr.IPv6) =>
  Object.entries((kind.prototype as unknown as { SpecialRanges: Record<string, unknown> }).SpecialRanges).flatMap(([name, value]) => {
    const list = (Array.isArray((value as unknown[])[0]) ? value : [value]) as [ipaddr.IPv4 | ipaddr.IPv6, number][];
    return list.map((cidr) => ({ name, cidr }));
  });
const SPECIAL = [...specialRanges(ipaddr.IPv4), ...specialRanges(ipaddr.IPv6)];

test('property: refused exactly when ipaddr.js names a special range (or a documented extra), for random IPv4 and IPv6 addresses', () => {
  fc.assert(
    fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (address) => {
      assert.is(refusedAddressCategory(address) !== undefined, independentlyRefused(address), `${address}: ${refusedAddressCategory(address)} / ${ipaddr.parse(address).range()}`);
    }),
    { numRuns: 10_000 },
  );
});

test('property: every address in every ipaddr.js special range is refused', () => {
  fc.assert(
    fc.property(fc.constantFrom(...SPECIAL), fc.uint8Array({ minLength: 16, maxLength: 16 }), ({ name, cidr }, bits) => {
      if (name === 'unicast') return;
      const address = inside(cidr, bits);
      assert.ok(refusedAddressCategory(address), `${address} (${name}) accepted`);
    }),
    { numRuns: 5_000 },
  );
});

test('property: every IPv6 form that embeds or translates an IPv4 address is refused, whatever IPv4 address it carries', () => {
  fc.assert(
    fc.property(fc.ipV4(), fc.uint8Array({ minLength: 4, maxLength: 4 }), (v4, extra) => {
      const [a, b, c, d] = v4.split('.').map(Number) as [number, number, number, number];
      const hi = ((a << 8) | b).toString(16);
      const lo = ((c << 8) | d).toString(16);
      const salt = ((extra[0]! << 8) | extra[1]!).toString(16);
      const forms: [string, RegExp][] = [
        [`::ffff:${v4}`, /IPv4-mapped/],
        [`::ffff:${hi}:${lo}`, /IPv4-mapped/],
        [`::ffff:0:${v4}`, /IPv4-translated/],
        [`::${v4}`, /IPv4-compatible|loopback|unspecified/],
        [`64:ff9b::${v4}`, /NAT64/],
        [`64:ff9b:1:${salt}::${hi}:${lo}`, /NAT64 \(local use\)/],
        [`2002:${hi}:${lo}::${salt}`, /6to4/],
        [`2001:0:${hi}:${lo}:${salt}::1`, /Teredo/],
      ];
      for (const [address, why] of forms) assert.match(refusedAddressCategory(address) ?? 'accepted', why, address);
    }),
    { numRuns: 2_000 },
  );
});

let server: Server;
let port: number;
let connections = 0;
let respond: (res: import('node:http').ServerResponse) => void = (res) => res.end('{"keys":[]}');

test.before(async () => {
  const tls = await ensureLocalTls();
  server = createServer({ cert: tls.certPem, key: tls.keyPem }, (_req, res) => respond(res));
  server.on('connection', (_s: Socket) => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
test.after(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function rejectsWith(p: Promise<unknown>, why: RegExp): Promise<Error> {
  try {
    await p;
  } catch (err) {
    assert.match((err as Error).message, why);
    return err as Error;
  }
  return assert.unreachable('resolved') as never;
}

test('connect time: a loopback literal, a name resolving to loopback, and a name that rebinds after the kick-off check never reach the server', async () => {
  const { caPem } = await ensureLocalTls();
  let answers = 0;
  const lookup: HostLookup = async (host) => {
    if (host === 'rebinding.example') return [{ address: answers++ === 0 ? '20.60.1.2' : '127.0.0.1', family: 4 }];
    if (host === 'keys.example') return [{ address: '20.60.1.3', family: 4 }, { address: '127.0.0.1', family: 4 }];
    throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' });
  };
  const agent = new GuardedAgent({ lookup }, { ca: caPem });
  const before = connections;
  await rejectsWith(fetchLimitedJson(`https://127.0.0.1:${port}/jwks.json`, { agent }), /127\.0\.0\.1 leads to a loopback address/);
  await rejectsWith(fetchLimitedJson(`https://[::ffff:127.0.0.1]:${port}/jwks.json`, { agent }), /IPv4-mapped/);
  await rejectsWith(fetchLimitedJson(`https://keys.example:${port}/jwks.json`, { agent }), /keys\.example leads to a loopback address/);
  await checkDestinationHost('rebinding.example', port, { lookup }); // public at kick-off
  await rejectsWith(fetchLimitedJson(`https://rebinding.example:${port}/jwks.json`, { agent }), /rebinding\.example leads to a loopback address/);
  assert.is(connections, before, 'no connection was made');
});

test('the allow-list exempts one host:port: that endpoint is reached, the same host on another port is not', async () => {
  const { caPem } = await ensureLocalTls();
  respond = (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
  const allowed = new GuardedAgent({ allow: HostPortAllowList.parse(`127.0.0.1:${port}`) }, { ca: caPem });
  assert.equal(await fetchLimitedJson(`https://127.0.0.1:${port}/jwks.json`, { agent: allowed }), { keys: [] });
  const other = new GuardedAgent({ allow: HostPortAllowList.parse(`127.0.0.1:${port + 1}`) }, { ca: caPem });
  await rejectsWith(fetchLimitedJson(`https://127.0.0.1:${port}/jwks.json`, { agent: other }), /loopback/);
  // A name on the list connects to the addresses its lookup gave.
  const lookup: HostLookup = async () => [{ address: '127.0.0.1', family: 4 }];
  const named = new GuardedAgent({ allow: HostPortAllowList.parse(`localhost:${port}`), lookup }, { ca: caPem });
  assert.equal(await fetchLimitedJson(`https://localhost:${port}/jwks.json`, { agent: named }), { keys: [] });
});

test('jwks fetches: too large, too slow, an error status or not JSON fail with a sentence that never carries the body', async () => {
  const { caPem } = await ensureLocalTls();
  const agent = new GuardedAgent({ allow: HostPortAllowList.parse(`127.0.0.1:${port}`) }, { ca: caPem });
  const url = `https://127.0.0.1:${port}/jwks.json`;
  const SECRET = 'BODY-SECRET-7f3a';
  respond = (res) => res.writeHead(200).end(`{"keys":[],"pad":"${SECRET}${'x'.repeat(200_000)}"}`);
  assert.not.match((await rejectsWith(fetchLimitedJson(url, { agent, maxBytes: 64 * 1024 }), /larger than 65536 bytes/)).message, SECRET);
  respond = (res) => res.writeHead(500).end(SECRET);
  assert.not.match((await rejectsWith(fetchLimitedJson(url, { agent }), /HTTP 500/)).message, SECRET);
  respond = (res) => res.writeHead(200).end(`<html>${SECRET}</html>`);
  assert.not.match((await rejectsWith(fetchLimitedJson(url, { agent }), /not JSON/)).message, SECRET);
  respond = (res) => void setTimeout(() => res.end('{}'), 2_000).unref();
  await rejectsWith(fetchLimitedJson(url, { agent, timeoutMs: 300 }), /took longer than 300 ms/);
  respond = (res) => res.writeHead(200).write('{"keys":['); // never ends
  await rejectsWith(fetchLimitedJson(url, { agent, timeoutMs: 300 }), /took longer than 300 ms/);
});

test('admin registration of a jwks_uri goes through the policy: a loopback endpoint not on the allow-list is a 400, nothing fetched', async () => {
  const { caPem } = await ensureLocalTls();
  const s = await smartApp(new ClientKeys({ caPem }));
  const before = connections;
  try {
    const res = await s.app.inject({ method: 'POST', url: '/_admin/smart/clients', payload: { scope: 'system/*.read', jwks_uri: `https://127.0.0.1:${port}/jwks.json` } });
    assert.is(res.statusCode, 400, res.body);
    assert.match(JSON.parse(res.body).issue[0].diagnostics, /jwks_uri could not be fetched: .*loopback address/);
    assert.is(connections, before);
  } finally {
    await s.app.close();
  }
});

test('admin-supplied resource URIs with an IP host must name a public address', () => {
  assert.equal(validateAllowedResources(['https://acct.blob.core.windows.net', 'https://20.60.1.2/c']), ['https://acct.blob.core.windows.net', 'https://20.60.1.2/c']);
  for (const uri of ['https://10.0.0.4', 'https://127.0.0.1:10000/devstoreaccount1', 'https://[::ffff:8.8.8.8]', 'https://[64:ff9b::808:808]', 'https://169.254.169.254', 'https://2130706433']) {
    assert.throws(() => validateAllowedResources([uri]), (err: unknown) => err instanceof RoutingError && err.kind === 'invalid-argument' && /only public addresses/.test(err.message), uri);
  }
});

test.run();
