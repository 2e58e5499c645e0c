import type { Deployment, Resolution, RouteTable, Target } from '../routing/route-table.ts';
import type { ErrorInfo, Link } from '../web/error-page.ts';
import type { LinkBase } from '../web/links.ts';
import { dashboardUrl, deploymentUrl } from '../web/links.ts';
import type { UpstreamFailure } from './upstream-error.ts';

/** At most this many deployments are listed on a 404, newest first. */
const MAX_LISTED = 50;

export function notRoutedInfo(resolution: Exclude<Resolution, { kind: 'route' }>, host: string, domain: string, table: RouteTable, base: LinkBase): ErrorInfo {
  const dashboard: Link = { label: `All deployments (${domain})`, href: dashboardUrl(base, domain) };
  if (resolution.kind === 'unknown-service') {
    const d = resolution.deployment;
    return {
      status: 404,
      error: 'unknown-service',
      title: 'Service not found',
      message: `Deployment "${d.name}" has no running service "${resolution.service}". Its services are listed below.`,
      host,
      deployment: d.name,
      service: resolution.service,
      links: [...serviceLinks(d, base, domain), dashboard],
    };
  }
  const listed = [...table.deployments.values()]
    .sort((a, b) => (b.created ?? '').localeCompare(a.created ?? ''))
    .slice(0, MAX_LISTED)
    .map((d) => ({ label: d.branch && d.branch !== d.name ? `${d.name} (${d.branch})` : d.name, href: deploymentUrl(base, domain, d.name) }));
  return {
    status: 404,
    error: 'unknown-deployment',
    title: 'Deployment not found',
    message: `No deployment matches "${resolution.label}". Check the branch name, or pick one of the live deployments below.`,
    host,
    links: [...listed, dashboard],
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
    service,
    target: target.address,
    ...(deployment.created === undefined ? {} : { registered: deployment.created }),
  };
}

export function foreignHostInfo(host: string, domains: readonly string[]): ErrorInfo {
  const served = domains.map((d) => `*.${d}`).join(', ');
  return host === ''
    ? { status: 400, error: 'missing-host', title: 'Bad Request', message: `The request has no Host header. This proxy serves ${served}.` }
    : { status: 421, error: 'unknown-host', title: 'Misdirected Request', message: `This proxy serves ${served}, not "${host}".`, host };
}

function serviceLinks(d: Deployment, base: LinkBase, domain: string): Link[] {
  return [...d.services.values()]
    .filter((s) => s.target)
    .map((s) => ({ label: `${d.name}-${s.name}`, href: deploymentUrl(base, domain, d.name, s.name) }));
}
