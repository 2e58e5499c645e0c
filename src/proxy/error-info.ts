import type { Deployment, Resolution, RouteTable, Target } from '../routing/route-table.ts';
import type { ErrorInfo, Link } from '../web/error-page.ts';
import { sortNewestFirst } from '../web/deployments-view.ts';
import type { LinkBase } from '../web/links.ts';
import { dashboardUrl, deploymentUrl } from '../web/links.ts';
import { suggestDeployments } from '../web/suggestions.ts';
import { inheritedServices } from '../routing/inherited-services.ts';
import type { UpstreamFailure } from './upstream-error.ts';

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
  table: RouteTable,
  base: LinkBase,
  fallbackService: string,
  fallbackDeployment?: string,
): ErrorInfo {
  const dashboard = dashboardUrl(base, domain);
  if (resolution.kind === 'unknown-service') {
    const d = resolution.deployment;
    return {
      status: 404,
      error: 'unknown-service',
      title: 'Service not found',
      message: `Deployment "${d.name}" has no running service "${resolution.service}". Its services are listed below.`,
      host,
      deployment: d.name,
      ...(d.branch === undefined ? {} : { branch: d.branch }),
      service: resolution.service,
      links: [...serviceLinks(d, base, domain, d.defaultService ?? fallbackService), ...inheritedLinks(table, d, base, domain, fallbackDeployment)],
      linksTitle: `Services of ${d.name}`,
      dashboard,
    };
  }
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

export function upstreamFailureInfo(failure: UpstreamFailure, host: string, deployment: Deployment, service: string, target: Target): ErrorInfo {
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

/** The deployment's routable services, its default one first, each with its backend address. */
function serviceLinks(d: Deployment, base: LinkBase, domain: string, defaultService: string): Link[] {
  return [...d.services.values()]
    .filter((s) => s.target)
    .sort((a, b) => Number(b.name === defaultService) - Number(a.name === defaultService) || a.name.localeCompare(b.name))
    .map((s) => ({ label: `${d.name}-${s.name}`, href: deploymentUrl(base, domain, d.name, s.name), detail: s.target!.address }));
}

/** What the deployment's bases would serve at its host names (issue #14), after its own services. */
function inheritedLinks(table: RouteTable, d: Deployment, base: LinkBase, domain: string, fallback: string | undefined): Link[] {
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
