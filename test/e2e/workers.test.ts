import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import type { Backend } from '../helpers/backend.ts';
import { startBackend } from '../helpers/backend.ts';
import type { CliProcess } from '../helpers/cli-process.ts';
import { runCli, spawnCli } from '../helpers/cli-process.ts';
import type { EtcdServer } from '../helpers/etcd.ts';
import { startEtcd } from '../helpers/etcd.ts';
import { request } from '../helpers/http.ts';
import { freePort } from '../helpers/ports.ts';
import { register } from '../helpers/registry.ts';
import { waitFor } from '../helpers/wait.ts';

const HOST = 'main.dev.localhost';

/** `serve` with WORKERS=2: a primary on the admin port, two workers sharing the proxy port. */
describe('serve --workers 2', () => {
  let etcd: EtcdServer;
  let backend: Backend;
  let proxy: CliProcess;
  let port: number;
  let adminPort: number;
  const admin = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${adminPort}${path}`);
    return { status: res.status, body: await res.text() };
  };
  const workerPids = () => proxy.logs.filter((l) => l.msg === 'worker listening').map((l) => l.workerPid as number);

  before(async () => {
    etcd = await startEtcd();
    backend = await startBackend('slow');
    [port, adminPort] = [await freePort(), await freePort()];
    proxy = spawnCli(['serve', '--workers', '2'], { ETCD_ENDPOINTS: etcd.endpoint, PORT: String(port), ADMIN_PORT: String(adminPort), HOST: '127.0.0.1', PROBE_INTERVAL_MS: '500' });
    await proxy.waitForLog('branch-proxy started', 30_000);
    await waitFor('ready with both workers', async () => ((await admin('/readyz')).status === 200 ? true : undefined), 20_000);
  });
  after(async () => {
    proxy.kill('SIGKILL');
    await backend.close();
    await etcd.destroy();
  });

  test('/readyz counts the workers; a route registered after start is served by both', async () => {
    assert.deepEqual(JSON.parse((await admin('/readyz')).body).workers, { ready: 2, total: 2 });
    assert.equal(workerPids().length, 2);
    await register(etcd.client, 'main', 'web', backend.port);
    await waitFor('routed', async () => ((await request(port, HOST, '/echo')).status === 200 ? true : undefined));
    const before = proxy.logs.length;
    // A new connection per request: the cluster hands connections to the workers in turn.
    const replies = await Promise.all(Array.from({ length: 20 }, () => request(port, HOST, '/echo')));
    assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([200]));
    await waitFor('access log lines', () => (proxy.logs.slice(before).filter((l) => l.msg === 'request').length >= 20 ? true : undefined));
    const servedBy = new Set(proxy.logs.slice(before).filter((l) => l.msg === 'request' && l.deployment === 'main').map((l) => l.worker));
    assert.deepEqual([...servedBy].sort(), [1, 2], 'both workers proxied requests and log their id');
  });

  test('/metrics on the admin port sums requests over the workers; the route count is not doubled', async () => {
    const count = () => admin('/metrics').then((m) => Number(/^branch_proxy_requests_total\{deployment="main",service="web",code="200"\} (\d+)$/m.exec(m.body)?.[1] ?? 0));
    const start = await count();
    await Promise.all(Array.from({ length: 10 }, () => request(port, HOST, '/echo')));
    assert.equal(await count(), start + 10);
    const body = (await admin('/metrics')).body;
    assert.match(body, /^branch_proxy_routes 1$/m);
    assert.match(body, /^branch_proxy_registry_connected 1$/m);
  });

  test("the primary's probe results reach each worker's dashboard", async () => {
    await waitFor('reachable on the dashboard of every worker', async () => {
      const views = await Promise.all(Array.from({ length: 6 }, () => request(port, 'dev.localhost', '/api/deployments/main')));
      return views.every((v) => v.status === 200 && v.json<{ services: { reachable: boolean | null }[] }>().services[0]?.reachable === true) ? true : undefined;
    });
  });

  test('a worker that dies is replaced; the other serves meanwhile', async () => {
    const [victim] = workerPids();
    process.kill(victim!, 'SIGKILL');
    // Node's cluster hands each new connection to a worker over IPC; one handed over in the
    // instant between the kill and the primary seeing the exit is lost (see docs), so wait for it.
    await proxy.waitForLog('worker died; starting a replacement', 5000, { workerPid: victim });
    const replies = await Promise.all(Array.from({ length: 20 }, () => request(port, HOST, '/echo')));
    assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([200]));
    await waitFor('a replacement listens', () => (workerPids().length === 3 ? true : undefined), 20_000);
    await waitFor('ready again', async () => ((await admin('/readyz')).status === 200 ? true : undefined), 20_000);
  });

  test('SIGTERM drains every worker, then the primary exits 0', async () => {
    const inFlight = request(port, HOST, '/slow?ms=800');
    await new Promise((r) => setTimeout(r, 200));
    proxy.kill('SIGTERM');
    const reply = await inFlight;
    assert.equal(reply.status, 200);
    assert.equal(await proxy.waitExit(15_000), 0, proxy.output());
    const alive = workerPids().filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    assert.deepEqual(alive, [], 'no worker outlives the primary');
  });
});

describe('serve when its port is taken', () => {
  let holder: Server;
  let takenPort: number;
  before(async () => {
    holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    takenPort = (holder.address() as { port: number }).port;
  });
  after(() => holder.close());

  for (const workers of ['1', '2']) {
    for (const taken of ['PORT', 'ADMIN_PORT'] as const) {
      test(`WORKERS=${workers}, ${taken} in use: exits 1 with one line naming the port`, async () => {
        const ports = { PORT: String(await freePort()), ADMIN_PORT: String(await freePort()), [taken]: String(takenPort) };
        const run = runCli(['serve'], { WORKERS: workers, ...ports, HOST: '127.0.0.1', ETCD_ENDPOINTS: 'http://127.0.0.1:9', LOG_LEVEL: 'fatal' });
        assert.equal(run.status, 1, run.stderr);
        assert.match(run.stderr, new RegExp(`^branch-proxy: cannot listen on 127\\.0\\.0\\.1 port ${takenPort}: another process uses it`, 'm'));
        assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
      });
    }
  }
});
