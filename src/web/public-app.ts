import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance, FastifyServerFactory } from 'fastify';
import escapeHtml from 'escape-html';
import type { Logger } from 'pino';
import type { Registry } from '../registry/registry.ts';
import { normaliseHost } from '../routing/host.ts';
import { apiRoutes } from './api-routes.ts';
import { viewDeployments } from './deployments-view.ts';
import { wantsJson } from './error-page.ts';
import { linkBase } from './links.ts';

export interface PublicAppOptions {
  readonly registry: Registry;
  readonly defaultService: string;
  readonly log: Logger;
  /** Builds the one HTTP server that carries both this app and the proxy. */
  readonly serverFactory: FastifyServerFactory;
}

/** What the bare base domain serves: the list of deployments and the API. */
export function createPublicApp(o: PublicAppOptions): FastifyInstance {
  const app = Fastify({ loggerInstance: o.log.child({ listener: 'dashboard' }) as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }), serverFactory: o.serverFactory });
  const linksFor = (req: { raw: Parameters<typeof linkBase>[0] }) => ({ base: linkBase(req.raw), domain: normaliseHost(req.raw.headers.host ?? '') });
  void app.register(apiRoutes, { registry: o.registry, defaultService: o.defaultService, linksFor });
  app.get('/', async (req, reply) => {
    const { base, domain } = linksFor(req);
    const deployments = viewDeployments(o.registry.table, o.defaultService, base, domain);
    if (wantsJson(req.raw)) return { deployments };
    const rows = deployments
      .map(
        (d) =>
          `<li><a href="${escapeHtml(d.url)}">${escapeHtml(d.name)}</a>${d.branch ? ` <small>${escapeHtml(d.branch)}</small>` : ''}: ` +
          d.services.map((s) => (s.routable ? `<a href="${escapeHtml(s.url)}">${escapeHtml(s.name)}</a>` : escapeHtml(s.name))).join(', ') +
          '</li>',
      )
      .join('');
    return reply
      .type('text/html; charset=utf-8')
      .send(
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Deployments · branch-proxy</title></head>` +
          `<body style="font:16px/1.5 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem"><h1>Deployments on ${escapeHtml(domain)}</h1>` +
          (rows === '' ? '<p>No deployments are registered yet.</p>' : `<ul>${rows}</ul>`) +
          '</body></html>',
      );
  });
  return app;
}
