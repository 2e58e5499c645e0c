import { lookup } from 'node:dns/promises';
import type { BackendPolicy } from '../routing/backend-policy.ts';
import { BackendBlockedError } from './upstream-error.ts';

/**
 * Resolves a backend host (an IP literal resolves to itself) and checks the
 * address against the policy. Done when connecting, so a host name cannot
 * point at a denied address later (DNS rebinding).
 */
export async function resolveAllowed(host: string, port: number, policy: BackendPolicy): Promise<string> {
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  const { address } = await lookup(bare);
  const reason = policy(address, port);
  if (reason !== undefined) throw new BackendBlockedError(address, reason);
  return address;
}
