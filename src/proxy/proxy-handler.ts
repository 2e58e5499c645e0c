import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { AccessGate } from '../access/access-gate.ts';
import { gated } from '../access/gated-handler.ts';
import type { RegistryView } from '../registry/registry-view.ts';
import type { StopSource } from '../registry/stop-tracker.ts';
import type { HostMatch } from '../routing/host.ts';
import type { Resolution } from '../routing/route-table.ts';
import { foreignHostInfo, notLoadedInfo, notRoutedInfo, upstreamFailureInfo } from '../web/error-info.ts';
import { rawErrorResponse, sendError } from '../web/error-page.ts';
import type { ErrorInfo } from '../web/error-page.ts';
import { linkBase } from '../web/links.ts';
import type { Forwarder } from './forwarder.ts';
import { responseFinished } from './response-finished.ts';
import { ROBOTS_HEADER, ROBOTS_VALUE, robotsPolicy, sendRobotsTxt } from './robots.ts';
import type { WakeGate } from './wake-gate.ts';
import { classifyUpstreamError } from './upstream-error.ts';
import type { UpstreamErrorKind } from './upstream-error.ts';

/**
 * Told about every request on the proxy port except the dashboard's, for metrics
 * and activity. It runs on the request path, so it must be cheap.
 */
export interface RequestObserver {
  /**
   * A response finished or was aborted. `deployment` is set when the host named one in the table, `service` only when it was routed,
   * `servedBy` only when a base served it through a fallback (`deployment` is still the one asked for).
   */
  request(deployment: string | undefined, service: string | undefined, status: number, seconds: number, servedBy?: string, quiet?: boolean): void;
  /**
   * Defined with SLEEP_AFTER and WAKE_IGNORE_USER_AGENTS only: whether a request from this user agent
   * (a crawler, unfurler or uptime check) is `quiet`, counted in the metrics but not as activity, so
   * it cannot keep a deployment awake. Undefined: the request path does not look at the user agent.
   */
  quiet?(userAgent: string | undefined): boolean;
  /** A WebSocket was handed to a backend. */
  upgrade(deployment: string, service: string): void;
  /**
   * A proxied response is under way (here: from the moment the request is forwarded, so a long poll
   * waiting for its headers counts too) or a WebSocket was handed over; the returned function is
   * called once when it ends. For activity: with SLEEP_AFTER, a deployment in use over one long
   * response or WebSocket never looks idle. Defined only then, so without it the request path pays nothing.
   */
  openStream?(deployment: string, service: string): () => void;
  upstreamError(kind: UpstreamErrorKind): void;
}

export interface ProxyHandlerOptions {
  readonly matchHost: (host: string | undefined) => HostMatch;
  readonly domains: readonly string[];
  readonly registry: RegistryView;
  readonly forwarder: Forwarder;
  readonly defaultService: string;
  /** Deployments whose services have all stopped, for wording their 404 page. */
  readonly stops?: StopSource;
  /** FALLBACK_DEPLOYMENT: the base of deployments that declare none; undefined: only declared bases. */
  readonly fallbackDeployment?: string;
  readonly log: Logger;
  /** Serves the bare base domain (dashboard, API). */
  readonly dashboard: (req: IncomingMessage, res: ServerResponse) => void;
  readonly observer?: RequestObserver;
  /** Access control; undefined when the proxy is open to everyone. */
  readonly gate?: AccessGate;
  /** Requests to sleeping deployments (issue #13); undefined: they get the 503 page. */
  readonly wakeGate?: WakeGate;
  /** ROBOTS_ALLOW: deployments crawlers may index (`*`: all); the others get X-Robots-Tag and a disallowing /robots.txt. */
  readonly robotsAllow?: readonly string[] | '*';
}

/** A request held while its deployment woke, forwarded now. */
interface Held {
  readonly body: Buffer | undefined;
  /** When it arrived: its log line and metric count the whole time, hold included. */
  readonly start: number;
}

/** Names the base that served a response through a fallback (issue #14); set by the proxy, after the backend's own headers. */
export const FALLBACK_HEADER = 'x-branch-proxy-fallback';

/** The stable `event` field of each upstream-failure log line (docs/troubleshooting.md). */
const UPSTREAM_FAILURE_EVENTS = { 'upstream error': 'upstream-error', 'websocket upstream error': 'websocket-upstream-error' } as const;

/** The first snapshot usually loads in well under a second. */
const RETRY_SOON = { 'retry-after': '1' } as const;

/**
 * The request path: Host -> route -> forwarder, or a helpful error page.
 * Everything that can be prepared is prepared here, once.
 */
export function createProxyHandler(o: ProxyHandlerOptions) {
  const accessLogOn = o.log.isLevelEnabled('info');
  const gate = o.gate;
  const observer = o.observer;
  const fallback = o.fallbackDeployment;
  const wakeGate = o.wakeGate;
  const robots = robotsPolicy(o.robotsAllow ?? []);

  /** `held`: a request held while its deployment woke (see wake-gate.ts): its body, read meanwhile, and when it arrived. */
  function route(req: IncomingMessage, res: ServerResponse, match: HostMatch, held?: Held): void {
    if (match.kind === 'dashboard') return o.dashboard(req, res);
    const start = held?.start ?? performance.now();
    if (match.kind === 'foreign') {
      o.log.warn({ host: match.host, url: req.url }, 'request for a host outside the base domains');
      sendError(req, res, foreignHostInfo(match.host, o.domains));
      observer?.request(undefined, undefined, res.statusCode, (performance.now() - start) / 1000);
      return;
    }
    const resolution = o.registry.resolve(match.label, o.defaultService, fallback);
    if (resolution.kind !== 'route') {
      if (resolution.kind === 'asleep' && wakeGate) {
        // A crawler's robots.txt must not wake anything.
        if (req.url === '/robots.txt' && robots?.noindex(resolution.deployment.name)) return sendRobotsTxt(req.method, res);
        return wakeGate.request(req, res, resolution, hostOf(match), (body) => route(req, res, match, { body, start }));
      }
      if (o.registry.ready) sendError(req, res, notRoutedInfo(resolution, hostOf(match), match.domain, o.registry.table, linkBase(req), o.defaultService, { stops: o.stops, fallbackDeployment: fallback }));
      else sendError(req, res, notLoadedInfo(hostOf(match), match.domain, linkBase(req)), RETRY_SOON);
      const named = resolution.kind === 'unknown-deployment' ? undefined : resolution;
      if (accessLogOn) accessLog(req, res, performance.now() - start, named?.deployment.name, named?.service);
      observer?.request(named?.deployment.name, undefined, res.statusCode, (performance.now() - start) / 1000);
      return;
    }
    const { deployment, service, target } = resolution;
    // The deployment asked for is what the gate checked and what logs and metrics count; the base only answers.
    const servedBy = resolution.servedBy?.name;
    if (servedBy !== undefined) res.setHeader(FALLBACK_HEADER, servedBy);
    if (robots?.noindex(deployment.name)) {
      if (req.url === '/robots.txt') return sendRobotsTxt(req.method, res);
      res.setHeader(ROBOTS_HEADER, ROBOTS_VALUE);
    }
    const onError = (err: Error, responded: boolean): void => {
      upstreamFailed(err, match, resolution, 'upstream error', responded ? undefined : (info) => sendError(req, res, info));
      if (responded) res.destroy();
    };
    const quiet = observer?.quiet?.(req.headers['user-agent']) === true;
    const endStream = quiet ? undefined : observer?.openStream?.(deployment.name, service);
    // Runs from the forwarder's own 'close' listener: one listener per request, not two.
    const wake = held ? 'held' : undefined;
    const onClose =
      accessLogOn || observer
        ? (): void => {
            endStream?.();
            const ms = performance.now() - start;
            if (accessLogOn) accessLog(req, res, ms, deployment.name, service, target.address, servedBy, wake);
            observer?.request(deployment.name, service, res.statusCode, ms / 1000, servedBy, quiet);
          }
        : undefined;
    o.forwarder.web(req, res, target, onError, onClose, held?.body);
  }

  /** The socket already has its error listener (onUpgrade here, or the access gate's). */
  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, match: HostMatch): void {
    const resolution = match.kind === 'label' ? o.registry.resolve(match.label, o.defaultService, fallback) : undefined;
    if (resolution?.kind === 'asleep' && wakeGate) return wakeGate.upgrade(req, socket, resolution);
    if (match.kind !== 'label' || resolution?.kind !== 'route') {
      const info =
        match.kind === 'foreign'
          ? foreignHostInfo(match.host, o.domains)
          : { status: 404, error: 'not-found', title: 'Not Found', message: 'No WebSocket endpoint is registered for this host.' };
      socket.end(rawErrorResponse(info));
      return;
    }
    const { deployment, service, target } = resolution;
    const servedBy = resolution.servedBy?.name;
    o.log.info({ event: 'websocket-opened', deployment: deployment.name, service, target: target.address, fallback: servedBy, url: req.url }, 'websocket opened');
    if (observer?.quiet?.(req.headers['user-agent']) !== true) {
      observer?.upgrade(deployment.name, service);
      const endStream = observer?.openStream?.(deployment.name, service);
      if (endStream) socket.once('close', endStream);
    }
    o.forwarder.upgrade(req, socket, head, target, (err, upgraded) => {
      const answer = !upgraded && socket.writable ? (info: ErrorInfo) => socket.end(rawErrorResponse(info)) : undefined;
      upstreamFailed(err, match, resolution, 'websocket upstream error', answer);
    });
  }

  /**
   * A backend failed an HTTP request or a WebSocket upgrade: classify it once, count
   * it, log one line, and hand the page to `answer` when the client can still be
   * told (nothing sent to it yet).
   */
  function upstreamFailed(
    err: Error,
    match: Extract<HostMatch, { kind: 'label' }>,
    route: Extract<Resolution, { kind: 'route' }>,
    event: 'upstream error' | 'websocket upstream error',
    answer: ((info: ErrorInfo) => void) | undefined,
  ): void {
    const { deployment, service, target, servedBy } = route;
    const failure = classifyUpstreamError(err);
    observer?.upstreamError(failure.kind);
    o.log.warn({ event: UPSTREAM_FAILURE_EVENTS[event], deployment: deployment.name, service, target: target.address, fallback: servedBy?.name, kind: failure.kind, err: err.message }, event);
    answer?.(upstreamFailureInfo(failure, hostOf(match), servedBy ?? deployment, service, target));
  }

  /**
   * One line per request; two literal shapes rather than a spread, as this runs for every request.
   * `fallback` (the base that served it) and `wake` (`held`: it waited for its deployment to wake, and
   * `ms` counts from its arrival) are left out of the JSON when undefined, as pino drops undefined fields.
   * The wake gate logs the answers it gives itself in the same shape (wake-gate.ts).
   */
  function accessLog(req: IncomingMessage, res: ServerResponse, elapsedMs: number, deployment?: string, service?: string, target?: string, fallback?: string, wake?: 'held'): void {
    const ms = Math.round(elapsedMs * 10) / 10;
    const { headers, method, url } = req;
    const status = res.statusCode;
    const proto = req.httpVersionMajor === 2 ? 'h2' : 'http/1.1';
    o.log.info(
      responseFinished(res)
        ? { host: headers.host, deployment, service, target, fallback, method, path: url, proto, status, wake, ms }
        : { host: headers.host, deployment, service, target, fallback, method, path: url, proto, status, wake, aborted: true, ms },
      'request',
    );
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => route(req, res, o.matchHost(req.headers.host));
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    upgrade(req, socket, head, o.matchHost(req.headers.host));
  };
  return gate ? gated({ gate, matchHost: o.matchHost, registry: o.registry, defaultService: o.defaultService, fallbackDeployment: fallback, log: o.log, route, upgrade }) : { onRequest, onUpgrade };
}

function hostOf(match: Extract<HostMatch, { kind: 'label' }>): string {
  return `${match.label}.${match.domain}`;
}
