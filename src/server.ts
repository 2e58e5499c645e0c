import { once } from 'node:events';
import type { EventEmitter } from 'node:events';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server as TlsServer } from 'node:tls';
import type { Logger } from 'pino';
import proxyaddr from 'proxy-addr';
import { createAccessGate } from './access/access-gate.ts';
import { ActivityTracker } from './activity/activity-tracker.ts';
import { OpenStreams } from './activity/open-streams.ts';
import type { AdminSide } from './admin-side.ts';
import { describeConfig } from './config/describe-config.ts';
import type { ServeConfig } from './config/serve-config.ts';
import { ProxyMetrics } from './metrics/proxy-metrics.ts';
import { observeRequests } from './metrics/request-observer.ts';
import { createForwarder } from './proxy/forwarder.ts';
import { createHttpsRedirect } from './proxy/https-redirect.ts';
import { createProxyHandler } from './proxy/proxy-handler.ts';
import { createWakeGate } from './proxy/wake-gate.ts';
import { createSleepDriver } from './sleep/create-driver.ts';
import { SleepStore } from './sleep/sleep-store.ts';
import { Waker } from './sleep/waker.ts';
import { sweepIntervalMs } from './sleep/idle-policy.ts';
import type { Registry } from './registry/registry.ts';
import type { RegistryView } from './registry/registry-view.ts';
import { StopTracker } from './registry/stop-tracker.ts';
import { watchRegistry } from './registry/watch-registry.ts';
import { createHostMatcher } from './routing/host.ts';
import { inheritedServices } from './routing/inherited-services.ts';
import type { Deployment, Target } from './routing/route-table.ts';
import { listen } from './listen.ts';
import { createPublicServer } from './listeners/public-server.ts';
import { attachFastPath } from './fastpath/fast-path.ts';
import { reloadCertificateOnChange } from './tls/certificate-reloader.ts';
import { publicLinks } from './web/links.ts';
import type { Reachability, ViewSources } from './web/deployments-view.ts';
import { lazyPublicApp } from './web/lazy-public-app.ts';
import type { TargetProbeEvents } from './web/target-probe.ts';
import { accepts } from './web/target-probe.ts';

export interface RunningServer {
  readonly registry: RegistryView;
  readonly port: number;
  /** In a worker, the primary's admin port. */
  readonly adminPort: number;
  /** The plain-HTTP port that redirects to HTTPS, when TLS and HTTP_REDIRECT_PORT are set. */
  readonly redirectPort: number | undefined;
  /** Stops accepting, lets in-flight requests finish within the grace period, then closes everything. */
  close(): Promise<void>;
}

/** A waking service accepts connections locally or nearby; a longer wait is a service not up yet. */
const WAKE_CONNECT_TIMEOUT_MS = 1000;

/** Reachability of backends as some other process probed it (see src/cluster/). */
export type ReachabilitySource = { status(target: Target): Reachability } & EventEmitter<TargetProbeEvents>;

/** What a worker of a cluster leaves to its primary. */
export interface WorkerRole {
  /** The primary's admin listener: never a backend, like our own ports. */
  readonly adminPort: number;
  /** The primary holds the host's one etcd watch: the worker's registry follows it (see RegistryFollower). */
  readonly followRegistry: (registry: Registry) => () => void;
  /** The primary probes the backends once for all workers. */
  readonly reachability: ReachabilitySource;
  /** Hands this process's metrics to the primary, which sums them over the workers. */
  readonly shareMetrics: (register: ProxyMetrics['register']) => void;
  /**
   * Relays the visits this worker's requests touch in `activity` to the primary, which
   * merges everyone's and persists them, and merges the primary's back into it.
   * Returns a stop that relays the last visits.
   */
  readonly relayActivity: (registry: RegistryView, activity: ActivityTracker) => () => Promise<void>;
  /**
   * Set for a worker that replaces one that died while others still listen: it
   * listens only once its table has loaded, so that meanwhile the others take every
   * connection instead of it answering 503. Aborting it while it waits gives up
   * starting: everything is closed and startServer rejects with an AbortError.
   */
  readonly listenAfterLoad?: AbortSignal;
}

/** Either this process is the replica's admin side (WORKERS=1), or a worker whose primary is. */
type Role = { readonly admin: AdminSide; readonly worker?: undefined } | { readonly admin?: undefined; readonly worker: WorkerRole };

/**
 * Wires etcd -> registry -> route table -> proxy, and starts the public listener and,
 * unless this process is a cluster worker, the admin side (admin listener, probe,
 * activity writer).
 */
export async function startServer(config: ServeConfig, log: Logger, worker?: WorkerRole): Promise<RunningServer> {
  const ownPorts = new Set<number>();
  const { etcd, registry, policy, stop: stopRegistry } = await watchRegistry(config, log, ownPorts, worker ? { follow: worker.followRegistry } : {});

  const trustProxy = config.access.trustedProxies.length > 0 ? proxyaddr.compile([...config.access.trustedProxies]) : undefined;
  const forwarder = createForwarder({ upstreamTimeoutMs: config.upstreamTimeoutMs, policy, trustProxy });
  const metrics = new ProxyMetrics({ registry, openWebSockets: () => forwarder.openWebSockets });
  worker?.shareMetrics(metrics.register);
  // Imported here: the admin side (fastify, the probe, the etcd writers) is no cluster worker's.
  const role: Role = worker ? { worker } : { admin: (await import('./admin-side.ts')).createAdminSide(config, { registry, etcd: await etcd(), policy, log, metrics: () => metrics.text() }) };
  const activity = role.admin?.activity ?? new ActivityTracker();
  const stopRelay = role.worker?.relayActivity(registry, activity);
  const reachability = role.admin ? role.admin.probe : role.worker.reachability;
  // Ends the dashboards' event streams, which never finish by themselves.
  const stopWeb = new AbortController();
  const stops = role.admin?.sources.stops ?? new StopTracker(registry, { signal: stopWeb.signal });
  const sources: ViewSources = {
    defaultService: config.defaultService,
    activity,
    reachability,
    stops,
    inherited: (d: Deployment) => inheritedServices(registry.table.deployments, d, config.fallbackDeployment),
  };
  const dashboard = lazyPublicApp({ registry, sources, probe: reachability, log, signal: stopWeb.signal });

  // Every process wakes (the etcd claim picks the one that runs the hook). A wake step already
  // running is left to finish when the proxy stops: the next proxy carries on waiting for its routes.
  const waker = new Waker({
    registry,
    store: new SleepStore(etcd, config.etcd.prefix),
    driver: () => createSleepDriver(config.sleep, config.domains[0]!),
    accepts: async (target) => (await accepts(target, WAKE_CONNECT_TIMEOUT_MS, policy)).reachable === true,
    wakeTimeoutMs: config.sleep.wakeTimeoutMs,
    log,
    observer: metrics,
  });
  const wakeGate = createWakeGate({ waker, sleep: config.sleep, log, observer: metrics });
  const matchHost = createHostMatcher(config.domains);
  // With SLEEP_AFTER, responses and WebSockets count as activity while open, touched often enough that no sweep sees them idle.
  const sleepAfterMs = config.sleep.sleepAfterMs;
  const openStreams = sleepAfterMs !== undefined ? new OpenStreams((d, s) => activity.touch(d, s), Math.min(sweepIntervalMs(sleepAfterMs), sleepAfterMs / 2)) : undefined;
  const gate = createAccessGate(config.access);
  // With SLEEP_AFTER, crawlers' and uptime checks' requests must not keep a deployment awake (docs/sleep.md).
  const observer = observeRequests(metrics, activity, openStreams, sleepAfterMs !== undefined ? config.sleep.ignoreUserAgents : undefined);
  const handler = createProxyHandler({
    matchHost,
    domains: config.domains,
    registry,
    forwarder,
    defaultService: config.defaultService,
    log,
    stops,
    fallbackDeployment: config.fallbackDeployment,
    dashboard: dashboard.routing,
    observer,
    gate,
    wakeGate,
    robotsAllow: config.sleep.robotsAllow,
  });
  const publicServer = createPublicServer(config.tls, handler.onRequest, handler.onUpgrade, log);
  // With the access gate on, every request needs its checks: all go through node:http (docs/fast-path.md).
  if (config.fastPath && !config.tls && !gate) {
    attachFastPath(publicServer as Server, {
      matchHost,
      registry,
      defaultService: config.defaultService,
      fallbackDeployment: config.fallbackDeployment,
      robotsAllow: config.sleep.robotsAllow,
      log,
      observer,
      trustProxy,
      upstreamTimeoutMs: config.upstreamTimeoutMs,
      policy,
      metrics: metrics.register,
    });
  }

  let stopCertificateWatch: (() => void) | undefined;
  let redirectServer: Server | undefined;
  // Also undoes a start given up before listening (close() on a server that never listened just calls back with an error).
  const close = async (): Promise<void> => {
    stopCertificateWatch?.();
    redirectServer?.close();
    redirectServer?.closeAllConnections();
    stopWeb.abort();
    wakeGate.close();
    waker.stop();
    openStreams?.stop();
    const closed = new Promise<void>((resolve) => publicServer.close(() => resolve()));
    publicServer.closeIdleConnections();
    const grace = setTimeout(() => publicServer.closeAllConnections(), config.shutdownGraceMs);
    await closed;
    clearTimeout(grace);
    await forwarder.close();
    await dashboard.close();
    // After the last request: its visit is relayed (a worker) or written (the admin side).
    await stopRelay?.();
    await role.admin?.close();
    metrics.close();
    await stopRegistry();
  };
  const stopStarting = worker?.listenAfterLoad;
  if (stopStarting && !registry.ready) {
    log.info({ event: 'worker-waiting-for-table' }, 'worker waiting for its route table before taking connections');
    try {
      await once(registry, 'resync', { signal: stopStarting });
    } catch (err) {
      await close();
      throw err;
    }
  }
  await listen(publicServer, config.port, config.host);

  const publicPort = (publicServer.address() as AddressInfo).port;
  if (config.tls) {
    stopCertificateWatch = reloadCertificateOnChange(publicServer as TlsServer, config.tls, log);
    if (config.tls.redirectPort !== undefined) {
      redirectServer = createServer(createHttpsRedirect(matchHost, config.domains, publicPort));
      await listen(redirectServer, config.tls.redirectPort, config.host);
    }
  }
  const adminPort = role.admin ? await role.admin.listen(() => publicLinks(config, publicPort)) : role.worker.adminPort;
  ownPorts.add(publicPort).add(adminPort);

  if (!worker) log.info({ event: 'started', config: describeConfig(config, publicPort, adminPort) }, 'branch-proxy started');

  return {
    registry,
    port: publicPort,
    adminPort,
    redirectPort: redirectServer ? (redirectServer.address() as AddressInfo).port : undefined,
    close,
  };
}
