import { BlockList, isIP } from 'node:net';

/** Says why the proxy must not connect to an address, or undefined when it may. */
export type BackendPolicy = (address: string, port: number) => string | undefined;

export interface BackendPolicyOptions {
  /** CIDRs that backends must lie in (BACKEND_ALLOW); empty allows every address not denied. */
  readonly allow: readonly string[];
  /** The proxy's own ports, which no backend may point back at; filled in once they listen. */
  readonly ownPorts: ReadonlySet<number>;
  /** Addresses of this machine besides loopback (its interfaces). */
  readonly localAddresses: readonly string[];
}

/**
 * SECURITY: whoever can write the registry could otherwise make the proxy fetch
 * cloud metadata (credentials) or loop requests into itself. BlockList also
 * matches IPv4-mapped IPv6 forms such as ::ffff:169.254.169.254.
 */
export function createBackendPolicy(o: BackendPolicyOptions): BackendPolicy {
  const metadata = new BlockList();
  metadata.addSubnet('169.254.0.0', 16, 'ipv4');
  metadata.addSubnet('fe80::', 10, 'ipv6');
  metadata.addAddress('fd00:ec2::254', 'ipv6');
  const self = new BlockList();
  self.addSubnet('127.0.0.0', 8, 'ipv4');
  self.addAddress('0.0.0.0', 'ipv4');
  self.addAddress('::1', 'ipv6');
  self.addAddress('::', 'ipv6');
  for (const a of o.localAddresses) self.addAddress(a, isIP(a) === 6 ? 'ipv6' : 'ipv4');
  const allow = o.allow.length === 0 ? undefined : new BlockList();
  const allowV4: Ipv4Subnet[] = [];
  let allowHasV6 = false;
  for (const cidr of o.allow) {
    const [address, prefix] = parseCidr(cidr)!;
    const family = isIP(address);
    allow!.addSubnet(address, prefix, family === 6 ? 'ipv6' : 'ipv4');
    if (family === 4) allowV4.push(ipv4Subnet(address, prefix));
    else allowHasV6 = true;
  }

  return (address, port) => {
    const family = isIP(address);
    if (family === 0) return undefined; // host names are checked once resolved, when connecting
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (family === 4) {
      // Every route is checked when the table is loaded: BlockList.check builds a native
      // SocketAddress per call, which made it most of a 100,000-route snapshot's cost.
      // IPv4 is compared as a number instead; only an IPv6 allow rule (which may name
      // IPv4-mapped addresses) still needs BlockList for an address outside the IPv4 rules.
      const n = ipv4Number(address);
      if (inSubnet(n, LINK_LOCAL_V4)) return METADATA;
      if (allow && !allowV4.some((s) => inSubnet(n, s)) && !(allowHasV6 && allow.check(address, type))) return OUTSIDE_ALLOW;
    } else {
      if (metadata.check(address, type)) return METADATA;
      if (allow && !allow.check(address, type)) return OUTSIDE_ALLOW;
    }
    if (o.ownPorts.has(port) && self.check(address, type)) return "that is one of the proxy's own listeners";
    return undefined;
  };
}

const METADATA = 'link-local and cloud metadata addresses are never proxied to';
const OUTSIDE_ALLOW = 'the address is outside BACKEND_ALLOW';

interface Ipv4Subnet {
  readonly network: number;
  readonly mask: number;
}

const LINK_LOCAL_V4 = ipv4Subnet('169.254.0.0', 16);

function ipv4Subnet(address: string, prefix: number): Ipv4Subnet {
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { network: (ipv4Number(address) & mask) >>> 0, mask };
}

function inSubnet(n: number, s: Ipv4Subnet): boolean {
  return ((n & s.mask) >>> 0) === s.network;
}

/** `10.1.2.3` -> 0x0a010203; `address` has passed isIP() as IPv4 (four decimal octets). */
function ipv4Number(address: string): number {
  let n = 0;
  let octet = 0;
  for (let i = 0; i < address.length; i++) {
    const c = address.charCodeAt(i);
    if (c === 46 /* . */) {
      n = n * 256 + octet;
      octet = 0;
    } else octet = octet * 10 + (c - 48);
  }
  return n * 256 + octet;
}

/** `10.0.0.0/8` -> ['10.0.0.0', 8]; a bare address is a single-address range. Undefined when invalid. */
export function parseCidr(cidr: string): [string, number] | undefined {
  const [address = '', prefixText] = cidr.trim().split('/');
  const family = isIP(address);
  if (family === 0) return undefined;
  const max = family === 6 ? 128 : 32;
  const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  return prefix >= 0 && prefix <= max ? [address, prefix] : undefined;
}
