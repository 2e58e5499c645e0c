import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { WorkersReadiness } from '../cluster/workers-readiness.ts';
import type { Registry } from '../registry/registry.ts';
import { apiRoutes } from './api-routes.ts';
import type { ViewSources } from './deployments-view.ts';
import type { LinkBase } from './links.ts';

export interface AdminAppOptions {
  readonly registry: Registry;
  readonly sources: ViewSources;
  readonly primaryDomain: string;
  /** Read per request: a cluster's primary learns the public port from its workers. */
  readonly publicLinks: () => LinkBase;
  /** In a cluster, the workers' state; /readyz waits until they serve. */
  readonly workers?: () => WorkersReadiness;
  /** Prometheus text exposition, served at /metrics. */
  readonly metrics?: () => Promise<{ contentType: string; body: string }>;
  readonly log: Logger;
}

/** The admin listener: health for orchestrators, the API for tools, metrics for Prometheus. Never on the public port. */
export function createAdminApp(o: AdminAppOptions): FastifyInstance {
  const app = Fastify({ loggerInstance: o.log.child({ listener: 'admin' }) as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }) });
  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_req, reply) => {
    const r = o.registry;
    const workers = o.workers?.();
    const ready = r.ready && (!workers || workers.serving);
    const body = {
      ready,
      etcd: r.connected ? 'connected' : 'disconnected',
      revision: r.revision,
      routes: r.table.routeCount,
      ...(workers ? { workers: { ready: workers.ready, total: workers.total, waiting: workers.waiting } } : {}),
    };
    return reply.code(ready ? 200 : 503).send(body);
  });
  const metrics = o.metrics;
  if (metrics) {
    app.get('/metrics', async (_req, reply) => {
      const { contentType, body } = await metrics();
      return reply.header('content-type', contentType).header('cache-control', 'no-store').send(body);
    });
  }
  void app.register(apiRoutes, {
    registry: o.registry,
    sources: o.sources,
    linksFor: () => ({ base: o.publicLinks(), domain: o.primaryDomain }),
  });
  return app;
}
