import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Registry } from '../registry/registry.ts';
import type { LinkBase } from './links.ts';
import { viewDeployment, viewDeployments } from './deployments-view.ts';

export interface ApiOptions {
  readonly registry: Registry;
  readonly defaultService: string;
  /** Which domain and scheme/port the links in a response use. */
  readonly linksFor: (req: FastifyRequest) => { base: LinkBase; domain: string };
}

/** `GET /api/deployments` and `GET /api/deployments/:name`: the registry as JSON. */
export async function apiRoutes(app: FastifyInstance, o: ApiOptions): Promise<void> {
  app.get('/api/deployments', async (req) => {
    const { base, domain } = o.linksFor(req);
    return { revision: o.registry.revision, deployments: viewDeployments(o.registry.table, o.defaultService, base, domain) };
  });
  app.get<{ Params: { name: string } }>('/api/deployments/:name', async (req, reply) => {
    const deployment = o.registry.table.deployments.get(req.params.name);
    if (!deployment) {
      return reply.code(404).send({ error: 'unknown-deployment', message: `No deployment named "${req.params.name}".` });
    }
    const { base, domain } = o.linksFor(req);
    return viewDeployment(deployment, o.defaultService, base, domain);
  });
}
