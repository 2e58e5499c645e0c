import { networkInterfaces } from 'node:os';
import type { NetworkInterfaceInfo } from 'node:os';

/**
 * The first non-internal IPv4 address of this machine (interfaces in the order
 * the OS lists them), or undefined when there is none.
 */
export function firstExternalIpv4(interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces()): string | undefined {
  for (const addresses of Object.values(interfaces)) {
    const found = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (found) return found.address;
  }
  return undefined;
}
