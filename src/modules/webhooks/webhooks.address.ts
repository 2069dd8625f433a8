import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Addresses a merchant's webhook must not reach: Coffer's own host, private
 * networks and cloud metadata (169.254.169.254), or a merchant could make
 * Coffer call internal services for them (server-side request forgery).
 */
const internal = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  internal.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  internal.addSubnet(network, prefix, 'ipv6');
}

export function isInternalAddress(address: string): boolean {
  const mappedV4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mappedV4) return internal.check(mappedV4, 'ipv4');
  const family = isIP(address);
  if (family === 0) return true; // not an address at all: refuse rather than guess
  return internal.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** Resolves a host name to every address it has. */
export type Lookup = (hostname: string) => Promise<{ address: string }[]>;

const systemLookup: Lookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** Why an address written into `url` itself may not be called; undefined for a public address or a name. */
export function internalLiteralOf(url: string): string | undefined {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) === 0 || !isInternalAddress(host)) return undefined;
  return `${host} is an internal address that webhooks may not call`;
}

/**
 * The `lookup` of a webhook's connection (node:net): it resolves the name and
 * refuses it when any address is internal. The connection goes to an address
 * this very lookup checked, so a DNS answer that changes between a check and
 * the connection (DNS rebinding) cannot slip an internal address through.
 */
export function refusingInternal(resolve: Lookup = systemLookup): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (found) => {
        const blocked = found.find((a) => isInternalAddress(a.address));
        if (blocked) {
          const err: NodeJS.ErrnoException = new Error(`${hostname} resolves to ${blocked.address}, an internal address that webhooks may not call`);
          err.code = 'EINTERNALADDRESS';
          return callback(err, []);
        }
        const family = options.family === 4 || options.family === 'IPv4' ? 4 : options.family === 6 || options.family === 'IPv6' ? 6 : 0;
        const addresses = found.map((a) => ({ address: a.address, family: isIP(a.address) })).filter((a) => family === 0 || a.family === family);
        if (addresses.length === 0) {
          const err: NodeJS.ErrnoException = new Error(`${hostname} has no address`);
          err.code = 'ENOTFOUND';
          return callback(err, []);
        }
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, []),
    );
  };
}
