import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { useFixture } from '../helpers/fixture.ts';
import { request } from '../helpers/http.ts';
import { startProxy } from '../helpers/proxy.ts';
import { waitFor } from '../helpers/wait.ts';

const HTML = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
const JSON_ACCEPT = { accept: 'application/json' };

interface Link {
  label: string;
  href: string;
  detail?: string;
}
interface ErrorBody {
  error: string;
  title: string;
  message: string;
  host?: string;
  deployment?: string;
  branch?: string;
  service?: string;
  target?: string;
  registered?: string;
  time?: string;
  suggestions?: Link[];
  links?: Link[];
  dashboard?: string;
}

/** Every key an error body may have: anything else would be a leak. */
const DOCUMENTED = new Set(['error', 'title', 'message', 'host', 'deployment', 'branch', 'service', 'target', 'registered', 'time', 'suggestions', 'links', 'dashboard']);

describe('error pages: HTML for browsers, JSON for clients', () => {
  const f = useFixture({
    backends: ['b'],
    routes: { 'feature-login/web': 'b', 'feature-login/api': 'b', 'feature-login/down': 1, 'main/web': 'b' },
    deployments: { 'feature-login': { created: '2026-01-02T03:04:05Z', branch: 'feature/<login>' }, main: { created: '2026-01-01T00:00:00Z' } },
    settings: { UPSTREAM_TIMEOUT_MS: '300', LOG_LEVEL: 'warn' },
  });
  const host = (label: string): string => `${label}.dev.localhost:${f.proxy.port}`;

  function assertNoLeak(body: ErrorBody): void {
    for (const key of Object.keys(body)) assert.ok(DOCUMENTED.has(key), `undocumented field ${key}`);
    assert.doesNotMatch(JSON.stringify(body), /ECONN|Error:|at \w+ \(|node:|\/work\//, 'no error codes, stacks or paths');
  }

  test('unknown deployment, typo: 404 with "did you mean" and the dashboard link (JSON)', async () => {
    const res = await f.get(host('feature-logn'), '/some/page', { headers: JSON_ACCEPT });
    assert.equal(res.status, 404);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const body = res.json<ErrorBody>();
    assertNoLeak(body);
    assert.equal(body.error, 'unknown-deployment');
    assert.equal(body.host, 'feature-logn.dev.localhost');
    assert.match(body.message, /"feature-logn"/);
    assert.deepEqual(body.suggestions?.map((s) => s.href), [`http://feature-login.dev.localhost:${f.proxy.port}`]);
    assert.equal(body.suggestions?.[0]?.detail, 'branch feature/<login>');
    assert.equal(body.dashboard, `http://dev.localhost:${f.proxy.port}/`);
  });

  test('unknown deployment with a service suffix: the suggestion keeps the service', async () => {
    const body = (await f.get(host('featur-login-api'), '/', { headers: JSON_ACCEPT })).json<ErrorBody>();
    assert.deepEqual(body.suggestions?.map((s) => s.label), ['feature-login-api']);
    assert.equal(body.suggestions?.[0]?.href, `http://feature-login-api.dev.localhost:${f.proxy.port}`);
  });

  test('unknown deployment, a prefix of existing names (renamed branch, missing suffix)', async () => {
    const body = (await f.get(host('feature'), '/', { headers: JSON_ACCEPT })).json<ErrorBody>();
    assert.deepEqual(body.suggestions?.map((s) => s.label), ['feature-login']);
  });

  test('unknown deployment, nothing alike: the newest deployments instead', async () => {
    const body = (await f.get(host('zzzzzzzzzz'), '/', { headers: JSON_ACCEPT })).json<ErrorBody>();
    assert.deepEqual(body.suggestions, []);
    assert.deepEqual(body.links?.map((l) => l.label), ['feature-login', 'main']);
  });

  test('unknown deployment as HTML: readable, escaped, links absolute in the visitor port', async () => {
    const res = await f.get(host('feature-logn'), '/', { headers: HTML });
    assert.equal(res.status, 404);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.match(res.body, /<h1><span class="status">404<\/span>Deployment not found<\/h1>/);
    assert.match(res.body, /Did you mean/);
    assert.match(res.body, new RegExp(`<a href="http://feature-login.dev.localhost:${f.proxy.port}">feature-login</a>`));
    assert.match(res.body, /branch feature\/&lt;login&gt;/, 'registry values are escaped');
    assert.match(res.body, new RegExp(`<a href="http://dev.localhost:${f.proxy.port}/">All deployments`));
    assert.match(String(res.headers['content-security-policy']), /default-src 'none'/);
  });

  test('known deployment, unknown service: 404 listing its services (HTML and JSON)', async () => {
    const json = await f.get(host('feature-login-nosuch'), '/', { headers: JSON_ACCEPT });
    assert.equal(json.status, 404);
    const body = json.json<ErrorBody>();
    assertNoLeak(body);
    assert.equal(body.error, 'unknown-service');
    assert.equal(body.deployment, 'feature-login');
    assert.equal(body.service, 'nosuch');
    assert.equal(body.branch, 'feature/<login>');
    // The default service (DEFAULT_SERVICE, as the deployment names none) first, then by name.
    assert.deepEqual(body.links?.map((l) => l.href), ['web', 'api', 'down'].map((s) => `http://feature-login-${s}.dev.localhost:${f.proxy.port}`));
    const html = await f.get(host('feature-login-nosuch'), '/', { headers: HTML });
    assert.equal(html.status, 404);
    assert.match(html.body, /Services of feature-login/);
    assert.match(html.body, new RegExp(`href="http://feature-login-web.dev.localhost:${f.proxy.port}"`));
  });

  test('502: names deployment, service, target and registration time (JSON and HTML)', async () => {
    const json = await f.get(host('feature-login-down'), '/', { headers: JSON_ACCEPT });
    assert.equal(json.status, 502);
    const body = json.json<ErrorBody>();
    assertNoLeak(body);
    assert.equal(body.error, 'upstream-unavailable');
    assert.equal(body.deployment, 'feature-login');
    assert.equal(body.service, 'down');
    assert.equal(body.target, '127.0.0.1:1');
    assert.equal(body.registered, '2026-01-02T03:04:05Z');
    assert.ok(body.time && Math.abs(Date.parse(body.time) - Date.now()) < 60_000);
    assert.match(body.message, /refused/);
    const html = await f.get(host('feature-login-down'), '/', { headers: HTML });
    assert.equal(html.status, 502);
    for (const fact of ['feature-login', 'down', '127.0.0.1:1', '2026-01-02T03:04:05Z']) assert.match(html.body, new RegExp(`<dd>${fact}</dd>`));
    assert.match(html.body, /Reporting a problem\?/);
    assert.ok(f.proxy.logs.some((l) => l.event === 'upstream-error' && l.deployment === 'feature-login' && l.service === 'down' && l.kind === 'refused'), 'one log line names what failed');
  });

  test('504: a backend slower than UPSTREAM_TIMEOUT_MS', async () => {
    const json = await f.get(host('feature-login-api'), '/slow?ms=3000', { headers: JSON_ACCEPT });
    assert.equal(json.status, 504);
    const body = json.json<ErrorBody>();
    assertNoLeak(body);
    assert.equal(body.error, 'upstream-timeout');
    assert.equal(body.target, `127.0.0.1:${f.backend('b').port}`);
    assert.equal(body.registered, '2026-01-02T03:04:05Z');
    const html = await f.get(host('feature-login-api'), '/slow?ms=3000', { headers: HTML });
    assert.equal(html.status, 504);
    assert.match(html.body, /Gateway Timeout/);
  });

  test('a WebSocket to a backend that refuses: 502 with the same error code and one log line, like HTTP', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${f.proxy.port}/socket`, { headers: { host: host('feature-login-down') } });
    const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      ws.on('error', reject);
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
    });
    assert.equal(reply.status, 502);
    const body = JSON.parse(reply.body) as ErrorBody;
    assert.equal(body.error, 'upstream-unavailable');
    assert.match(body.message, /"down" of deployment "feature-login" at 127\.0\.0\.1:1: .*refused/);
    const logged = await waitFor('the failure is logged', () => {
      const lines = f.proxy.logs.filter((l) => l.event === 'websocket-upstream-error');
      return lines.length > 0 ? lines : undefined;
    });
    assert.equal(logged.value.length, 1);
    assert.deepEqual(
      { deployment: logged.value[0]!.deployment, service: logged.value[0]!.service, target: logged.value[0]!.target, kind: logged.value[0]!.kind },
      { deployment: 'feature-login', service: 'down', target: '127.0.0.1:1', kind: 'refused' },
    );
  });

  test('HEAD gets the status without a body; an empty registry says so', async () => {
    const head = await f.get(host('nope'), '/', { method: 'HEAD', headers: HTML });
    assert.equal(head.status, 404);
    assert.equal(head.body, '');
    const empty = await startProxy(f.etcd.endpoint, { REGISTRY_PREFIX: '/empty/', LOG_LEVEL: 'warn' });
    try {
      await waitFor('ready', () => (empty.registry.ready ? true : undefined));
      const body = (await request(empty.port, 'x.dev.localhost', '/', { headers: JSON_ACCEPT })).json<ErrorBody>();
      assert.match(body.message, /No deployments are registered/);
    } finally {
      await empty.close();
    }
  });
});
