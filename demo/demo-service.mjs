#!/usr/bin/env node
/**
 * A tiny, dependency-free demo backend for trying branch-proxy: it says which
 * deployment and service it is, so you can see where the proxy sent you.
 *
 *   PORT=3000 BRANCH=feature/login SERVICE=web node demo/demo-service.mjs
 *
 * Environment: PORT (default 3000), BRANCH (raw git branch, default main),
 * DEPLOYMENT (default: the branch's slug), SERVICE (default web).
 *
 * GET /          HTML for browsers, JSON when asked with Accept: application/json
 * GET /healthz   200 {"ok":true}: the health path for container health checks
 * GET /events    a server-sent event every second (shows that streams pass the proxy unbuffered)
 *
 * It uses nothing but node: the compose demo runs it from the branch-proxy image
 * itself, and the README's local demo runs it with plain `node`.
 */
import { createServer } from 'node:http';
import { hostname } from 'node:os';

const port = Number(process.env.PORT ?? 3000);
const branch = process.env.BRANCH ?? process.env.DEPLOYMENT ?? 'main';
// The deployment name is the branch's DNS-safe slug (`feature/login` -> `feature-login`);
// `branch-proxy register` shortens slugs over 40 characters, so set DEPLOYMENT for those.
const deployment = process.env.DEPLOYMENT ?? branch.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
const service = process.env.SERVICE ?? 'web';
const started = new Date().toISOString();

if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`demo-service: PORT must be 0..65535, got ${JSON.stringify(process.env.PORT)}\n`);
  process.exit(2);
}

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** What the page shows: who answered, and what the proxy told us about the request. */
function describe(req) {
  return {
    deployment,
    branch,
    service,
    container: hostname(),
    started,
    request: {
      method: req.method,
      url: req.url,
      host: req.headers.host ?? null,
      forwardedFor: req.headers['x-forwarded-for'] ?? null,
      forwardedProto: req.headers['x-forwarded-proto'] ?? null,
      forwardedHost: req.headers['x-forwarded-host'] ?? null,
    },
  };
}

/** Links to the sibling services of the same deployment, derived from the Host the browser used. */
function siblingLinks({ host, forwardedProto }) {
  // `main.dev.localhost:8080` -> `main-api.dev.localhost:8080`, keeping the port the browser used.
  const [name = '', port] = (host ?? '').split(':');
  const dot = name.indexOf('.');
  if (dot < 0) return '(open this page through the proxy to see them)';
  const domain = name.slice(dot + 1) + (port ? `:${port}` : '');
  const scheme = forwardedProto === 'https' ? 'https' : 'http';
  return ['web', 'api']
    .map((s) => `<a href="${scheme}://${escape(`${deployment}-${s}.${domain}`)}/">${escape(`${deployment}-${s}`)}</a>`)
    .join(' · ');
}

function page(info) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(`${info.deployment} · ${info.service}`)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem}
code,pre{background:#f3f3f3;padding:.1rem .3rem;border-radius:4px}pre{padding:.8rem;overflow:auto}</style></head>
<body><h1>${escape(info.service)} <small>of</small> ${escape(info.deployment)}</h1>
<p>Branch <code>${escape(info.branch)}</code>, answered by container <code>${escape(info.container)}</code>, up since ${escape(info.started)}.</p>
<p>Services of this deployment: ${siblingLinks(info.request)}</p>
<p>Live events (server-sent, through the proxy): <code id="tick">waiting…</code></p>
<pre>${escape(JSON.stringify(info.request, null, 2))}</pre>
<script>new EventSource('/events').onmessage = (e) => { document.getElementById('tick').textContent = e.data; };</script>
</body></html>
`;
}

const server = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}\n');
    return;
  }
  if (path === '/events') {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    let n = 0;
    const send = () => res.write(`data: ${deployment}/${service} tick ${++n}\n\n`);
    send();
    const timer = setInterval(send, 1000);
    req.on('close', () => clearInterval(timer));
    return;
  }
  const info = describe(req);
  if ((req.headers.accept ?? '').includes('text/html')) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page(info));
  } else {
    res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(info, null, 2)}\n`);
  }
});

server.listen(port, () => {
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  process.stdout.write(`demo-service: ${deployment}/${service} listening on port ${actual}\n`);
});

// Exit 0 on TERM/INT so a wrapping `branch-proxy register -- ...` sees a clean stop.
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
