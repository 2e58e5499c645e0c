import { networkInterfaces } from 'node:os';
import type { Etcd3 } from 'etcd3';
import type { Logger } from 'pino';
import type { ServeConfig } from '../config/serve-config.ts';
import { createBackendPolicy } from '../routing/backend-policy.ts';
import type { RouteTable } from '../routing/route-table.ts';
import { createEtcdClient } from './etcd-client.ts';
import { EtcdSource } from './etcd-source.ts';
import type { RegistryFeed } from './registry-feed.ts';
import { Registry } from './registry.ts';

/**
 * Where a registry's content comes from: etcd, through `feed` (default: the registry
 * itself; a cluster's primary passes a relay to its workers), or, in a cluster worker,
 * `follow`, which receives it from the primary and returns how to stop.
 */
export type RegistrySource =
  | { readonly feed?: (registry: Registry, etcd: Etcd3) => RegistryFeed<RouteTable>; readonly follow?: undefined }
  | { readonly follow: (registry: Registry) => () => void; readonly feed?: undefined };

/**
 * The etcd client and a registry kept in sync with etcd; `ownPorts` is filled in once the listeners are up.
 * A cluster worker follows its primary's watch, and logs the registry's content events at debug: the
 * primary logs them (see Registry).
 */
export function watchRegistry(config: ServeConfig, log: Logger, ownPorts: ReadonlySet<number>, source: RegistrySource = {}) {
  const etcd = createEtcdClient(config.etcd);
  const policy = createBackendPolicy({ allow: config.backendAllow, ownPorts, localAddresses: localAddresses() });
  const registry = new Registry(config.etcd.prefix, log, policy, { echo: source.follow !== undefined });
  const stopSource = new AbortController();
  const unfollow = source.follow?.(registry);
  const sourceDone = unfollow ? Promise.resolve() : new EtcdSource(etcd, source.feed?.(registry, etcd) ?? registry, log).run(stopSource.signal);
  return {
    etcd,
    registry,
    policy,
    async stop(): Promise<void> {
      unfollow?.();
      stopSource.abort();
      await sourceDone;
      etcd.close();
    },
  };
}

/** This machine's interface addresses, so a backend cannot name the proxy by its LAN address either. */
function localAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address.replace(/%.*$/, '')));
}
