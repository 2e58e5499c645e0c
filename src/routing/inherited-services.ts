import { fallbackChain } from './resolve-label.ts';
import type { Deployment, Service, Target } from './route-types.ts';

/** A service a deployment does not run itself, served by a base through the fallback. */
export interface InheritedService {
  readonly name: string;
  /** The base that serves it: the first on the chain that has it routable. */
  readonly from: Deployment;
  readonly service: Service;
  readonly target: Target;
}

/**
 * What `<d>-<service>.<domain>` would reach through `d`'s bases, for the
 * dashboard, the API and 404 pages (never the request path: it allocates).
 * A service `d` has but cannot route (incomplete, blocked) is inherited too,
 * exactly as the lookup falls back for it. Sorted by name.
 */
export function inheritedServices(deployments: ReadonlyMap<string, Deployment>, d: Deployment, fallback: string | undefined): InheritedService[] {
  const found = new Map<string, InheritedService>();
  for (const base of fallbackChain(deployments, d, fallback)) {
    for (const service of base.services.values()) {
      if (!service.target || found.has(service.name) || d.services.get(service.name)?.target) continue;
      found.set(service.name, { name: service.name, from: base, service, target: service.target });
    }
  }
  return [...found.values()].sort((a, b) => a.name.localeCompare(b.name));
}
