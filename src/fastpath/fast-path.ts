import type { Server as HttpServer } from 'node:http';
import { maxHeaderSize } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Registry as MetricsRegistry } from 'prom-client';
import type { RequestObserver } from '../proxy/proxy-handler.ts';
import type { TrustProxy } from '../proxy/http-forwarder.ts';
import { robotsPolicy } from '../proxy/robots.ts';
import { classifyUpstreamError } from '../proxy/upstream-error.ts';
import type { RegistryView } from '../registry/registry-view.ts';
import type { BackendPolicy } from '../routing/backend-policy.ts';
import type { HostMatch } from '../routing/host.ts';
import { upstreamFailureInfo } from '../web/error-info.ts';
import { errorResponse, wantsJson } from '../web/error-page.ts';
import { ClientConnection } from './client-connection.ts';
import type { FastContext, FastOutcome, FastRoute } from './fast-context.ts';
import { countFastPath } from './fast-path-metrics.ts';
import type { RequestHead } from './request-head.ts';
import { ownResponseHead } from './response-rewrite.ts';
import { UpstreamPool } from './upstream-pool.ts';

export interface FastPathOptions {
  readonly matchHost: (host: string | undefined) => HostMatch;
  readonly registry: RegistryView;
  readonly defaultService: string;
  readonly fallbackDeployment?: string;
  readonly robotsAllow?: readonly string[] | '*';
  readonly log: Logger;
  readonly observer?: RequestObserver;
  readonly trustProxy?: TrustProxy;
  readonly upstreamTimeoutMs: number;
  readonly policy: BackendPolicy;
  /** Where `branch_proxy_fast_path_total` is registered. */
  readonly metrics?: MetricsRegistry;
}

/**
 * Puts the fast path (issue #16, docs/fast-path.md) in front of a plain-HTTP
 * `node:http` server: its connections come here first. A plain, well-formed
 * request for a routed deployment is forwarded on raw sockets; at the first
 * request that is anything else, the connection is handed to the server, which
 * answers it and every later one exactly as without the fast path. The server
 * still listens (also on a cluster's shared handle) and closes as before: its
 * `closeIdleConnections`/`closeAllConnections` also reach the fast connections.
 */
export function attachFastPath(server: HttpServer, o: FastPathOptions): void {
  const nodeListeners = server.listeners('connection') as ((socket: Socket) => void)[];
  const connections = new Set<ClientConnection>();
  const counts = { fast: 0, handedOver: 0 };
  if (o.metrics) countFastPath(o.metrics, counts);
  const accessLogOn = o.log.isLevelEnabled('info');
  const observer = o.observer;
  const quiet = observer?.quiet?.bind(observer);
  const robots = robotsPolicy(o.robotsAllow ?? []);
  const pool = new UpstreamPool(o.policy, o.upstreamTimeoutMs);

  const ctx: FastContext = {
    pool,
    trustProxy: o.trustProxy,
    upstreamTimeoutMs: o.upstreamTimeoutMs,
    maxHeadBytes: maxHeaderSize,
    keepAliveMs: server.keepAliveTimeout,
    headersTimeoutMs: server.headersTimeout,
    requestTimeout(socket: Socket): void {
      server.emit('clientError', Object.assign(new Error('the client sent no request within headersTimeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), socket);
    },
    keepAliveLine: `keep-alive: timeout=${Math.floor(server.keepAliveTimeout / 1000)}`,
    closing: false,

    route(head: RequestHead): FastRoute | undefined {
      // HTTP/1.0 clients are rare and need bodies re-framed: Node's server does that.
      if (head.versionMinor !== 1) return undefined;
      const match = o.matchHost(head.host);
      if (match.kind !== 'label') return undefined;
      const resolution = o.registry.resolve(match.label, o.defaultService, o.fallbackDeployment);
      if (resolution.kind !== 'route') return undefined;
      const noindex = robots?.noindex(resolution.deployment.name) === true;
      // The proxy answers robots.txt itself for these (src/proxy/robots.ts).
      if (noindex && head.target === '/robots.txt') return undefined;
      // Rare (crawlers, uptime checks): Node's path answers them without counting them as activity.
      if (quiet?.(headerValue(head, 'user-agent')) === true) return undefined;
      return { resolution, host: `${match.label}.${match.domain}`, noindex };
    },

    handover(socket: Socket): void {
      counts.handedOver++;
      for (const listener of nodeListeners) listener.call(server, socket);
    },

    ...(observer?.openStream
      ? { openStream: (route: FastRoute) => observer.openStream!(route.resolution.deployment.name, route.resolution.service) }
      : {}),

    finished(outcome: FastOutcome): void {
      counts.fast++;
      if (!accessLogOn && !observer) return;
      const ms = performance.now() - outcome.startedAt;
      const { deployment, service, servedBy } = outcome.route.resolution;
      if (accessLogOn) accessLog(o.log, outcome, ms);
      observer?.request(deployment.name, service, outcome.status, ms / 1000, servedBy?.name);
    },

    upstreamFailed(err, route, head, responded, close) {
      const { deployment, service, target, servedBy } = route.resolution;
      const failure = classifyUpstreamError(err);
      observer?.upstreamError(failure.kind);
      // The same event and fields as the other path (src/proxy/proxy-handler.ts, docs/troubleshooting.md).
      o.log.warn({ event: 'upstream-error', deployment: deployment.name, service, target: target.address, fallback: servedBy?.name, kind: failure.kind, err: err.message }, 'upstream error');
      if (responded) return undefined;
      const info = upstreamFailureInfo(failure, route.host, servedBy ?? deployment, service, target);
      const page = errorResponse(info, wantsJson({ headers: { accept: headerValue(head, 'accept') } }), head.method);
      return { status: page.status, head: ownResponseHead(page.status, page.headers, close, ctx.keepAliveLine), body: Buffer.from(page.body) };
    },

    malformedBody(remote, reason) {
      o.log.warn({ event: 'malformed-request-rejected', code: 'HPE_INVALID_CHUNK_SIZE', reason, remote, status: 400 }, 'rejected malformed request');
    },

    forget(connection) {
      connections.delete(connection as ClientConnection);
    },
  };

  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    connections.add(new ClientConnection(socket, ctx));
  });
  server.once('close', () => pool.close());

  const closeIdle = server.closeIdleConnections.bind(server);
  const closeAll = server.closeAllConnections.bind(server);
  Object.assign(server, {
    closeIdleConnections(): void {
      ctx.closing = true;
      closeIdle();
      for (const c of connections) c.closeIfIdle();
    },
    closeAllConnections(): void {
      ctx.closing = true;
      closeAll();
      for (const c of connections) c.destroy();
      pool.close();
    },
  });
}

/** The access log line of the other path (src/proxy/proxy-handler.ts), field for field. */
function accessLog(log: Logger, outcome: FastOutcome, elapsedMs: number): void {
  const ms = Math.round(elapsedMs * 10) / 10;
  const { head, status } = outcome;
  const { deployment, service, target, servedBy } = outcome.route.resolution;
  const fallback = servedBy?.name;
  // Two literal shapes rather than a spread, as this runs for every request.
  log.info(
    outcome.aborted
      ? { host: head.host, deployment: deployment.name, service, target: target.address, fallback, method: head.method, path: head.target, proto: 'http/1.1', status, aborted: true, ms }
      : { host: head.host, deployment: deployment.name, service, target: target.address, fallback, method: head.method, path: head.target, proto: 'http/1.1', status, ms },
    'request',
  );
}

/** A request header's value (repeated ones joined, as Node does), looked up only when an error page needs it. */
function headerValue(head: RequestHead, name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < head.headers.length; i += 2) {
    if (head.headers[i]!.toLowerCase() === name) value = value === undefined ? head.headers[i + 1]! : `${value}, ${head.headers[i + 1]!}`;
  }
  return value;
}
