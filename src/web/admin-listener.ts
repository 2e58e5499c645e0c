import type { AddressInfo } from 'node:net';
import type { ServeConfig } from '../config/serve-config.ts';
import { listen } from '../listen.ts';
import { createAdminApp } from './admin-app.ts';
import type { AdminAppOptions } from './admin-app.ts';

/** The admin listener (health, API, metrics) on ADMIN_PORT. */
export async function startAdmin(config: ServeConfig, o: Omit<AdminAppOptions, 'primaryDomain'>) {
  const app = createAdminApp({ ...o, primaryDomain: config.domains[0]! });
  // Our listen(), not fastify's: fastify's leaves a second 'error' event of a port in use unhandled.
  await app.ready();
  await listen(app.server, config.adminPort, config.adminHost);
  return { port: (app.server.address() as AddressInfo).port, close: () => app.close() };
}
