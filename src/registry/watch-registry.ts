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
 * A registry kept in sync with etcd, and `etcd()`, the client (connected on first use: a
 * cluster worker, which follows its primary's watch, may never need one); `ownPorts` is
 * filled in once the listeners are up. A worker logs the registry's content events at
 * debug: the primary logs them (see Registry).
 */
export async function watchRegistry(config: ServeConfig, log: Logger, ownPorts: ReadonlySet<number>, source: RegistrySource = {}) {
  let client: Promise<Etcd3> | undefined;
  const etcd = (): Promise<Etcd3> => (client ??= createEtcdClient(config.etcd));
  const policy = createBackendPolicy({ allow: config.backendAllow, ownPorts, localAddresses: localAddresses() });
  const registry = new Registry(config.etcd.prefix, log, policy, { echo: source.follow !== undefined });
  const stopSource = new AbortController();
  let unfollow: (() => void) | undefined;
  let sourceDone = Promise.resolve();
  if (source.follow) {
    unfollow = source.follow(registry);
  } else {
    const connected = await etcd();
    sourceDone = new EtcdSource(connected, source.feed?.(registry, connected) ?? registry, log).run(stopSource.signal);
  }
  return {
    etcd,
    registry,
    policy,
    async stop(): Promise<void> {
      unfollow?.();
      stopSource.abort();
      await sourceDone;
      if (client) (await client).close();
    },
  };
}

/** This machine's interface addresses, so a backend cannot name the proxy by its LAN address either. */
function localAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address.replace(/%.*$/, '')));
}
