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
  for (const cidr of o.allow) {
    const [address, prefix] = parseCidr(cidr)!;
    allow!.addSubnet(address, prefix, isIP(address) === 6 ? 'ipv6' : 'ipv4');
  }

  return (address, port) => {
    const family = isIP(address);
    if (family === 0) return undefined; // host names are checked once resolved, when connecting
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (metadata.check(address, type)) return 'link-local and cloud metadata addresses are never proxied to';
    if (allow && !allow.check(address, type)) return 'the address is outside BACKEND_ALLOW';
    if (o.ownPorts.has(port) && self.check(address, type)) return "that is one of the proxy's own listeners";
    return undefined;
  };
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
