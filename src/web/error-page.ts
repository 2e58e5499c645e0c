import type { IncomingMessage, ServerResponse } from 'node:http';
import escapeHtml from 'escape-html';
import Negotiator from 'negotiator';

export interface Link {
  readonly label: string;
  readonly href: string;
}

/** Everything an error response says; the JSON form is this object minus `status`. */
export interface ErrorInfo {
  readonly status: number;
  /** Stable machine-readable code, e.g. `unknown-deployment`. */
  readonly error: string;
  readonly title: string;
  readonly message: string;
  readonly host?: string;
  readonly deployment?: string;
  readonly service?: string;
  readonly target?: string;
  readonly registered?: string;
  /** What exists instead (deployments, services) or where to go next. */
  readonly links?: readonly Link[];
}

const MEDIA_TYPES = ['text/html', 'application/json'];

export function wantsJson(req: IncomingMessage): boolean {
  return new Negotiator(req).mediaType(MEDIA_TYPES) === 'application/json';
}

/** Answers with the error as HTML for browsers, JSON for API clients. Never writes twice. */
export function sendError(req: IncomingMessage, res: ServerResponse, info: ErrorInfo): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const { status, ...body } = info;
  const json = wantsJson(req);
  const payload = json ? JSON.stringify(body) : renderHtml(info);
  res.writeHead(status, {
    'content-type': json ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(req.method === 'HEAD' ? undefined : payload);
}

/** For a WebSocket upgrade that cannot be served: a plain HTTP response on the raw socket. */
export function rawErrorResponse(info: ErrorInfo): string {
  const body = JSON.stringify({ error: info.error, message: info.message });
  return (
    `HTTP/1.1 ${info.status} ${info.title}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

function renderHtml(info: ErrorInfo): string {
  const facts = (
    [
      ['Host', info.host],
      ['Deployment', info.deployment],
      ['Service', info.service],
      ['Target', info.target],
      ['Registered', info.registered],
    ] as const
  )
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `<dt>${k}</dt><dd>${escapeHtml(v)}</dd>`)
    .join('');
  const links = (info.links ?? []).map((l) => `<li><a href="${escapeHtml(l.href)}">${escapeHtml(l.label)}</a></li>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${info.status} ${escapeHtml(info.title)} · branch-proxy</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;padding:2rem 1rem;color:#1f2328;background:#f6f8fa}
main{max-width:40rem;margin:auto;background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:1.5rem}
h1{font-size:1.4rem;margin:0 0 .5rem}.status{color:#cf222e}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}
dt{color:#59636e}dd{margin:0;font-family:ui-monospace,monospace;word-break:break-all}a{color:#0969da}
</style></head>
<body><main>
<h1><span class="status">${info.status}</span> ${escapeHtml(info.title)}</h1>
<p>${escapeHtml(info.message)}</p>
${facts === '' ? '' : `<dl>${facts}</dl>`}
${links === '' ? '' : `<ul>${links}</ul>`}
<p><small>branch-proxy</small></p>
</main></body></html>`;
}
