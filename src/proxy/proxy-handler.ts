import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { AccessGate } from '../access/access-gate.ts';
import { gated } from '../access/gated-handler.ts';
import type { Registry } from '../registry/registry.ts';
import type { HostMatch } from '../routing/host.ts';
import { rawErrorResponse, sendError } from '../web/error-page.ts';
import { linkBase } from '../web/links.ts';
import { foreignHostInfo, notLoadedInfo, notRoutedInfo, upstreamFailureInfo } from './error-info.ts';
import type { Forwarder } from './forwarder.ts';
import { responseFinished } from './response-finished.ts';
import { classifyUpstreamError } from './upstream-error.ts';
import type { UpstreamErrorKind } from './upstream-error.ts';

/**
 * Told about every request on the proxy port except the dashboard's, for metrics
 * and activity. It runs on the request path, so it must be cheap.
 */
export interface RequestObserver {
  /** A response finished or was aborted. `deployment` is set when the host named one in the table, `service` only when it was routed. */
  request(deployment: string | undefined, service: string | undefined, status: number, seconds: number): void;
  /** A WebSocket was handed to a backend. */
  upgrade(deployment: string, service: string): void;
  upstreamError(kind: UpstreamErrorKind): void;
}

export interface ProxyHandlerOptions {
  readonly matchHost: (host: string | undefined) => HostMatch;
  readonly domains: readonly string[];
  readonly registry: Registry;
  readonly forwarder: Forwarder;
  readonly defaultService: string;
  readonly log: Logger;
  /** Serves the bare base domain (dashboard, API). */
  readonly dashboard: (req: IncomingMessage, res: ServerResponse) => void;
  readonly observer?: RequestObserver;
  /** Access control; undefined when the proxy is open to everyone. */
  readonly gate?: AccessGate;
}

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

  function route(req: IncomingMessage, res: ServerResponse, match: HostMatch): void {
    if (match.kind === 'dashboard') return o.dashboard(req, res);
    const start = performance.now();
    if (match.kind === 'foreign') {
      o.log.warn({ host: match.host, url: req.url }, 'request for a host outside the base domains');
      sendError(req, res, foreignHostInfo(match.host, o.domains));
      observer?.request(undefined, undefined, res.statusCode, (performance.now() - start) / 1000);
      return;
    }
    const resolution = o.registry.resolve(match.label, o.defaultService);
    if (resolution.kind !== 'route') {
      if (o.registry.ready) sendError(req, res, notRoutedInfo(resolution, hostOf(match), match.domain, o.registry.table, linkBase(req), o.defaultService));
      else sendError(req, res, notLoadedInfo(hostOf(match), match.domain, linkBase(req)), RETRY_SOON);
      if (accessLogOn) accessLog(req, res, performance.now() - start, resolution.kind === 'unknown-service' ? resolution.deployment.name : undefined, resolution.kind === 'unknown-service' ? resolution.service : undefined);
      observer?.request(resolution.kind === 'unknown-service' ? resolution.deployment.name : undefined, undefined, res.statusCode, (performance.now() - start) / 1000);
      return;
    }
    const { deployment, service, target } = resolution;
    const onError = (err: Error, responded: boolean): void => {
      const failure = classifyUpstreamError(err);
      observer?.upstreamError(failure.kind);
      o.log.warn({ deployment: deployment.name, service, target: target.address, kind: failure.kind, err: err.message }, 'upstream error');
      if (responded) res.destroy();
      else sendError(req, res, upstreamFailureInfo(failure, hostOf(match), deployment, service, target));
    };
    // Runs from the forwarder's own 'close' listener: one listener per request, not two.
    const onClose =
      accessLogOn || observer
        ? (): void => {
            const ms = performance.now() - start;
            if (accessLogOn) accessLog(req, res, ms, deployment.name, service, target.address);
            observer?.request(deployment.name, service, res.statusCode, ms / 1000);
          }
        : undefined;
    o.forwarder.web(req, res, target, onError, onClose);
  }

  /** The socket already has its error listener (onUpgrade here, or the access gate's). */
  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, match: HostMatch): void {
    const resolution = match.kind === 'label' ? o.registry.resolve(match.label, o.defaultService) : undefined;
    if (match.kind !== 'label' || resolution?.kind !== 'route') {
      const info =
        match.kind === 'foreign'
          ? foreignHostInfo(match.host, o.domains)
          : { status: 404, error: 'not-found', title: 'Not Found', message: 'No WebSocket endpoint is registered for this host.' };
      socket.end(rawErrorResponse(info));
      return;
    }
    const { deployment, service, target } = resolution;
    o.log.info({ deployment: deployment.name, service, target: target.address, url: req.url }, 'websocket opened');
    observer?.upgrade(deployment.name, service);
    o.forwarder.upgrade(req, socket, head, target, (err, upgraded) => {
      const failure = classifyUpstreamError(err);
      observer?.upstreamError(failure.kind);
      o.log.warn({ deployment: deployment.name, service, target: target.address, kind: failure.kind, err: err.message }, 'websocket upstream error');
      if (!upgraded && socket.writable) {
        socket.end(rawErrorResponse(upstreamFailureInfo(failure, hostOf(match), deployment, service, target)));
      }
    });
  }

  /** One line per request; two literal shapes rather than a spread, as this runs for every request. */
  function accessLog(req: IncomingMessage, res: ServerResponse, elapsedMs: number, deployment?: string, service?: string, target?: string): void {
    const ms = Math.round(elapsedMs * 10) / 10;
    const { headers, method, url } = req;
    const status = res.statusCode;
    const proto = req.httpVersionMajor === 2 ? 'h2' : 'http/1.1';
    o.log.info(
      responseFinished(res)
        ? { host: headers.host, deployment, service, target, method, path: url, proto, status, ms }
        : { host: headers.host, deployment, service, target, method, path: url, proto, status, aborted: true, ms },
      'request',
    );
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => route(req, res, o.matchHost(req.headers.host));
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    upgrade(req, socket, head, o.matchHost(req.headers.host));
  };
  return gate ? gated({ gate, matchHost: o.matchHost, registry: o.registry, defaultService: o.defaultService, log: o.log, route, upgrade }) : { onRequest, onUpgrade };
}

function hostOf(match: Extract<HostMatch, { kind: 'label' }>): string {
  return `${match.label}.${match.domain}`;
}
