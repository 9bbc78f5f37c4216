import { BlockList, isIP } from 'node:net';

const blocked = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this" network
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata services
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  blocked.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) {
  blocked.addSubnet(network, prefix, 'ipv6');
}

/** The IPv4 address an IPv6 address embeds (mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::`, 6to4 `2002::`). */
function embeddedIpv4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  const sixToFour = /^2002:([0-9a-f]{1,4}):([0-9a-f]{1,4}):/.exec(lower);
  const parts = hex ?? sixToFour;
  if (!parts) return undefined;
  const high = Number.parseInt(parts[1]!, 16);
  const low = Number.parseInt(parts[2]!, 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/**
 * Whether an IP address is private, loopback, link-local or otherwise not on the public internet,
 * including IPv4 addresses inside IPv6 ones (`::ffff:127.0.0.1`).
 *
 * @example
 * ```ts
 * isPrivateAddress('169.254.169.254'); // true
 * isPrivateAddress('93.184.216.34');   // false
 * ```
 */
export function isPrivateAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 4) return blocked.check(bare, 'ipv4');
  if (family === 6) {
    const embedded = embeddedIpv4(bare);
    if (embedded) return blocked.check(embedded, 'ipv4');
    return blocked.check(bare, 'ipv6');
  }
  return true; // Not an IP address: refuse rather than guess.
}

/**
 * Builds the check WebFetch applies to every address it would connect to: `true` allows all,
 * `false` allows public addresses only, a list allows public addresses plus the listed addresses and
 * CIDR ranges (`127.0.0.1`, `10.0.0.0/8`, `::1`).
 */
export function createAddressFilter(allowPrivate: boolean | readonly string[]): (address: string) => boolean {
  if (allowPrivate === true) return () => true;
  const allowed = new BlockList();
  if (Array.isArray(allowPrivate)) {
    for (const entry of allowPrivate) {
      const [network, prefix] = entry.split('/');
      const family = isIP(network ?? '');
      if (family === 0) throw new Error(`"${entry}" is not an IP address or CIDR range.`);
      const type = family === 4 ? 'ipv4' : 'ipv6';
      if (prefix === undefined) allowed.addAddress(network!, type);
      else allowed.addSubnet(network!, Number(prefix), type);
    }
  }
  return (address) => {
    const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
    const family = isIP(bare);
    if (family !== 0) {
      const embedded = family === 6 ? embeddedIpv4(bare) : undefined;
      if (embedded && allowed.check(embedded, 'ipv4')) return true;
      if (allowed.check(bare, family === 4 ? 'ipv4' : 'ipv6')) return true;
    }
    return !isPrivateAddress(bare);
  };
}
