import type { AddressInfo } from 'node:net';
import type { ServeConfig } from '../config/serve-config.ts';
import { listenError } from '../startup-error.ts';
import { createAdminApp } from './admin-app.ts';
import type { AdminAppOptions } from './admin-app.ts';
import type { LinkBase } from './links.ts';

/** The admin listener (health, API, metrics) on ADMIN_PORT. */
export async function startAdmin(config: ServeConfig, o: Omit<AdminAppOptions, 'primaryDomain'>) {
  const app = createAdminApp({ ...o, primaryDomain: config.domains[0]! });
  await app.listen({ port: config.adminPort, host: config.adminHost ?? '::' }).catch((err: NodeJS.ErrnoException) => {
    throw listenError(err, config.adminPort, config.adminHost);
  });
  return { port: (app.server.address() as AddressInfo).port, close: () => app.close() };
}

/** How links to deployments are spelled when no request says: the public port's scheme and port. */
export function publicLinks(config: ServeConfig, port: number): LinkBase {
  return config.tls ? { scheme: 'https', port: port === 443 ? '' : `:${port}` } : { scheme: 'http', port: port === 80 ? '' : `:${port}` };
}
