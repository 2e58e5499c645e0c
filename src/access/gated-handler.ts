import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { RegistryView } from '../registry/registry-view.ts';
import type { HostMatch } from '../routing/host.ts';
import { accessDeniedInfo } from '../web/error-info.ts';
import { rawErrorResponse, sendError } from '../web/error-page.ts';
import type { AccessGate } from './access-gate.ts';
import { stripAccessCredentials } from './access-gate.ts';

export interface GatedOptions {
  readonly gate: AccessGate;
  readonly matchHost: (host: string | undefined) => HostMatch;
  readonly registry: RegistryView;
  readonly defaultService: string;
  readonly fallbackDeployment?: string;
  readonly log: Logger;
  /** What an admitted request or upgrade goes on to. */
  readonly route: (req: IncomingMessage, res: ServerResponse, match: HostMatch) => void;
  readonly upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer, match: HostMatch) => void;
}

const BASIC_CHALLENGE = { 'www-authenticate': 'Basic realm="branch-proxy", charset="UTF-8"' };

/**
 * Puts the access gate in front of the request path: denied visitors get 401/403
 * (and learn nothing about deployments), a share link sets its cookie and
 * redirects, admitted requests continue without the proxy's own credentials.
 * Hosts outside the base domains get their 421 without a check.
 */
export function gated(o: GatedOptions) {
  const { gate, log } = o;

  /**
   * The deployment a host names, as far as the table knows, for share-link checks.
   * SECURITY: the deployment asked for, never the base that would serve it through
   * a fallback: a share link for feature-x opens feature-x-api served by main, not main-api.
   */
  function deploymentNamed(match: Exclude<HostMatch, { kind: 'foreign' }>): string | undefined {
    if (match.kind === 'dashboard') return undefined;
    const r = o.registry.resolve(match.label, o.defaultService, o.fallbackDeployment);
    return r.kind === 'unknown-deployment' ? undefined : r.deployment.name;
  }

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const match = o.matchHost(req.headers.host);
    if (match.kind === 'foreign') return o.route(req, res, match);
    gate.check(req, deploymentNamed(match), match.domain).then(
      (verdict) => {
        if (verdict.allow && verdict.via === 'share-link') {
          log.info({ deployment: deploymentNamed(match), client: gate.clientAddress(req) }, 'share link opened');
          res.writeHead(302, { location: verdict.location, 'set-cookie': verdict.setCookie, 'cache-control': 'no-store' }).end();
        } else if (verdict.allow) {
          stripAccessCredentials(req, verdict);
          o.route(req, res, match);
        } else {
          log.info({ host: req.headers.host, client: gate.clientAddress(req), status: verdict.status }, 'access denied');
          sendError(req, res, accessDeniedInfo(verdict), verdict.status === 401 ? BASIC_CHALLENGE : undefined);
        }
      },
      (err: unknown) => {
        log.error({ err }, 'access check failed');
        res.destroy();
      },
    );
  }

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const match = o.matchHost(req.headers.host);
    if (match.kind === 'foreign') return o.upgrade(req, socket, head, match);
    gate.check(req, deploymentNamed(match), match.domain).then(
      (verdict) => {
        if (verdict.allow && verdict.via !== 'share-link') {
          stripAccessCredentials(req, verdict);
          o.upgrade(req, socket, head, match);
        } else {
          const denied = verdict.allow ? { status: 403 as const, message: 'Open the share link in a browser first.' } : verdict;
          socket.end(rawErrorResponse(accessDeniedInfo(denied)));
        }
      },
      () => socket.destroy(),
    );
  }

  return { onRequest, onUpgrade };
}
