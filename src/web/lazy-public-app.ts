import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { PublicAppOptions } from './public-app.ts';

/** The public app as the proxy's server uses it. */
export interface PublicApp {
  /** Serves one request for the bare base domain (dashboard, live feed, API). */
  routing(req: IncomingMessage, res: ServerResponse): void;
  close(): Promise<void>;
}

/**
 * The public app (see public-app.ts), built by the first request for it. fastify and
 * its dependencies took a fifth of a cluster worker's start-up CPU, and each worker
 * loaded them although most requests a worker takes are proxied; the first dashboard
 * visit of a process now waits for them instead (a tenth of a second). A request's body
 * waits in its stream meanwhile, as it would for any slow handler.
 */
export function lazyPublicApp(o: PublicAppOptions): PublicApp {
  let app: Promise<FastifyInstance> | undefined;
  // Once built, requests go to it directly, without a promise each.
  let ready: FastifyInstance | undefined;
  const load = (): Promise<FastifyInstance> =>
    (app ??= import('./public-app.ts').then(async ({ createPublicApp }) => {
      const built = createPublicApp(o);
      await built.ready();
      return (ready = built);
    }));
  return {
    routing(req, res) {
      if (ready) return ready.routing(req, res);
      load().then(
        (built) => built.routing(req, res),
        (err: unknown) => {
          o.log.error({ event: 'dashboard-unavailable', err }, 'cannot build the dashboard; its requests get 500 until the proxy restarts');
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('The dashboard could not be loaded; the proxy log says why.\n');
        },
      );
    },
    async close() {
      const built = await app?.catch(() => undefined);
      await built?.close();
    },
  };
}
