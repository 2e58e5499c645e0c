import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { AccessGate } from '../access/access-gate.ts';
import { stripAccessCredentials } from '../access/access-gate.ts';
import type { Registry } from '../registry/registry.ts';
import type { HostMatch } from '../routing/host.ts';
import { rawErrorResponse, sendError } from '../web/error-page.ts';
import { linkBase } from '../web/links.ts';
import { accessDeniedInfo, foreignHostInfo, notRoutedInfo, upstreamFailureInfo } from './error-info.ts';
import type { Forwarder } from './forwarder.ts';
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

/**
 * The request path: Host -> route -> forwarder, or a helpful error page.
 * Everything that can be prepared is prepared here, once.
 */
export function createProxyHandler(o: ProxyHandlerOptions) {
  const accessLogOn = o.log.isLevelEnabled('info');
  const gate = o.gate;
  const observer = o.observer;

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const match = o.matchHost(req.headers.host);
    if (!gate || match.kind === 'foreign') return route(req, res, match);
    gate.check(req, deploymentNamed(match), match.domain).then(
      (verdict) => {
        if (verdict.allow && verdict.via === 'share-link') {
          o.log.info({ deployment: deploymentNamed(match), client: gate.clientAddress(req) }, 'share link opened');
          res.writeHead(302, { location: verdict.location, 'set-cookie': verdict.setCookie, 'cache-control': 'no-store' }).end();
        } else if (verdict.allow) {
          stripAccessCredentials(req, verdict);
          route(req, res, match);
        } else {
          o.log.info({ host: req.headers.host, client: gate.clientAddress(req), status: verdict.status }, 'access denied');
          sendError(req, res, accessDeniedInfo(verdict), verdict.status === 401 ? BASIC_CHALLENGE : undefined);
        }
      },
      (err: unknown) => {
        o.log.error({ err }, 'access check failed');
        res.destroy();
      },
    );
  }

  /** The deployment a host names, as far as the table knows, for share-link checks. */
  function deploymentNamed(match: Exclude<HostMatch, { kind: 'foreign' }>): string | undefined {
    if (match.kind === 'dashboard') return undefined;
    const r = o.registry.resolve(match.label, o.defaultService);
    return r.kind === 'unknown-deployment' ? undefined : r.deployment.name;
  }

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
      sendError(req, res, notRoutedInfo(resolution, hostOf(match), match.domain, o.registry.table, linkBase(req)));
      if (accessLogOn) accessLog(req, res, start, resolution.kind === 'unknown-service' ? resolution.deployment.name : undefined, resolution.kind === 'unknown-service' ? resolution.service : undefined);
      observer?.request(resolution.kind === 'unknown-service' ? resolution.deployment.name : undefined, undefined, res.statusCode, (performance.now() - start) / 1000);
      return;
    }
    const { deployment, service, target } = resolution;
    if (accessLogOn || observer) {
      res.once('close', () => {
        if (accessLogOn) accessLog(req, res, start, deployment.name, service, target.address);
        observer?.request(deployment.name, service, res.statusCode, (performance.now() - start) / 1000);
      });
    }
    o.forwarder.web(req, res, target, (err, responded) => {
      const failure = classifyUpstreamError(err);
      observer?.upstreamError(failure.kind);
      o.log.warn({ deployment: deployment.name, service, target: target.address, kind: failure.kind, err: err.message }, 'upstream error');
      if (responded) res.destroy();
      else sendError(req, res, upstreamFailureInfo(failure, hostOf(match), deployment, service, target));
    });
  }

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const match = o.matchHost(req.headers.host);
    if (!gate || match.kind === 'foreign') return upgrade(req, socket, head, match);
    gate.check(req, deploymentNamed(match), match.domain).then(
      (verdict) => {
        if (verdict.allow && verdict.via !== 'share-link') {
          stripAccessCredentials(req, verdict);
          upgrade(req, socket, head, match);
        } else {
          socket.end(rawErrorResponse(verdict.allow ? accessDeniedInfo({ status: 403, message: 'Open the share link in a browser first.' }) : accessDeniedInfo(verdict)));
        }
      },
      () => socket.destroy(),
    );
  }

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

  function accessLog(req: IncomingMessage, res: ServerResponse, start: number, deployment?: string, service?: string, target?: string): void {
    o.log.info(
      {
        deployment,
        service,
        target,
        method: req.method,
        path: req.url,
        status: res.statusCode,
        ...(res.writableFinished ? {} : { aborted: true }),
        ms: Math.round((performance.now() - start) * 10) / 10,
      },
      'request',
    );
  }

  return { onRequest, onUpgrade };
}

const BASIC_CHALLENGE = { 'www-authenticate': 'Basic realm="branch-proxy", charset="UTF-8"' };

function hostOf(match: Extract<HostMatch, { kind: 'label' }>): string {
  return `${match.label}.${match.domain}`;
}
