import cluster from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { ServeConfig } from '../config/serve-config.ts';
import type { RunningServer, WorkerRole } from '../server.ts';
import { startServer } from '../server.ts';
import { relayVisitsToPrimary } from './activity-relay.ts';
import type { ActivityMessage, ReachabilityMessage, ReadyMessage } from './messages.ts';
import { ADMIN_PORT_ENV, LISTEN_AFTER_LOAD_ENV, isMessage } from './messages.ts';
import { RegistryFollower } from './registry-follower.ts';
import type { RegistrySubscribeMessage } from './registry-messages.ts';
import { RelayedReachability } from './relayed-reachability.ts';

/**
 * One of WORKERS processes: its own route table, fed from the primary's etcd watch,
 * and the shared public port; the primary serves the admin port, aggregates metrics,
 * probes backends and merges everyone's visit times.
 * `stopStarting` gives up a start still waiting for the route table (rejects with an AbortError).
 */
export async function startWorker(config: ServeConfig, log: Logger, stopStarting: AbortSignal): Promise<RunningServer> {
  const adminPort = Number(process.env[ADMIN_PORT_ENV]);
  if (!Number.isInteger(adminPort) || !cluster.isWorker) throw new Error(`startWorker runs in a cluster worker forked with ${ADMIN_PORT_ENV}`);
  const reachability = new RelayedReachability();
  let onActivity: ((m: ActivityMessage) => void) | undefined;
  let follower: RegistryFollower | undefined;
  process.on('message', (m: unknown) => {
    if (follower?.receive(m)) return;
    if (isMessage<ReachabilityMessage>(m, 'branch-proxy:reachability')) reachability.apply(m);
    else if (isMessage<ActivityMessage>(m, 'branch-proxy:activity')) onActivity?.(m);
  });
  // The primary's /metrics asks every worker for its registry over the cluster channel;
  // prom-client starts answering once an AggregatorRegistry exists in the worker.
  const shareMetrics = (register: Registry): void => {
    AggregatorRegistry.setRegistries([register]);
    new AggregatorRegistry();
  };
  const relayActivity: WorkerRole['relayActivity'] = (registry, tracker) => {
    const relay = relayVisitsToPrimary(tracker, () => registry.table, (m, sent) => {
      // The callback also runs when the channel has closed: a stop never waits forever.
      if (process.send) process.send(m, undefined, {}, () => sent());
      else sent();
    });
    onActivity = relay.apply;
    return relay.stop;
  };
  const followRegistry: WorkerRole['followRegistry'] = (registry) => {
    follower = new RegistryFollower(registry);
    process.send?.({ type: 'branch-proxy:registry-subscribe' } satisfies RegistrySubscribeMessage);
    return () => {
      follower = undefined;
    };
  };
  const listenAfterLoad = process.env[LISTEN_AFTER_LOAD_ENV] === '1' ? stopStarting : undefined;
  const server = await startServer(config, log, { adminPort, followRegistry, reachability, shareMetrics, relayActivity, listenAfterLoad });
  const ready = (): void => void process.send?.({ type: 'branch-proxy:ready' } satisfies ReadyMessage);
  if (server.registry.ready) ready();
  else server.registry.once('resync', ready);
  return server;
}
