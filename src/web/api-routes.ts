import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RegistryView } from '../registry/registry-view.ts';
import type { ViewSources } from './deployments-view.ts';
import { viewDeployment, viewDeployments } from './deployments-view.ts';
import type { LinkBase } from './links.ts';

export interface ApiOptions {
  readonly registry: RegistryView;
  readonly sources: ViewSources;
  /** Which domain and scheme/port the links in a response use. */
  readonly linksFor: (req: FastifyRequest) => { base: LinkBase; domain: string };
}

/** Body of `GET /api/deployments`; field reference in docs/dashboard.md. */
export function deploymentsBody(o: Pick<ApiOptions, 'registry' | 'sources'>, base: LinkBase, domain: string) {
  const r = o.registry;
  return { revision: r.revision, connected: r.connected, deployments: viewDeployments(r.table, o.sources, base, domain) };
}

/** `GET /api/deployments` and `GET /api/deployments/:name`: the registry as JSON. */
export async function apiRoutes(app: FastifyInstance, o: ApiOptions): Promise<void> {
  app.get('/api/deployments', async (req, reply) => {
    const { base, domain } = o.linksFor(req);
    void reply.header('cache-control', 'no-store');
    return deploymentsBody(o, base, domain);
  });
  app.get<{ Params: { name: string } }>('/api/deployments/:name', async (req, reply) => {
    void reply.header('cache-control', 'no-store');
    const deployment = o.registry.table.deployments.get(req.params.name);
    if (!deployment) {
      return reply.code(404).send({ error: 'unknown-deployment', message: `No deployment named "${req.params.name}".` });
    }
    const { base, domain } = o.linksFor(req);
    return viewDeployment(deployment, o.sources, base, domain);
  });
}
