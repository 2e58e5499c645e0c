import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Logger } from 'pino';
import proxyaddr from 'proxy-addr';
import { createAccessGate } from './access/access-gate.ts';
import { ActivityTracker } from './activity/activity-tracker.ts';
import { ActivityWriter } from './activity/activity-writer.ts';
import type { AccessConfig, EtcdConfig, ServeConfig } from './config/serve-config.ts';
import { ProxyMetrics } from './metrics/proxy-metrics.ts';
import { observeRequests } from './metrics/request-observer.ts';
import { createClientErrorHandler } from './proxy/client-error.ts';
import { createForwarder } from './proxy/forwarder.ts';
import { createHttpsRedirect } from './proxy/https-redirect.ts';
import { createProxyHandler } from './proxy/proxy-handler.ts';
import { createEtcdClient } from './registry/etcd-client.ts';
import { EtcdSource } from './registry/etcd-source.ts';
import { Registry } from './registry/registry.ts';
import { createBackendPolicy } from './routing/backend-policy.ts';
import { createHostMatcher } from './routing/host.ts';
import { readCertificate, reloadCertificateOnChange } from './tls/certificate-reloader.ts';
import { createAdminApp } from './web/admin-app.ts';
import { createPublicApp } from './web/public-app.ts';
import { TargetProbe } from './web/target-probe.ts';

export interface RunningServer {
  readonly registry: Registry;
  readonly port: number;
  readonly adminPort: number;
  /** The plain-HTTP port that redirects to HTTPS, when TLS and HTTP_REDIRECT_PORT are set. */
  readonly redirectPort: number | undefined;
  /** Stops accepting, lets in-flight requests finish within the grace period, then closes everything. */
  close(): Promise<void>;
}

/** Wires etcd -> registry -> route table -> proxy, and starts both listeners. */
export async function startServer(config: ServeConfig, log: Logger): Promise<RunningServer> {
  const etcd = createEtcdClient(config.etcd);
  const ownPorts = new Set<number>();
  const policy = createBackendPolicy({ allow: config.backendAllow, ownPorts, localAddresses: localAddresses() });
  const registry = new Registry(config.etcd.prefix, log, policy);
  const source = new EtcdSource(etcd, registry, log);
  const stopSource = new AbortController();
  const sourceDone = source.run(stopSource.signal);

  const trustProxy = config.access.trustedProxies.length > 0 ? proxyaddr.compile([...config.access.trustedProxies]) : undefined;
  const forwarder = createForwarder({ upstreamTimeoutMs: config.upstreamTimeoutMs, policy, trustProxy });
  // Dashboard, activity and metrics: they read the registry and stop before it does.
  const stopWeb = new AbortController();
  const metrics = new ProxyMetrics({ registry, openWebSockets: () => forwarder.openWebSockets });
  const activity = new ActivityTracker();
  const activityDone = new ActivityWriter(etcd, registry, activity, log, { intervalMs: config.activityWriteMs }).run(stopWeb.signal);
  const probe = new TargetProbe(registry, { intervalMs: config.probeIntervalMs });
  const probeDone = probe.run(stopWeb.signal);
  const sources = { defaultService: config.defaultService, activity, reachability: probe };
  const matchHost = createHostMatcher(config.domains);
  let server: Server | HttpsServer | undefined;
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
      server = config.tls ? createHttpsServer(readCertificate(config.tls), handler.onRequest) : createServer(handler.onRequest);
      server.on('upgrade', handler.onUpgrade);
      server.on('clientError', createClientErrorHandler(log));
      // fastify does not apply its timeouts to a server from serverFactory.
      server.keepAliveTimeout = 65_000;
      server.headersTimeout = 30_000;
      server.requestTimeout = 0;
      return server;
    },
  });
  await publicApp.ready();
  const publicServer = server!;
  await listen(publicServer, config.port, config.host);

  const publicPort = (publicServer.address() as AddressInfo).port;
  let stopCertificateWatch: (() => void) | undefined;
  let redirectServer: Server | undefined;
  if (config.tls) {
    stopCertificateWatch = reloadCertificateOnChange(publicServer as HttpsServer, config.tls, log);
    if (config.tls.redirectPort !== undefined) {
      redirectServer = createServer(createHttpsRedirect(matchHost, config.domains, publicPort));
      await listen(redirectServer, config.tls.redirectPort, config.host);
    }
  }
  const adminApp = createAdminApp({
    registry,
    sources,
    metrics: () => metrics.text(),
    primaryDomain: config.domains[0]!,
    publicLinks: config.tls ? { scheme: 'https', port: publicPort === 443 ? '' : `:${publicPort}` } : { scheme: 'http', port: publicPort === 80 ? '' : `:${publicPort}` },
    log,
  });
  await adminApp.listen({ port: config.adminPort, host: config.adminHost ?? '::' });
  const adminPort = (adminApp.server.address() as AddressInfo).port;
  ownPorts.add(publicPort).add(adminPort);

  log.info({ config: { ...config, port: publicPort, adminPort, etcd: describeEtcd(config.etcd), access: describeAccess(config.access) } }, 'branch-proxy started');

  return {
    registry,
    port: publicPort,
    adminPort,
    redirectPort: redirectServer ? (redirectServer.address() as AddressInfo).port : undefined,
    async close() {
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
      await adminApp.close();
      await Promise.all([activityDone, probeDone]);
      metrics.close();
      stopSource.abort();
      await sourceDone;
      etcd.close();
    },
  };
}

/** Listens on `host`, or on every IPv6 and IPv4 address when none is given. */
function listen(server: Server, port: number, host: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** This machine's interface addresses, so a backend cannot name the proxy by its LAN address either. */
function localAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address.replace(/%.*$/, '')));
}

/** The access settings for the start log line. SECURITY: secrets and password hashes never reach a log. */
function describeAccess(a: AccessConfig): Record<string, unknown> {
  return {
    basicAuthUsers: a.credentials?.size ?? 0,
    allowCidrs: a.allowCidrs,
    trustedProxies: a.trustedProxies,
    token: a.token ? 'set' : 'unset',
    shareLinks: a.shareSecret ? 'enabled' : 'disabled',
  };
}

function describeEtcd(e: EtcdConfig): Record<string, unknown> {
  return { endpoints: e.endpoints, prefix: e.prefix, tls: e.tls ? (e.tls.cert ? 'client certificate' : 'server verified') : 'off', user: e.auth?.username ?? null };
}
