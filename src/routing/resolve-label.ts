import type { Deployment, Resolution } from './route-types.ts';

/**
 * How many bases a lookup follows: a branch cut from `release-2-4` that falls
 * back to it, which falls back to `main`, takes two; the third is headroom.
 * Bounded so a lookup's cost stays a handful of Map reads whatever the registry holds.
 */
export const MAX_FALLBACK_STEPS = 3;

/**
 * Resolves a host's first label. On the request path, so it allocates nothing
 * but the result object, and its cost grows with the dashes in the label,
 * never with the table.
 *
 * 1. `<deployment>` opens its default service; otherwise `<deployment>-<service>`,
 *    split at the dash that gives the longest deployment name with that service
 *    routable.
 * 2. Failing that (issue #14), the longest split whose deployment exists (or the
 *    exact one) is the deployment asked for, and the service is looked up in its
 *    base, then the base's base, up to MAX_FALLBACK_STEPS, never around a cycle.
 *    A deployment's base is its own `fallback` key, else `fallback` (the
 *    FALLBACK_DEPLOYMENT setting). A label naming no deployment stays unknown:
 *    a typo must not silently show the base.
 * 3. A service that is not routed but listed in the sleep record of the
 *    deployment that would serve it (the one asked for, or a base on its
 *    chain) resolves to `asleep` (issue #13): the request wakes that one.
 *    Services a sleeping branch does not list still fall back to its base.
 *    Checked only after a routed lookup failed, so awake routes pay nothing.
 */
export function resolveLabel(deployments: ReadonlyMap<string, Deployment>, label: string, defaultService: string, fallback: string | undefined): Resolution {
  const exact = deployments.get(label);
  if (exact) {
    const service = exact.defaultService ?? defaultService;
    const target = exact.services.get(service)?.target;
    if (target) return { kind: 'route', deployment: exact, service, target, servedBy: undefined };
    return viaBases(deployments, exact, exact.defaultService ?? exact.sleep?.defaultService ?? inheritedDefault(deployments, exact, fallback) ?? defaultService, fallback);
  }
  let nearest: Deployment | undefined;
  let nearestDash = 0;
  for (let dash = label.lastIndexOf('-'); dash > 0; dash = label.lastIndexOf('-', dash - 1)) {
    const deployment = deployments.get(label.slice(0, dash));
    if (!deployment) continue;
    const service = label.slice(dash + 1);
    const target = deployment.services.get(service)?.target;
    if (target) return { kind: 'route', deployment, service, target, servedBy: undefined };
    // Not routed: a sleeping deployment's listed service counts as routable (a request wakes it).
    if (deployment.sleep !== undefined && deployment.sleep.services.includes(service)) return { kind: 'asleep', deployment, service, sleeper: deployment };
    if (!nearest) {
      nearest = deployment;
      nearestDash = dash;
    }
  }
  return nearest ? viaBases(deployments, nearest, label.slice(nearestDash + 1), fallback) : { kind: 'unknown-deployment', label };
}

/**
 * `asked`'s own routable `service`, else the first base on its chain that has
 * it. Keeps the chain in locals (at most three bases) rather than a Set, so a
 * fallback hit allocates no more than a direct one.
 */
function viaBases(deployments: ReadonlyMap<string, Deployment>, asked: Deployment, service: string, fallback: string | undefined): Resolution {
  const own = asked.services.get(service)?.target;
  if (own) return { kind: 'route', deployment: asked, service, target: own, servedBy: undefined };
  if (asked.sleep !== undefined && asked.sleep.services.includes(service)) return { kind: 'asleep', deployment: asked, service, sleeper: asked };
  let current = asked;
  let first: Deployment | undefined;
  let second: Deployment | undefined;
  for (let step = 0; step < MAX_FALLBACK_STEPS; step++) {
    const base = baseOf(deployments, current, fallback);
    if (!base || base === asked || base === first || base === second) break;
    const target = base.services.get(service)?.target;
    if (target) return { kind: 'route', deployment: asked, service, target, servedBy: base };
    // A base that is asleep wakes for the branches that fall back to it.
    if (base.sleep !== undefined && base.sleep.services.includes(service)) return { kind: 'asleep', deployment: asked, service, sleeper: base };
    if (step === 0) first = base;
    else second = base;
    current = base;
  }
  return { kind: 'unknown-service', deployment: asked, service };
}

/**
 * The deployment `d` falls back to, if it is in the table: its declared base,
 * else the proxy-wide one. A declared base that is gone ends the chain rather
 * than silently skipping to FALLBACK_DEPLOYMENT (its services may not fit).
 */
export function baseOf(deployments: ReadonlyMap<string, Deployment>, d: Deployment, fallback: string | undefined): Deployment | undefined {
  const name = d.fallback ?? fallback;
  return name === undefined || name === d.name ? undefined : deployments.get(name);
}

/** `d`'s bases in order (not `d` itself), as far as a lookup would follow them. Allocates: for views, not the request path. */
export function fallbackChain(deployments: ReadonlyMap<string, Deployment>, d: Deployment, fallback: string | undefined): Deployment[] {
  const chain: Deployment[] = [];
  for (let current = d; chain.length < MAX_FALLBACK_STEPS; ) {
    const base = baseOf(deployments, current, fallback);
    if (!base || base === d || chain.includes(base)) break;
    chain.push(base);
    current = base;
  }
  return chain;
}

/**
 * The default service a deployment that declares none inherits: the first one
 * declared along its chain. A branch that deployed only `api` then opens, at
 * `<branch>.<domain>`, what its base opens.
 */
export function inheritedDefault(deployments: ReadonlyMap<string, Deployment>, d: Deployment, fallback: string | undefined): string | undefined {
  let current = d;
  let first: Deployment | undefined;
  let second: Deployment | undefined;
  for (let step = 0; step < MAX_FALLBACK_STEPS; step++) {
    const base = baseOf(deployments, current, fallback);
    if (!base || base === d || base === first || base === second) return undefined;
    if (base.defaultService !== undefined) return base.defaultService;
    if (step === 0) first = base;
    else second = base;
    current = base;
  }
  return undefined;
}
