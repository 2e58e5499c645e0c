import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { WebSocket } from 'ws';
import { mintShareToken, shareKey } from '../../src/access/share-token.ts';
import { deploymentKey, serviceKey } from '../../src/registry/keys.ts';
import type { Backend } from '../helpers/backend.ts';
import { startBackend } from '../helpers/backend.ts';
import type { CliProcess } from '../helpers/cli-process.ts';
import { spawnCli } from '../helpers/cli-process.ts';
import type { EtcdServer } from '../helpers/etcd.ts';
import { startEtcd } from '../helpers/etcd.ts';
import { request } from '../helpers/http.ts';
import type { TestProxy } from '../helpers/proxy.ts';
import { startProxy } from '../helpers/proxy.ts';
import { PREFIX as P, register } from '../helpers/registry.ts';
import { waitFor } from '../helpers/wait.ts';

const JSON_ACCEPT = { accept: 'application/json' };
const backendOf = async (proxy: TestProxy, host: string, path = '/echo'): Promise<string | undefined> => {
  const r = await request(proxy.port, host, path);
  return r.status === 200 ? r.json<{ backend: string }>().backend : undefined;
};

describe('partial deployments: a branch without a service falls back to a base (issue #14)', () => {
  let etcd: EtcdServer;
  let proxy: TestProxy;
  let mainWeb: Backend;
  let mainApi: Backend;
  let releaseApi: Backend;
  let branchWeb: Backend;
  let branchApi: Backend;
  const running: CliProcess[] = [];

  before(async () => {
    etcd = await startEtcd();
    [mainWeb, mainApi, releaseApi, branchWeb, branchApi] = (await Promise.all(['main-web', 'main-api', 'release-api', 'branch-web', 'branch-api'].map((n) => startBackend(n)))) as [Backend, Backend, Backend, Backend, Backend];
    await register(etcd.client, 'main', 'web', mainWeb.port);
    await register(etcd.client, 'main', 'api', mainApi.port);
    await register(etcd.client, 'feature-x', 'web', branchWeb.port);
    proxy = await startProxy(etcd.endpoint, { FALLBACK_DEPLOYMENT: 'main' });
    await waitFor('snapshot', () => (proxy.registry.ready ? true : undefined));
  });
  after(async () => {
    for (const p of running) p.kill('SIGKILL');
    await proxy?.close();
    await Promise.all([mainWeb, mainApi, releaseApi, branchWeb, branchApi].map((b) => b?.close()));
    await etcd?.destroy();
  });

  test("the branch's missing service is main's, and the response, log and metrics say so", async () => {
    const reply = await request(proxy.port, 'feature-x-api.dev.localhost', '/echo');
    assert.equal(reply.status, 200);
    assert.equal(reply.json().backend, 'main-api');
    assert.equal(reply.headers['x-branch-proxy-fallback'], 'main');
    const own = await request(proxy.port, 'feature-x-web.dev.localhost', '/echo');
    assert.equal(own.json().backend, 'branch-web');
    assert.equal(own.headers['x-branch-proxy-fallback'], undefined, 'its own service is not a fallback');
    const line = await waitFor('access log line', () => proxy.logs.find((l) => l.msg === 'request' && l.host === 'feature-x-api.dev.localhost'));
    assert.equal(line.value.deployment, 'feature-x', 'counted under the deployment asked for');
    assert.equal(line.value.service, 'api');
    assert.equal(line.value.fallback, 'main');
    assert.equal(line.value.target, `127.0.0.1:${mainApi.port}`);
    assert.equal(proxy.logs.find((l) => l.msg === 'request' && l.host === 'feature-x-web.dev.localhost')?.fallback, undefined);
    const metrics = await (await fetch(`http://127.0.0.1:${proxy.adminPort}/metrics`)).text();
    assert.match(metrics, /^branch_proxy_requests_total\{deployment="feature-x",service="api",code="200",fallback="main"\} 1$/m);
    assert.match(metrics, /^branch_proxy_requests_total\{deployment="feature-x",service="web",code="200",fallback=""\} 1$/m);
  });

  test('the bare branch host falls back too; a typo is still a 404, never main', async () => {
    await register(etcd.client, 'only-api', 'api', branchApi.port);
    await waitFor('only-api routed', () => (proxy.registry.table.deployments.has('only-api') ? true : undefined));
    const bare = await request(proxy.port, 'only-api.dev.localhost', '/echo');
    assert.equal(bare.json().backend, 'main-web');
    assert.equal(bare.headers['x-branch-proxy-fallback'], 'main');
    const typo = await request(proxy.port, 'featur-x-api.dev.localhost', '/', { headers: JSON_ACCEPT });
    assert.equal(typo.status, 404);
    assert.equal(typo.json().error, 'unknown-deployment');
    assert.equal(typo.headers['x-branch-proxy-fallback'], undefined);
    await etcd.client.delete().prefix(`${P}only-api/`);
  });

  test("the API lists inherited services next to the deployment's own", async () => {
    const res = await request(proxy.port, 'dev.localhost', '/api/deployments', { headers: JSON_ACCEPT });
    const body = res.json<{ deployments: { name: string; services: { name: string }[]; inherited?: { name: string; from: string; url: string; target: string }[] }[] }>();
    const branch = body.deployments.find((d) => d.name === 'feature-x')!;
    assert.deepEqual(branch.services.map((s) => s.name), ['web']);
    assert.deepEqual(branch.inherited, [{ name: 'api', from: 'main', url: `http://feature-x-api.dev.localhost`, target: `127.0.0.1:${mainApi.port}` }]);
    assert.equal(body.deployments.find((d) => d.name === 'main')!.inherited, undefined, 'main inherits nothing');
  });

  test('the 404 for a service nobody has lists its own services and what main would serve', async () => {
    const res = await request(proxy.port, 'feature-x-nosuch.dev.localhost', '/', { headers: JSON_ACCEPT });
    assert.equal(res.status, 404);
    const body = res.json<{ error: string; deployment: string; links: { label: string; detail?: string }[] }>();
    assert.equal(body.error, 'unknown-service');
    assert.equal(body.deployment, 'feature-x');
    assert.deepEqual(body.links.map((l) => `${l.label} (${l.detail})`), [`feature-x-web (127.0.0.1:${branchWeb.port})`, `feature-x-api (from main, 127.0.0.1:${mainApi.port})`]);
  });

  test('WebSockets and streamed responses work through the fallback', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/`, { headers: { host: 'feature-x-api.dev.localhost' } });
    const hello = await new Promise<string>((resolve, reject) => {
      ws.once('message', (d) => resolve(String(d)));
      ws.once('error', reject);
    });
    ws.close();
    assert.match(hello, /^hello from main-api feature-x-api\.dev\.localhost/);
    const opened = proxy.logs.find((l) => l.event === 'websocket-opened' && l.deployment === 'feature-x');
    assert.equal(opened?.fallback, 'main');
    const sse = await request(proxy.port, 'feature-x-api.dev.localhost', '/sse');
    assert.equal(sse.status, 200);
    assert.equal(sse.headers['x-branch-proxy-fallback'], 'main');
    assert.equal((sse.body.match(/^data:/gm) ?? []).length, 3, 'all three events arrive');
  });

  test('registering the service switches to the branch within milliseconds and back after, with no failed request on a keep-alive connection', async (t) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const seen: string[] = [];
    const failures: string[] = [];
    const sockets = new Set<unknown>();
    let stop = false;
    const one = (): Promise<void> =>
      new Promise((resolve) => {
        const req = httpRequest({ port: proxy.port, host: '127.0.0.1', path: '/echo', headers: { host: 'feature-x-api.dev.localhost' }, agent }, (res) => {
          sockets.add(res.socket);
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => {
            if (res.statusCode === 200) {
              const backend = (JSON.parse(body) as { backend: string }).backend;
              if (seen.at(-1) !== backend) seen.push(backend);
            } else failures.push(`status ${res.statusCode}`);
            resolve();
          });
        });
        req.on('error', (err) => {
          failures.push(err.message);
          resolve();
        });
        req.end();
      });
    const load = (async () => {
      while (!stop) await one();
    })();
    const backendIs = (name: string) => async () => ((await backendOf(proxy, 'feature-x-api.dev.localhost')) === name ? true : undefined);
    await waitFor('load running', () => (seen.length > 0 ? true : undefined));
    await register(etcd.client, 'feature-x', 'api', branchApi.port);
    const on = await waitFor('switch to the branch api', backendIs('branch-api'));
    await etcd.client.delete().key(serviceKey(P, 'feature-x', 'api', 'port'));
    await etcd.client.delete().key(serviceKey(P, 'feature-x', 'api', 'ip'));
    const off = await waitFor('switch back to main', backendIs('main-api'));
    await waitFor('load saw main again', () => (seen.at(-1) === 'main-api' && seen.includes('branch-api') ? true : undefined));
    stop = true;
    await load;
    agent.destroy();
    t.diagnostic(`register -> branch api after ${on.ms.toFixed(1)} ms, deregister -> main after ${off.ms.toFixed(1)} ms (polling)`);
    assert.deepEqual(failures, []);
    assert.deepEqual(seen, ['main-api', 'branch-api', 'main-api']);
    assert.equal(sockets.size, 1, 'one keep-alive connection throughout');
  });

  test('register --fallback <branch> writes the slugged base, which wins over FALLBACK_DEPLOYMENT', async () => {
    await register(etcd.client, 'release-2-4', 'api', releaseApi.port);
    const p = spawnCli(['register', '--ip', '127.0.0.1', '--ttl', '5', '--branch', 'feature/r', '--fallback', 'release/2.4', '--service', 'web', '--port', String(branchWeb.port)], {
      ETCD_ENDPOINTS: etcd.endpoint,
    });
    running.push(p);
    await p.waitForEvent('registered');
    assert.equal(await etcd.client.get(deploymentKey(P, 'feature-r', 'fallback')).string(), 'release-2-4');
    await waitFor('feature-r-api from release-2-4', async () => ((await backendOf(proxy, 'feature-r-api.dev.localhost')) === 'release-api' ? true : undefined));
    assert.equal((await request(proxy.port, 'feature-r-api.dev.localhost', '/echo')).headers['x-branch-proxy-fallback'], 'release-2-4');
    p.kill('SIGTERM');
    assert.equal(await p.waitExit(), 0);
  });

  test('register --fallback naming the deployment itself is refused', async () => {
    const p = spawnCli(['register', '--ip', '127.0.0.1', '--deployment', 'selfish', '--fallback', 'selfish', '--service', 'web', '--port', '4999'], { ETCD_ENDPOINTS: etcd.endpoint });
    running.push(p);
    assert.equal(await p.waitExit(), 2);
    assert.match(p.output(), /--fallback "selfish" names this deployment itself/);
  });

  test('scripts/register.sh FALLBACK writes the slugged base', async () => {
    const child = spawn('sh', ['scripts/register.sh'], {
      env: { PATH: process.env.PATH ?? '', ETCD_ENDPOINTS: etcd.endpoint, DEPLOYMENT: 'shell-x', SERVICE: 'web', PORT: String(branchWeb.port), IP: '127.0.0.1', FALLBACK: 'Release/2.4' },
      stdio: 'ignore',
    });
    try {
      await waitFor('fallback key', async () => ((await etcd.client.get(deploymentKey(P, 'shell-x', 'fallback')).string()) === 'release-2-4' ? true : undefined));
      await waitFor('shell-x-api from release-2-4', async () => ((await backendOf(proxy, 'shell-x-api.dev.localhost')) === 'release-api' ? true : undefined));
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('the access gate checks the deployment asked for, not the base that serves it', () => {
  const SECRET = 'share-secret-0123456789abcdef0123456789';
  let etcd: EtcdServer;
  let proxy: TestProxy;
  let mainApi: Backend;

  before(async () => {
    etcd = await startEtcd();
    mainApi = await startBackend('main-api');
    await register(etcd.client, 'main', 'api', mainApi.port);
    await etcd.client.put(deploymentKey(P, 'feature-x', 'created')).value('2026-01-01T00:00:00Z');
    proxy = await startProxy(etcd.endpoint, { FALLBACK_DEPLOYMENT: 'main', SHARE_SECRET: SECRET, LOG_LEVEL: 'warn' });
    await waitFor('snapshot', () => (proxy.registry.table.deployments.has('feature-x') ? true : undefined));
  });
  after(async () => {
    await proxy?.close();
    await mainApi?.close();
    await etcd?.destroy();
  });

  test("a share link for feature-x opens feature-x-api (served by main) but not main-api", async () => {
    const token = await mintShareToken(shareKey(SECRET), 'feature-x', new Date(Date.now() + 3600_000));
    const opened = await request(proxy.port, 'feature-x-api.dev.localhost', `/echo?bp_share=${token}`);
    assert.equal(opened.status, 302);
    const cookie = String(opened.headers['set-cookie']).split(';')[0]!;
    assert.match(cookie, /^bp_share_feature-x=/);
    const served = await request(proxy.port, 'feature-x-api.dev.localhost', '/echo', { headers: { cookie } });
    assert.equal(served.status, 200);
    assert.equal(served.json().backend, 'main-api');
    assert.equal(served.headers['x-branch-proxy-fallback'], 'main');
    assert.equal((await request(proxy.port, 'main-api.dev.localhost', '/echo', { headers: { cookie } })).status, 403, "main's own host stays closed");
    assert.equal((await request(proxy.port, 'main-api.dev.localhost', `/echo?bp_share=${token}`)).status, 403, "the link does not open main's host either");
  });
});
