import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from '../registry/registry.ts';
import { apiRoutes } from './api-routes.ts';
import type { LinkBase } from './links.ts';

export interface AdminAppOptions {
  readonly registry: Registry;
  readonly defaultService: string;
  readonly primaryDomain: string;
  readonly publicLinks: LinkBase;
  readonly log: Logger;
}

/** The admin listener: health for orchestrators, the API for tools. Never on the public port. */
export function createAdminApp(o: AdminAppOptions): FastifyInstance {
  const app = Fastify({ loggerInstance: o.log.child({ listener: 'admin' }) as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }) });
  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_req, reply) => {
    const r = o.registry;
    const body = { ready: r.ready, etcd: r.connected ? 'connected' : 'disconnected', revision: r.revision, routes: r.table.routeCount };
    return reply.code(r.ready ? 200 : 503).send(body);
  });
  void app.register(apiRoutes, {
    registry: o.registry,
    defaultService: o.defaultService,
    linksFor: () => ({ base: o.publicLinks, domain: o.primaryDomain }),
  });
  return app;
}
