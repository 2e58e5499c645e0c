import type { Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { AggregatorRegistry } from 'prom-client';
import type { ServeConfig } from '../config/serve-config.ts';
import { describeConfig } from '../config/describe-config.ts';
import { watchRegistry } from '../registry/watch-registry.ts';
import type { RunningServer } from '../server.ts';
import { publicLinks, startAdmin } from '../web/admin-listener.ts';
import { TargetProbe } from '../web/target-probe.ts';
import type { ReachabilityMessage } from './messages.ts';
import { WorkerPool } from './worker-pool.ts';

/**
 * The primary of WORKERS processes. It does not proxy: it forks the workers (which
 * share the public port, each with its own route table), and serves the admin port
 * for all of them — readiness once every worker has its table, metrics summed over
 * the workers, the API from its own copy of the registry — and probes the backends
 * once for every worker's dashboard.
 */
export async function startPrimary(config: ServeConfig, log: Logger): Promise<RunningServer> {
  const ownPorts = new Set<number>();
  const { registry, stop: stopRegistry } = watchRegistry(config, log, ownPorts);
  const stopProbe = new AbortController();
  const probe = new TargetProbe(registry, { intervalMs: config.probeIntervalMs });
  const probeDone = probe.run(stopProbe.signal);
  const aggregator = new AggregatorRegistry();
  let publicPort = config.port;
  const workers = new WorkerPool({
    size: config.workers,
    log,
    onListening: (worker, port) => {
      publicPort = port;
      ownPorts.add(port);
      send(reachabilityOf(true, []), [worker]);
    },
  });
  const admin = await startAdmin(config, {
    registry,
    sources: { defaultService: config.defaultService, reachability: probe },
    metrics: async () => ({ contentType: aggregator.contentType, body: await aggregator.clusterMetrics() }),
    publicLinks: () => publicLinks(config, publicPort),
    workers: () => workers.readiness(),
    log,
  });
  ownPorts.add(admin.port);

  const reachabilityOf = (full: boolean, changed: readonly string[]): ReachabilityMessage => {
    const entries: [string, boolean | null, number | undefined][] = [];
    const names = full ? undefined : new Set(changed);
    for (const r of registry.table.routes()) {
      if (names && !names.has(r.deployment)) continue;
      const s = probe.status(r.target);
      if (s.checkedAt !== undefined) entries.push([r.target.address, s.reachable, s.checkedAt]);
    }
    return { type: 'branch-proxy:reachability', full, entries, changed };
  };
  const send = (m: ReachabilityMessage, to: Worker[]): void => {
    for (const w of to) if (w.isConnected()) w.send(m);
  };
  // Flips at once; a full refresh each interval brings the probe times and forgets targets that left.
  const onProbeChange = (names: string[]): void => send(reachabilityOf(false, names), workers.workers());
  probe.on('change', onProbeChange);
  const refresh = setInterval(() => send(reachabilityOf(true, []), workers.workers()), config.probeIntervalMs).unref();

  const close = async (): Promise<void> => {
    clearInterval(refresh);
    probe.off('change', onProbeChange);
    await workers.stop();
    await admin.close();
    stopProbe.abort();
    await probeDone;
    await stopRegistry();
  };
  try {
    await workers.start(admin.port);
  } catch (err) {
    await close();
    throw err;
  }
  log.info({ event: 'started', config: describeConfig(config, publicPort, admin.port) }, 'branch-proxy started');
  return { registry, port: publicPort, adminPort: admin.port, redirectPort: undefined, close };
}
