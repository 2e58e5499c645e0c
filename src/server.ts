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
import { ActivityWriter } from './activity/activity-writer.ts';
import { describeConfig } from './config/describe-config.ts';
import type { ServeConfig } from './config/serve-config.ts';
import { ProxyMetrics } from './metrics/proxy-metrics.ts';
import { observeRequests } from './metrics/request-observer.ts';
import { createForwarder } from './proxy/forwarder.ts';
import { createHttpsRedirect } from './proxy/https-redirect.ts';
import { createProxyHandler } from './proxy/proxy-handler.ts';
import type { Registry } from './registry/registry.ts';
import { watchRegistry } from './registry/watch-registry.ts';
import { createHostMatcher } from './routing/host.ts';
import type { Target } from './routing/route-table.ts';
import { listen } from './listen.ts';
import { createPublicServer } from './listeners/public-server.ts';
import type { PublicServer } from './listeners/public-server.ts';
import { reloadCertificateOnChange } from './tls/certificate-reloader.ts';
import { publicLinks, startAdmin } from './web/admin-listener.ts';
import type { Reachability } from './web/deployments-view.ts';
import { createPublicApp } from './web/public-app.ts';
import { TargetProbe } from './web/target-probe.ts';
import type { TargetProbeEvents } from './web/target-probe.ts';

export interface RunningServer {
  readonly registry: Registry;
  readonly port: number;
  /** In a worker, the primary's admin port. */
  readonly adminPort: number;
  /** The plain-HTTP port that redirects to HTTPS, when TLS and HTTP_REDIRECT_PORT are set. */
  readonly redirectPort: number | undefined;
  /** Stops accepting, lets in-flight requests finish within the grace period, then closes everything. */
  close(): Promise<void>;
}

/** Reachability of backends as some other process probed it (see src/cluster/). */
export type ReachabilitySource = { status(target: Target): Reachability } & EventEmitter<TargetProbeEvents>;

/** What a worker of a cluster leaves to its primary. */
export interface WorkerRole {
  /** The primary's admin listener: never a backend, like our own ports. */
  readonly adminPort: number;
  /** The primary probes the backends once for all workers. */
  readonly reachability: ReachabilitySource;
  /** Hands this process's metrics to the primary, which sums them over the workers. */
  readonly shareMetrics: (register: ProxyMetrics['register']) => void;
  /**
   * Set for a worker that replaces one that died while others still listen: it
   * listens only once its table has loaded, so that meanwhile the others take every
   * connection instead of it answering 503. Aborting it while it waits gives up
   * starting: everything is closed and startServer rejects with an AbortError.
   */
  readonly listenAfterLoad?: AbortSignal;
}

/**
 * Wires etcd -> registry -> route table -> proxy, and starts the public listener and,
 * unless this process is a cluster worker, the admin listener.
 */
export async function startServer(config: ServeConfig, log: Logger, worker?: WorkerRole): Promise<RunningServer> {
  const ownPorts = new Set<number>();
  const { etcd, registry, policy, stop: stopRegistry } = watchRegistry(config, log, ownPorts);

  const trustProxy = config.access.trustedProxies.length > 0 ? proxyaddr.compile([...config.access.trustedProxies]) : undefined;
  const forwarder = createForwarder({ upstreamTimeoutMs: config.upstreamTimeoutMs, policy, trustProxy });
  // Dashboard, activity and metrics: they read the registry and stop before it does.
  const stopWeb = new AbortController();
  const metrics = new ProxyMetrics({ registry, openWebSockets: () => forwarder.openWebSockets });
  worker?.shareMetrics(metrics.register);
  const activity = new ActivityTracker();
  const activityDone = new ActivityWriter(etcd, registry, activity, log, { intervalMs: config.activityWriteMs }).run(stopWeb.signal);
  const ownProbe = worker ? undefined : new TargetProbe(registry, { intervalMs: config.probeIntervalMs });
  const probeDone = ownProbe?.run(stopWeb.signal);
  const probe = worker?.reachability ?? ownProbe!;
  const sources = { defaultService: config.defaultService, activity, reachability: probe };
  const matchHost = createHostMatcher(config.domains);
  let server: PublicServer | undefined;
  const publicApp = createPublicApp({
    registry,
    sources,
    probe,
    log,
    signal: stopWeb.signal,
    serverFactory: (dashboard) => {
      const handler = createProxyHandler({
        matchHost,
        domains: config.domains,
        registry,
        forwarder,
        defaultService: config.defaultService,
        log,
        dashboard,
        observer: observeRequests(metrics, activity),
        gate: createAccessGate(config.access),
      });
      // fastify does not apply its timeouts to a server from serverFactory: createPublicServer sets them.
      server = createPublicServer(config.tls, handler.onRequest, handler.onUpgrade, log);
      return server as Server;
    },
  });
  await publicApp.ready();
  const publicServer = server!;
  let stopCertificateWatch: (() => void) | undefined;
  let redirectServer: Server | undefined;
  let adminApp: Awaited<ReturnType<typeof startAdmin>> | undefined;
  // Also undoes a start given up before listening (close() on a server that never listened just calls back with an error).
  const close = async (): Promise<void> => {
    stopCertificateWatch?.();
    redirectServer?.close();
    redirectServer?.closeAllConnections();
    // Ends the dashboards' event streams (which never finish by themselves) and writes the last activity.
    stopWeb.abort();
    const closed = new Promise<void>((resolve) => publicServer.close(() => resolve()));
    publicServer.closeIdleConnections();
    const grace = setTimeout(() => publicServer.closeAllConnections(), config.shutdownGraceMs);
    await closed;
    clearTimeout(grace);
    await forwarder.close();
    await publicApp.close();
    await adminApp?.close();
    await Promise.all([activityDone, probeDone]);
    metrics.close();
    await stopRegistry();
  };
  const stopStarting = worker?.listenAfterLoad;
  if (stopStarting && !registry.ready) {
    log.info('worker waiting for its route table before taking connections');
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
  adminApp = worker
    ? undefined
    : await startAdmin(config, { registry, sources, metrics: () => metrics.text(), publicLinks: () => publicLinks(config, publicPort), log });
  const adminPort = worker?.adminPort ?? adminApp!.port;
  ownPorts.add(publicPort).add(adminPort);

  if (!worker) log.info({ config: describeConfig(config, publicPort, adminPort) }, 'branch-proxy started');

  return {
    registry,
    port: publicPort,
    adminPort,
    redirectPort: redirectServer ? (redirectServer.address() as AddressInfo).port : undefined,
    close,
  };
}
