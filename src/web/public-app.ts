import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { RegistryView } from '../registry/registry-view.ts';
import { normaliseHost } from '../routing/host.ts';
import { apiRoutes, deploymentsBody } from './api-routes.ts';
import type { ViewSources } from './deployments-view.ts';
import { wantsJson } from './error-page.ts';
import { linkBase } from './links.ts';
import { LiveFeed } from './live-feed.ts';
import type { LiveFeedOptions } from './live-feed.ts';
import { loadAssets, sendAsset } from './static-assets.ts';

export interface PublicAppOptions {
  readonly registry: RegistryView;
  readonly sources: ViewSources;
  readonly probe?: LiveFeedOptions['probe'];
  readonly log: Logger;
  /** Aborted when the server starts shutting down: ends the live streams. */
  readonly signal: AbortSignal;
}

/**
 * Everything is same-origin and inline-free, so the policy can be strict; links
 * to deployments are navigations, which it does not restrict.
 */
const DASHBOARD_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * What the bare base domain serves: the dashboard, its live feed and the API. The proxy's
 * server hands it those requests through `app.routing` once ready; the app never listens.
 */
export function createPublicApp(o: PublicAppOptions): FastifyInstance {
  const app = Fastify({ loggerInstance: o.log.child({ listener: 'dashboard' }) as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }) });
  const assets = loadAssets();
  const index = assets.get('index.html');
  if (!index) throw new Error('public/index.html is missing from the package');
  const feed = new LiveFeed({ registry: o.registry, sources: o.sources, probe: o.probe, log: o.log, signal: o.signal });
  const linksFor = (req: FastifyRequest) => ({ base: linkBase(req.raw), domain: normaliseHost(req.raw.headers.host ?? '') });

  void app.register(apiRoutes, { registry: o.registry, sources: o.sources, linksFor });
  app.get('/', async (req, reply) => {
    if (wantsJson(req.raw)) {
      const { base, domain } = linksFor(req);
      return reply.header('cache-control', 'no-store').send(deploymentsBody(o, base, domain));
    }
    void reply.header('content-security-policy', DASHBOARD_CSP).header('referrer-policy', 'no-referrer');
    return sendAsset(req, reply, index);
  });
  app.get<{ Params: { name: string } }>('/assets/:name', async (req, reply) => {
    const asset = assets.get(req.params.name);
    if (!asset || req.params.name === 'index.html') return reply.code(404).send({ error: 'not-found', message: 'No such asset.' });
    return sendAsset(req, reply, asset);
  });
  app.get('/favicon.ico', async (_req, reply) => reply.redirect('/assets/favicon.svg', 301));
  app.get('/api/events', (req, reply) => {
    reply.hijack();
    const { base, domain } = linksFor(req);
    feed.attach(req.raw, reply.raw, base, domain);
  });
  return app;
}
