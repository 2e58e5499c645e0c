import { parseIsoTime } from '../registry/iso-time.ts';
import type { RouteTableView } from '../registry/registry-view.ts';
import type { Deployment, Target } from '../routing/route-table.ts';
import type { StopSource } from '../registry/stop-tracker.ts';
import type { InheritedService } from '../routing/inherited-services.ts';
import type { LinkBase } from './links.ts';
import { deploymentUrl } from './links.ts';
import { defaultServiceFirst } from './service-order.ts';
import type { DeploymentState } from '../sleep/deployment-state.ts';
import { deploymentState } from '../sleep/deployment-state.ts';

/** Whether a target accepted a TCP connection the last time it was probed. */
export interface Reachability {
  /** null until the first probe has finished. */
  readonly reachable: boolean | null;
  readonly checkedAt: number | undefined;
  /** Why it was not reachable (refused, no such host, an address the backend policy denies…). */
  readonly reason?: string | undefined;
}

/** What the views show beyond the route table; each part is optional. */
export interface ViewSources {
  /** Service opened by `<deployment>.<domain>` when the deployment names none. */
  readonly defaultService: string;
  readonly activity?: {
    lastVisited(d: Deployment): number | undefined;
    serviceLastVisited(deployment: string, service: string): number | undefined;
  };
  readonly reachability?: { status(target: Target): Reachability };
  /** Deployments whose services have all stopped. */
  readonly stops?: StopSource;
  /** What a deployment's bases serve at its host names (issue #14; see routing/inherited-services.ts). */
  readonly inherited?: (d: Deployment) => readonly InheritedService[];
}

/** A service a deployment does not run itself, served at its host name by a base. */
export interface InheritedServiceView {
  name: string;
  /** The base deployment that serves it. */
  from: string;
  /** `<deployment>-<service>.<domain>`: the deployment's own host name for it. */
  url: string;
  /** `host:port` of the base's backend. */
  target: string;
}

export interface ServiceView {
  name: string;
  /** `<deployment>-<service>.<domain>`, in the visitor's scheme and port. */
  url: string;
  /** True for the service that `<deployment>.<domain>` opens. */
  default: boolean;
  /** `host:port` of the backend, or null while the registration is incomplete. */
  target: string | null;
  /** Has both ip and port, so the proxy forwards to it. */
  routable: boolean;
  /** Accepted a TCP connection at the last probe; null when not probed yet (or not routable). */
  reachable: boolean | null;
  /** When that probe finished (ISO-8601). */
  checkedAt: string | null;
  /** Why that probe failed; null when it succeeded or has not run. */
  unreachableReason: string | null;
  /** Last request this proxy forwarded to the service since it started (ISO-8601). */
  lastVisited: string | null;
}

/** The last wake of a deployment: its duration (null when it failed), when it ended, and why it failed. */
export interface LastWakeView {
  ms: number | null;
  at: string;
  error: string | null;
}

/** The stable JSON shape of a deployment, shared by the API, the live feed and the dashboard. */
export interface DeploymentView {
  name: string;
  /** Raw git branch, as registered. */
  branch: string | null;
  /** Registration time (ISO-8601), as registered. */
  created: string | null;
  defaultService: string;
  /** `<deployment>.<domain>`: opens the default service. */
  url: string;
  /** Last request to any service, by any proxy replica (ISO-8601). */
  lastVisited: string | null;
  /** Registered, but none of its services is running any more (its `created`/`branch` keys outlive them). */
  stopped: boolean;
  /** When this proxy saw its last service go (ISO-8601); null while running, or when it had stopped before the proxy started. */
  stoppedAt: string | null;
  /** `awake`, or while its sleep record exists: `sleeping` (sleep step running), `asleep`, `waking`. */
  state: DeploymentState;
  /** When it entered that state (ISO-8601); null while awake. */
  stateSince: string | null;
  /** The last wake: the record's while there is one (it carries a failure), else the last completed one; null when never woken. */
  lastWake: LastWakeView | null;
  /**
   * Default service first, then by name. While not awake, the services its
   * sleep record lists are here too (not routable: opening one wakes it).
   */
  services: ServiceView[];
  /** Present only when the deployment inherits services through a fallback; by name. */
  inherited?: InheritedServiceView[];
}

export function viewDeployment(d: Deployment, sources: ViewSources, base: LinkBase, domain: string): DeploymentView {
  const defaultService = d.defaultService ?? d.sleep?.defaultService ?? sources.defaultService;
  // Its services went because it sleeps, not because it stopped.
  const stop = d.sleep ? undefined : sources.stops?.stop(d.name);
  const lastWake = d.sleep?.lastWake ?? d.lastWake;
  const view: DeploymentView = {
    name: d.name,
    branch: d.branch ?? null,
    created: d.created ?? null,
    defaultService,
    url: deploymentUrl(base, domain, d.name),
    lastVisited: iso(sources.activity?.lastVisited(d)),
    stopped: stop !== undefined,
    stoppedAt: iso(stop?.at),
    state: deploymentState(d),
    stateSince: d.sleep?.since ?? null,
    lastWake: lastWake ? { ms: lastWake.ms ?? null, at: lastWake.at, error: ('error' in lastWake ? lastWake.error : undefined) ?? null } : null,
    services: defaultServiceFirst([...d.services.values(), ...sleepingServices(d)], defaultService)
      .map((s) => {
        const probe = s.target ? sources.reachability?.status(s.target) : undefined;
        return {
          name: s.name,
          url: deploymentUrl(base, domain, d.name, s.name),
          default: s.name === defaultService,
          target: s.target?.address ?? null,
          routable: s.target !== undefined,
          reachable: probe?.reachable ?? null,
          checkedAt: iso(probe?.checkedAt),
          unreachableReason: probe?.reachable === false ? (probe.reason ?? null) : null,
          lastVisited: iso(sources.activity?.serviceLastVisited(d.name, s.name)),
        };
      }),
  };
  const inherited = sources.inherited?.(d) ?? [];
  if (inherited.length > 0) {
    view.inherited = inherited.map((s) => ({ name: s.name, from: s.from.name, url: deploymentUrl(base, domain, d.name, s.name), target: s.target.address }));
  }
  return view;
}

/** Newest first (by created time; deployments without one last), then by name. */
export function sortNewestFirst(deployments: Iterable<Deployment>): Deployment[] {
  const keyed = [...deployments].map((d) => ({ d, t: parseIsoTime(d.created) ?? -Infinity }));
  return keyed.sort((a, b) => b.t - a.t || (a.d.name < b.d.name ? -1 : a.d.name > b.d.name ? 1 : 0)).map((k) => k.d);
}

export function viewDeployments(table: RouteTableView, sources: ViewSources, base: LinkBase, domain: string): DeploymentView[] {
  return sortNewestFirst(table.deployments.values()).map((d) => viewDeployment(d, sources, base, domain));
}

/** The services a sleep record lists that have no keys while the deployment sleeps. */
function sleepingServices(d: Deployment): { name: string; target?: undefined }[] {
  return (d.sleep?.services ?? []).filter((name) => !d.services.has(name)).map((name) => ({ name }));
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}
