import type { Deployment, RouteChange } from './route-types.ts';
import { sameTarget } from './route-types.ts';
import type { RouteTable } from './route-table.ts';

/** Route changes that turn `before` into `after`, for logging a full reload as if it were events. */
export function diffRoutes(before: RouteTable, after: RouteTable): RouteChange[] {
  const changes: RouteChange[] = [];
  for (const r of after.routes()) {
    const previous = before.deployments.get(r.deployment)?.services.get(r.service)?.target;
    if (!previous) changes.push({ type: 'added', ...r });
    else if (!sameTarget(previous, r.target)) changes.push({ type: 'changed', ...r, previous });
  }
  for (const r of before.routes()) {
    if (!after.deployments.get(r.deployment)?.services.get(r.service)?.target) {
      changes.push({ type: 'removed', deployment: r.deployment, service: r.service, previous: r.target });
    }
  }
  return changes;
}

/** Names of the deployments whose routes or metadata differ between two tables. */
export function* changedDeployments(before: RouteTable, after: RouteTable): Generator<string> {
  for (const [name, d] of after.deployments) if (!sameDeployment(before.deployments.get(name), d)) yield name;
  for (const name of before.deployments.keys()) if (!after.deployments.has(name)) yield name;
}

function sameDeployment(a: Deployment | undefined, b: Deployment): boolean {
  if (!a || a.branch !== b.branch || a.created !== b.created || a.defaultService !== b.defaultService || a.lastRequest !== b.lastRequest || a.fallback !== b.fallback) return false;
  if (a.services.size !== b.services.size) return false;
  for (const [name, s] of b.services) {
    const t = a.services.get(name);
    if (!t || t.ip !== s.ip || t.port !== s.port || t.blocked !== s.blocked) return false;
  }
  return true;
}
