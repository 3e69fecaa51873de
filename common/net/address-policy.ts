/**
 * Which network addresses an admin- or client-supplied URL may lead to: public
 * unicast only. Refused, in this order (the first match names the reason):
 * - every IPv6 form that embeds or translates an IPv4 address: IPv4-mapped,
 *   IPv4-translated, IPv4-compatible, NAT64 (well-known and local-use
 *   prefixes), 6to4 and Teredo — whatever IPv4 address is inside;
 * - every entry of the IANA IPv4 and IPv6 Special-Purpose Address Registries
 *   (RFC 6890; as published in 2025), globally reachable or not;
 * - IPv4 multicast (224.0.0.0/4) and the Azure platform address (168.63.129.16);
 * - in IPv6, everything outside 2000::/3, the only block IANA allocates for
 *   global unicast (the rest is reserved, unique-local, link-local or multicast).
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

// [first address, prefix length, why it is refused]
const embeddedIpv4: [string, number, string][] = [
  ['::1', 128, 'loopback'],
  ['::', 128, 'unspecified'],
  ['::ffff:0:0', 96, 'IPv4-mapped'],
  ['::ffff:0:0:0', 96, 'IPv4-translated'],
  ['::', 96, 'IPv4-compatible'],
  ['64:ff9b::', 96, 'NAT64'],
  ['64:ff9b:1::', 48, 'NAT64 (local use)'],
  ['2002::', 16, '6to4'],
  ['2001::', 32, 'Teredo'],
];

/** IANA IPv4 Special-Purpose Address Registry, every entry; then multicast and Azure's platform address. */
const ipv4Refused: [string, number, string][] = [
  ['0.0.0.0', 32, 'this host on this network'],
  ['0.0.0.0', 8, 'this network'],
  ['10.0.0.0', 8, 'private-use'],
  ['100.64.0.0', 10, 'shared address space'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private-use'],
  ['192.0.0.0', 29, 'IPv4 service continuity prefix'],
  ['192.0.0.8', 32, 'IPv4 dummy address'],
  ['192.0.0.9', 32, 'PCP anycast'],
  ['192.0.0.10', 32, 'TURN anycast'],
  ['192.0.0.170', 31, 'NAT64/DNS64 discovery'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.31.196.0', 24, 'AS112'],
  ['192.52.193.0', 24, 'AMT'],
  ['192.88.99.0', 24, 'deprecated 6to4 relay anycast'],
  ['192.168.0.0', 16, 'private-use'],
  ['192.175.48.0', 24, 'AS112 direct delegation'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['255.255.255.255', 32, 'limited broadcast'],
  ['240.0.0.0', 4, 'reserved'],
  ['224.0.0.0', 4, 'multicast'],
  ['168.63.129.16', 32, 'Azure platform'],
];

/** IANA IPv6 Special-Purpose Address Registry, every entry (loopback, unspecified and the IPv4 forms are above); then multicast. */
const ipv6Refused: [string, number, string][] = [
  ['100::', 64, 'discard-only'],
  ['100:0:0:1::', 64, 'dummy prefix'],
  ['2001:1::1', 128, 'PCP anycast'],
  ['2001:1::2', 128, 'TURN anycast'],
  ['2001:1::3', 128, 'DNS-SD SRP anycast'],
  ['2001:2::', 48, 'benchmarking'],
  ['2001:3::', 32, 'AMT'],
  ['2001:4:112::', 48, 'AS112'],
  ['2001:10::', 28, 'deprecated ORCHID'],
  ['2001:20::', 28, 'ORCHIDv2'],
  ['2001:30::', 28, 'drone remote ID'],
  ['2001:db8::', 32, 'documentation'],
  ['2001::', 23, 'IETF protocol assignments'],
  ['2620:4f:8000::', 48, 'AS112 direct delegation'],
  ['3fff::', 20, 'documentation'],
  ['5f00::', 16, 'segment routing (SRv6) SIDs'],
  ['fc00::', 7, 'unique-local'],
  ['fe80::', 10, 'link-local'],
  ['ff00::', 8, 'multicast'],
];

const rules: { list: BlockList; family: 'ipv4' | 'ipv6'; category: string }[] = [
  ...embeddedIpv4.map(([a, p, c]) => ({ a, p, c, f: 'ipv6' as const })),
  ...ipv4Refused.map(([a, p, c]) => ({ a, p, c, f: 'ipv4' as const })),
  ...ipv6Refused.map(([a, p, c]) => ({ a, p, c, f: 'ipv6' as const })),
].map(({ a, p, c, f }) => {
  const list = new BlockList();
  list.addSubnet(a, p, f);
  return { list, family: f, category: c };
});

const globalUnicast = new BlockList();
globalUnicast.addSubnet('2000::', 3, 'ipv6');

/** `address` without URL brackets or an IPv6 zone (`%eth0`). */
export function bareAddress(address: string): string {
  return address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
}

/** Why `address` (an IP literal) is refused — `loopback`, `IPv4-mapped`, ... — or undefined when it is public unicast. */
export function refusedAddressCategory(address: string): string | undefined {
  const bare = bareAddress(address);
  const family = isIPv4(bare) ? 'ipv4' : isIPv6(bare) ? 'ipv6' : undefined;
  if (!family) return 'not an IP address';
  for (const rule of rules) if (rule.family === family && rule.list.check(bare, family)) return rule.category;
  if (family === 'ipv6' && !globalUnicast.check(bare, 'ipv6')) return 'reserved (not global unicast)';
  return undefined;
}
