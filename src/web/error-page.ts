import type { IncomingMessage, ServerResponse } from 'node:http';
import escapeHtml from 'escape-html';
import Negotiator from 'negotiator';

export interface Link {
  readonly label: string;
  readonly href: string;
  /** A second line under the label, e.g. the branch or the backend address. */
  readonly detail?: string;
}

/**
 * Everything an error response says; the JSON form is this object minus
 * `status`. SECURITY: only what the request asked for and registry data
 * (names, branches, targets, registration times) goes in here: never an error
 * message, stack or header from a backend.
 */
export interface ErrorInfo {
  readonly status: number;
  /** Stable machine-readable code, e.g. `unknown-deployment`. */
  readonly error: string;
  readonly title: string;
  readonly message: string;
  readonly host?: string;
  readonly deployment?: string;
  readonly branch?: string;
  readonly service?: string;
  readonly target?: string;
  /** When the deployment was registered (its `created` key). */
  readonly registered?: string;
  /** Registered, but none of its services is running any more. */
  readonly stopped?: true;
  /** When this proxy saw its last service go (ISO-8601); absent when that happened before the proxy loaded the registry. */
  readonly stoppedAt?: string;
  /** When the proxy answered with this error (ISO-8601), for bug reports. */
  readonly time?: string;
  /** "Did you mean": the closest deployments to what was asked. */
  readonly suggestions?: readonly Link[];
  /** Where to go instead: the deployment's services, live deployments, the dashboard. */
  readonly links?: readonly Link[];
  /** Heading of `links` on the HTML page. */
  readonly linksTitle?: string;
  /** The dashboard at the bare base domain. */
  readonly dashboard?: string;
}

const MEDIA_TYPES = ['text/html', 'application/json'];

export function wantsJson(req: { readonly headers: IncomingMessage['headers'] }): boolean {
  return new Negotiator(req).mediaType(MEDIA_TYPES) === 'application/json';
}

/** What an error response consists of: its status, headers and body, the same whichever server path writes it. */
export interface ErrorResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | number>>;
  /** Empty for HEAD. */
  readonly body: string;
}

/** The error as HTML for browsers, JSON for API clients (by `Accept`). */
export function errorResponse(info: ErrorInfo, json: boolean, method: string | undefined, extraHeaders?: Readonly<Record<string, string>>): ErrorResponse {
  const { status, linksTitle: _heading, ...body } = info;
  const payload = json ? JSON.stringify(body) : renderErrorHtml(info);
  return {
    status,
    headers: {
      'content-type': json ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(payload),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      // The page has no script and needs nothing from elsewhere.
      ...(json ? {} : { 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'" }),
      ...extraHeaders,
    },
    body: method === 'HEAD' ? '' : payload,
  };
}

/** Answers with the error as HTML for browsers, JSON for API clients. Never writes twice. */
export function sendError(req: IncomingMessage, res: ServerResponse, info: ErrorInfo, extraHeaders?: Readonly<Record<string, string>>): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const response = errorResponse(info, wantsJson(req), req.method, extraHeaders);
  res.writeHead(response.status, response.headers);
  res.end(response.body === '' ? undefined : response.body);
}

/** For a WebSocket upgrade that cannot be served: a plain HTTP response on the raw socket. */
export function rawErrorResponse(info: ErrorInfo): string {
  const body = JSON.stringify({ error: info.error, message: info.message });
  return (
    `HTTP/1.1 ${info.status} ${info.title}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

function linkList(links: readonly Link[]): string {
  return links
    .map((l) => `<li><a href="${escapeHtml(l.href)}">${escapeHtml(l.label)}</a>${l.detail ? `<small>${escapeHtml(l.detail)}</small>` : ''}</li>`)
    .join('');
}

/** A self-contained page (inline style, no script), readable on a phone. */
export function renderErrorHtml(info: ErrorInfo): string {
  const facts = (
    [
      ['Host', info.host],
      ['Deployment', info.deployment],
      ['Branch', info.branch],
      ['Service', info.service],
      ['Target', info.target],
      ['Registered', info.registered],
      ['Stopped', info.stoppedAt],
      ['Time', info.time],
    ] as const
  )
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `<dt>${k}</dt><dd>${escapeHtml(v)}</dd>`)
    .join('');
  const suggestions = info.suggestions?.length ? `<h2>Did you mean</h2><ul class="links">${linkList(info.suggestions)}</ul>` : '';
  const links = info.links?.length ? `<h2>${escapeHtml(info.linksTitle ?? 'See also')}</h2><ul class="links">${linkList(info.links)}</ul>` : '';
  const dashboard = info.dashboard ? `<p class="all"><a href="${escapeHtml(info.dashboard)}">All deployments →</a></p>` : '';
  const report = facts === '' ? '' : `<dl>${facts}</dl>${info.status >= 500 ? '<p class="hint">Reporting a problem? Copy the lines above into the report: they name exactly what failed.</p>' : ''}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${info.status} ${escapeHtml(info.title)} · branch-proxy</title>
<style>
:root{color-scheme:light dark;--fg:#1f2328;--muted:#59636e;--bg:#f6f8fa;--card:#fff;--line:#d0d7de;--link:#0969da;--bad:#cf222e}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9198a1;--bg:#0d1117;--card:#151b23;--line:#3d444d;--link:#4493f8;--bad:#f85149}}
*{box-sizing:border-box}body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;padding:2rem 1rem;color:var(--fg);background:var(--bg)}
main{max-width:42rem;margin:auto;background:var(--card);border:1px solid var(--line);border-radius:12px;padding:1.5rem}
h1{font-size:1.4rem;margin:0 0 .5rem}h2{font-size:1rem;margin:1.5rem 0 .5rem}.status{color:var(--bad);margin-right:.4rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:1rem 0;padding:.75rem 1rem;background:var(--bg);border-radius:8px}
dt{color:var(--muted)}dd{margin:0;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9rem;word-break:break-all}
a{color:var(--link)}.links{list-style:none;padding:0;margin:0}.links li{padding:.45rem 0;border-top:1px solid var(--line)}
.links a{font-weight:600;word-break:break-all}.links small{display:block;color:var(--muted);word-break:break-all}
.hint,footer{color:var(--muted);font-size:.875rem}.all{margin-top:1.5rem}footer{margin-top:1.5rem}
</style></head>
<body><main>
<h1><span class="status">${info.status}</span>${escapeHtml(info.title)}</h1>
<p>${escapeHtml(info.message)}</p>
${report}${suggestions}${links}${dashboard}
<footer>branch-proxy</footer>
</main></body></html>`;
}
