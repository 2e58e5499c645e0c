import { networkInterfaces } from 'node:os';
import type { Logger } from 'pino';
import type { ServeConfig } from '../config/serve-config.ts';
import { createBackendPolicy } from '../routing/backend-policy.ts';
import { createEtcdClient } from './etcd-client.ts';
import { EtcdSource } from './etcd-source.ts';
import { Registry } from './registry.ts';

/**
 * The etcd client and a registry kept in sync with etcd; `ownPorts` is filled in once the listeners are up.
 * `echo`: a cluster worker, whose primary logs the registry's content events (see Registry).
 */
export function watchRegistry(config: ServeConfig, log: Logger, ownPorts: ReadonlySet<number>, o: { echo?: boolean } = {}) {
  const etcd = createEtcdClient(config.etcd);
  const policy = createBackendPolicy({ allow: config.backendAllow, ownPorts, localAddresses: localAddresses() });
  const registry = new Registry(config.etcd.prefix, log, policy, o);
  const stopSource = new AbortController();
  const sourceDone = new EtcdSource(etcd, registry, log).run(stopSource.signal);
  return {
    etcd,
    registry,
    policy,
    async stop(): Promise<void> {
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
