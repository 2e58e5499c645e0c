import { formatAge } from '../registration/deployment-summary.ts';
import type { Stop, StopSource } from '../registry/stop-tracker.ts';
import type { RouteTableView } from '../registry/registry-view.ts';
import type { Deployment, Resolution, Target } from '../routing/route-table.ts';
import type { ErrorInfo, Link } from './error-page.ts';
import { sortNewestFirst } from './deployments-view.ts';
import type { LinkBase } from './links.ts';
import { dashboardUrl, deploymentUrl } from './links.ts';
import { defaultServiceFirst } from './service-order.ts';
import { suggestDeployments } from './suggestions.ts';
import { inheritedServices } from '../routing/inherited-services.ts';

/** Without a close match, at most this many deployments are listed on a 404, newest first. */
const MAX_LISTED = 10;

/**
 * Before the first registry snapshot the table is empty, and a 404 would wrongly
 * say the deployment does not exist (a cluster worker still loading, etcd unreachable at start).
 */
export function notLoadedInfo(host: string, domain: string, base: LinkBase): ErrorInfo {
  return {
    status: 503,
    error: 'registry-not-loaded',
    title: 'Starting up',
    message: 'The proxy has not loaded the list of deployments from etcd yet. Retry in a moment; if this lasts, etcd is unreachable (see /readyz on the admin port).',
    host,
    dashboard: dashboardUrl(base, domain),
  };
}

export function notRoutedInfo(
  resolution: Exclude<Resolution, { kind: 'route' }>,
  host: string,
  domain: string,
  table: RouteTableView,
  base: LinkBase,
  fallbackService: string,
  more: { readonly stops?: StopSource; readonly fallbackDeployment?: string } = {},
): ErrorInfo {
  const dashboard = dashboardUrl(base, domain);
  if (resolution.kind === 'unknown-service') {
    const d = resolution.deployment;
    const links = [...serviceLinks(d, base, domain, d.defaultService ?? fallbackService), ...inheritedLinks(table, d, base, domain, more.fallbackDeployment)];
    const stop = more.stops?.stop(d.name);
    return {
      status: 404,
      error: 'unknown-service',
      title: stop ? 'Deployment stopped' : 'Service not found',
      message: stop
        ? stoppedMessage(d.name, stop)
        : links.length > 0
          ? `Deployment "${d.name}" has no running service "${resolution.service}". Its services are listed below.`
          : `Deployment "${d.name}" is registered, but none of its services has registered yet. Retry once it has started.`,
      host,
      deployment: d.name,
      ...(d.branch === undefined ? {} : { branch: d.branch }),
      service: resolution.service,
      ...(stop ? { stopped: true, ...(stop.at === undefined ? {} : { stoppedAt: new Date(stop.at).toISOString() }) } : {}),
      links,
      linksTitle: `Services of ${d.name}`,
      dashboard,
    };
  }
  if (resolution.kind === 'asleep') return asleepInfo(resolution, host, dashboard);
  const suggestions = suggestDeployments(resolution.label, table.deployments.values()).map(({ deployment: d, service }) => ({
    label: service === undefined ? d.name : `${d.name}-${service}`,
    href: deploymentUrl(base, domain, d.name, service),
    ...branchDetail(d),
  }));
  const listed =
    suggestions.length > 0
      ? []
      : sortNewestFirst(table.deployments.values())
          .slice(0, MAX_LISTED)
          .map((d) => ({ label: d.name, href: deploymentUrl(base, domain, d.name), ...branchDetail(d) }));
  return {
    status: 404,
    error: 'unknown-deployment',
    title: 'Deployment not found',
    message:
      `No deployment matches "${resolution.label}". ` +
      (suggestions.length > 0 ? 'The closest ones are below.' : table.deployments.size > 0 ? 'Check the branch name, or pick one of the live deployments.' : 'No deployments are registered right now.'),
    host,
    suggestions,
    ...(listed.length > 0 ? { links: listed, linksTitle: 'Newest deployments' } : {}),
    dashboard,
  };
}

/**
 * A service whose deployment is asleep, for requests that do not wake it (the
 * wake gate answers the others). 503, not 404: it will be back.
 */
function asleepInfo(resolution: Extract<Resolution, { kind: 'asleep' }>, host: string, dashboard: string): ErrorInfo {
  const { deployment: d, service, sleeper } = resolution;
  return {
    status: 503,
    error: 'deployment-asleep',
    title: 'Deployment asleep',
    message: `Deployment "${sleeper.name}" is asleep (${sleeper.sleep?.state ?? 'asleep'} since ${sleeper.sleep?.since ?? 'a while'}). Opening it in a browser wakes it.`,
    host,
    deployment: d.name,
    ...(d.branch === undefined ? {} : { branch: d.branch }),
    service,
    dashboard,
  };
}

/** `failure` is what proxy/upstream-error.ts classified: the page needs only its status and reason. */
export function upstreamFailureInfo(failure: { readonly status: 502 | 504; readonly reason: string }, host: string, deployment: Deployment, service: string, target: Target): ErrorInfo {
  return {
    status: failure.status,
    error: failure.status === 504 ? 'upstream-timeout' : 'upstream-unavailable',
    title: failure.status === 504 ? 'Gateway Timeout' : 'Bad Gateway',
    message: `Service "${service}" of deployment "${deployment.name}" at ${target.address}: ${failure.reason}.`,
    host,
    deployment: deployment.name,
    ...(deployment.branch === undefined ? {} : { branch: deployment.branch }),
    service,
    target: target.address,
    ...(deployment.created === undefined ? {} : { registered: deployment.created }),
    time: new Date().toISOString(),
  };
}

export function foreignHostInfo(host: string, domains: readonly string[]): ErrorInfo {
  const served = domains.map((d) => `*.${d}`).join(', ');
  return host === ''
    ? { status: 400, error: 'missing-host', title: 'Bad Request', message: `The request has no Host header. This proxy serves ${served}.` }
    : { status: 421, error: 'unknown-host', title: 'Misdirected Request', message: `This proxy serves ${served}, not "${host}".`, host };
}

/** What a visitor of a deployment whose services have all stopped can do about it. */
function stoppedMessage(name: string, stop: Stop): string {
  const when = stop.at === undefined ? 'stopped' : `stopped ${formatAge(Date.now() - stop.at)} ago`;
  return (
    `${name} is registered, but none of its services is running (${when}). ` +
    `Deploy the branch again to bring it back; if the branch is gone, remove what is left with branch-proxy deregister --deployment ${name} (or branch-proxy prune).`
  );
}

/** The deployment's routable services, its default one first, each with its backend address. */
function serviceLinks(d: Deployment, base: LinkBase, domain: string, defaultService: string): Link[] {
  return defaultServiceFirst(d.services.values(), defaultService)
    .filter((s) => s.target)
    .map((s) => ({ label: `${d.name}-${s.name}`, href: deploymentUrl(base, domain, d.name, s.name), detail: s.target!.address }));
}

/** What the deployment's bases would serve at its host names (issue #14), after its own services. */
function inheritedLinks(table: RouteTableView, d: Deployment, base: LinkBase, domain: string, fallback: string | undefined): Link[] {
  return inheritedServices(table.deployments, d, fallback).map((s) => ({
    label: `${d.name}-${s.name}`,
    href: deploymentUrl(base, domain, d.name, s.name),
    detail: `from ${s.from.name}, ${s.target.address}`,
  }));
}

function branchDetail(d: Deployment): { detail?: string } {
  return d.branch !== undefined && d.branch !== d.name ? { detail: `branch ${d.branch}` } : {};
}

export function accessDeniedInfo(verdict: { status: 401 | 403; message: string }): ErrorInfo {
  return verdict.status === 401
    ? { status: 401, error: 'login-required', title: 'Login required', message: verdict.message }
    : { status: 403, error: 'forbidden', title: 'Forbidden', message: verdict.message };
}
