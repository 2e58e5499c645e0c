import { RouteTable } from '../../../src/routing/route-table.ts';

export interface FixtureDeployment {
  readonly branch?: string;
  readonly created?: string;
  readonly default?: string;
  readonly lastRequest?: string;
  /** service -> port on 127.0.0.1; a string port leaves the service without one (not routable). */
  readonly services?: Record<string, number | 'no-port'>;
}

/** A route table from literal data, the way the registry would fill it. */
export function tableOf(deployments: Record<string, FixtureDeployment>): RouteTable {
  const t = new RouteTable();
  for (const [deployment, d] of Object.entries(deployments)) {
    for (const [service, port] of Object.entries(d.services ?? {})) {
      t.set({ deployment, service, field: 'ip' }, '127.0.0.1');
      if (port !== 'no-port') t.set({ deployment, service, field: 'port' }, port);
    }
    if (d.branch !== undefined) t.set({ deployment, field: 'branch' }, d.branch);
    if (d.created !== undefined) t.set({ deployment, field: 'created' }, d.created);
    if (d.default !== undefined) t.set({ deployment, field: 'default' }, d.default);
    if (d.lastRequest !== undefined) t.set({ deployment, field: 'last-request' }, d.lastRequest);
  }
  return t;
}
