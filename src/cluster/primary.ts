import type { Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { AggregatorRegistry } from 'prom-client';
import { createAdminSide } from '../admin-side.ts';
import type { ServeConfig } from '../config/serve-config.ts';
import { describeConfig } from '../config/describe-config.ts';
import { watchRegistry } from '../registry/watch-registry.ts';
import type { RunningServer } from '../server.ts';
import { publicLinks } from '../web/links.ts';
import { ActivityHub } from './activity-relay.ts';
import type { ActivityMessage, ReachabilityMessage } from './messages.ts';
import { isMessage } from './messages.ts';
import { RegistryRelay } from './registry-relay.ts';
import type { RegistrySubscribeMessage } from './registry-messages.ts';
import { WorkerPool } from './worker-pool.ts';

/**
 * The primary of WORKERS processes. It does not proxy: it holds the host's one etcd
 * watch and passes it on to the workers it forks (which share the public port, each
 * with its own route table, see RegistryRelay), and serves the admin port
 * for all of them — readiness once every worker has its table, metrics summed over
 * the workers, the API from its own copy of the registry — probes the backends once
 * for every worker's dashboard, and merges the workers' visit times (the only
 * process that writes them to etcd).
 */
export async function startPrimary(config: ServeConfig, log: Logger): Promise<RunningServer> {
  const ownPorts = new Set<number>();
  let relay!: RegistryRelay;
  const { etcd, registry, policy, stop: stopRegistry } = await watchRegistry(config, log, ownPorts, { feed: (r, client) => (relay = new RegistryRelay(r, client, log)) });
  const aggregator = new AggregatorRegistry();
  let publicPort = config.port;
  const workers: WorkerPool = new WorkerPool({
    size: config.workers,
    log,
    onListening: (worker, port) => {
      publicPort = port;
      ownPorts.add(port);
      send(reachabilityOf(true, []), [worker]);
      activity.welcome(worker);
    },
    onMessage: (worker, m) => {
      if (isMessage<ActivityMessage>(m, 'branch-proxy:activity')) activity.receive(m);
      else if (isMessage<RegistrySubscribeMessage>(m, 'branch-proxy:registry-subscribe')) relay.subscribe(worker);
    },
  });
  const side = createAdminSide(config, {
    registry,
    etcd: await etcd(),
    policy,
    log,
    metrics: async () => ({ contentType: aggregator.contentType, body: await aggregator.clusterMetrics() }),
    workers: () => workers.readiness(),
  });
  const { probe } = side;
  const activity = new ActivityHub(side.activity, side.writer, () => registry.table, () => workers.workers());
  let adminPort: number;
  try {
    adminPort = await side.listen(() => publicLinks(config, publicPort));
  } catch (err) {
    await side.close();
    relay.stop();
    await stopRegistry();
    throw err;
  }
  ownPorts.add(adminPort);

  const reachabilityOf = (full: boolean, changed: readonly string[]): ReachabilityMessage => {
    const entries: ReachabilityMessage['entries'][number][] = [];
    for (const address of full ? probe.probed() : changed) {
      const s = probe.statusOf(address);
      if (s.checkedAt !== undefined) entries.push([address, s.reachable, s.checkedAt, s.reason ?? null]);
    }
    return { type: 'branch-proxy:reachability', full, entries, changed };
  };
  const send = (m: ReachabilityMessage, to: Worker[]): void => {
    for (const w of to) if (w.isConnected()) w.send(m);
  };
  // Flips at once; a full refresh each interval brings the probe times and forgets targets that left.
  const onProbeChange = (addresses: string[]): void => send(reachabilityOf(false, addresses), workers.workers());
  probe.on('change', onProbeChange);
  const refresh = setInterval(() => send(reachabilityOf(true, []), workers.workers()), config.probeIntervalMs).unref();

  const close = async (): Promise<void> => {
    clearInterval(refresh);
    probe.off('change', onProbeChange);
    // The workers relay their last visits as they stop; the admin side writes them after.
    await workers.stop();
    activity.stop();
    await side.close();
    relay.stop();
    await stopRegistry();
  };
  try {
    await workers.start(adminPort);
  } catch (err) {
    await close();
    throw err;
  }
  log.info({ event: 'started', config: describeConfig(config, publicPort, adminPort) }, 'branch-proxy started');
  return { registry, port: publicPort, adminPort, redirectPort: undefined, close };
}
