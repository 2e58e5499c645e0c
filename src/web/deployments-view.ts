import type { Deployment, RouteTable } from '../routing/route-table.ts';
import type { LinkBase } from './links.ts';
import { deploymentUrl } from './links.ts';

/** The stable JSON shape of a deployment, shared by the API and the pages. */
export interface DeploymentView {
  name: string;
  branch: string | null;
  created: string | null;
  defaultService: string;
  url: string;
  services: { name: string; url: string; target: string | null; routable: boolean }[];
}

export function viewDeployment(d: Deployment, fallbackService: string, base: LinkBase, domain: string): DeploymentView {
  return {
    name: d.name,
    branch: d.branch ?? null,
    created: d.created ?? null,
    defaultService: d.defaultService ?? fallbackService,
    url: deploymentUrl(base, domain, d.name),
    services: [...d.services.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((s) => ({ name: s.name, url: deploymentUrl(base, domain, d.name, s.name), target: s.target?.address ?? null, routable: s.target !== undefined })),
  };
}

/** Newest first, then by name. */
export function viewDeployments(table: RouteTable, fallbackService: string, base: LinkBase, domain: string): DeploymentView[] {
  return [...table.deployments.values()]
    .sort((a, b) => (b.created ?? '').localeCompare(a.created ?? '') || a.name.localeCompare(b.name))
    .map((d) => viewDeployment(d, fallbackService, base, domain));
}
