import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { ServeConfig } from '../config/serve-config.ts';

export interface LinkBase {
  readonly scheme: string;
  /** `:8080`, or empty when the visitor used the default port. */
  readonly port: string;
}

/** How links to deployments are spelled when no request says: the public port's scheme and port. */
export function publicLinks(config: Pick<ServeConfig, 'tls'>, port: number): LinkBase {
  return config.tls ? { scheme: 'https', port: port === 443 ? '' : `:${port}` } : { scheme: 'http', port: port === 80 ? '' : `:${port}` };
}

/**
 * Links to other deployments use the scheme and port the visitor used, so a page
 * at `http://main.dev.localhost:8080` links to `http://feature-x.dev.localhost:8080`.
 */
export function linkBase(req: IncomingMessage): LinkBase {
  const port = req.headers.host?.match(/:(\d{1,5})$/)?.[1];
  const scheme = (req.socket as Partial<TLSSocket>).encrypted ? 'https' : 'http';
  return { scheme, port: port === undefined ? '' : `:${port}` };
}

export function deploymentUrl(base: LinkBase, domain: string, deployment: string, service?: string): string {
  return `${base.scheme}://${service === undefined ? deployment : `${deployment}-${service}`}.${domain}${base.port}`;
}

export function dashboardUrl(base: LinkBase, domain: string): string {
  return `${base.scheme}://${domain}${base.port}/`;
}
