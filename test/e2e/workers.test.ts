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
import type { DeploymentView } from '../../src/web/deployments-view.ts';
import { isAlive } from '../helpers/process-alive.ts';

const HOST = 'main.dev.localhost';
const WAITING = 'worker-waiting-for-table';


/** Waits for a log line with this `event` and fields among those logged since `mark` (an index into `logs`). */
function logSince(proxy: CliProcess, mark: number, event: string, fields: Record<string, unknown> = {}, timeoutMs = 20_000): Promise<Record<string, unknown>> {
  const match = (l: Record<string, unknown>) => l.event === event && Object.entries(fields).every(([k, v]) => l[k] === v);
  return waitFor(`log event "${event}" ${JSON.stringify(fields)} (output so far: ${proxy.output().slice(-800)})`, () => proxy.logs.slice(mark).find(match), timeoutMs).then((r) => r.value);
}

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
  const workerPids = () => proxy.logs.filter((l) => l.event === 'worker-listening').map((l) => l.workerPid as number);
  /**
   * Requests on new connections, 10 at a time, until each of `workers` has logged one; every
   * answer must be 200. Node's round-robin skips a worker still busy with its last hand-off,
   * so one burst may all land on one worker; over a few bursts both take some.
   */
  const servedByEach = (workers: readonly unknown[]) => {
    const mark = proxy.logs.length;
    return waitFor(`requests served by workers ${workers.join(', ')}`, async () => {
      const replies = await Promise.all(Array.from({ length: 10 }, () => request(port, HOST, '/echo')));
      assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([200]));
      const seen = new Set(proxy.logs.slice(mark).filter((l) => l.msg === 'request' && l.deployment === 'main').map((l) => l.worker));
      return workers.every((w) => seen.has(w)) ? true : undefined;
    }, 20_000);
  };

  before(async () => {
    etcd = await startEtcd();
    backend = await startBackend('slow');
    [port, adminPort] = [await freePort(), await freePort()];
    proxy = spawnCli(['serve', '--workers', '2'], { ETCD_ENDPOINTS: etcd.endpoint, PORT: String(port), ADMIN_PORT: String(adminPort), HOST: '127.0.0.1', PROBE_INTERVAL_MS: '500' });
    await proxy.waitForEvent('started', 30_000);
    await waitFor('ready with both workers', async () => ((await admin('/readyz')).status === 200 ? true : undefined), 20_000);
  });
  after(async () => {
    proxy.kill('SIGKILL');
    await backend.close();
    await etcd.destroy();
  });

  test('/readyz counts the workers; a route registered after start is served by both', async () => {
    assert.deepEqual(JSON.parse((await admin('/readyz')).body).workers, { ready: 2, total: 2, waiting: 0 });
    assert.equal(workerPids().length, 2);
    await register(etcd.client, 'main', 'web', backend.port);
    await waitFor('routed', async () => ((await request(port, HOST, '/echo')).status === 200 ? true : undefined));
    // Each access log line carries the id of the worker that proxied it.
    await servedByEach([1, 2]);
  });

  test('/metrics on the admin port sums requests over the workers; the route count is not doubled', async () => {
    const count = () => admin('/metrics').then((m) => Number(/^branch_proxy_requests_total\{deployment="main",service="web",code="200",fallback=""\} (\d+)$/m.exec(m.body)?.[1] ?? 0));
    const start = await count();
    await Promise.all(Array.from({ length: 10 }, () => request(port, HOST, '/echo')));
    assert.equal(await count(), start + 10);
    const body = (await admin('/metrics')).body;
    assert.match(body, /^branch_proxy_routes 1$/m);
    assert.match(body, /^branch_proxy_registry_connected 1$/m);
  });

  test('the host holds one etcd watch, the primary\'s: the workers follow it', async () => {
    const watchers = async () => Number(/^etcd_debugging_mvcc_watcher_total (\d+)$/m.exec(await (await fetch(`${etcd.endpoint}/metrics`)).text())?.[1]);
    assert.equal(await watchers(), 1);
    // A change reaches both workers through it.
    await register(etcd.client, 'one-watch', 'web', backend.port);
    const seen = new Set<unknown>();
    await waitFor('each worker routes one-watch', async () => {
      const mark = proxy.logs.length;
      const replies = await Promise.all(Array.from({ length: 10 }, () => request(port, 'one-watch.dev.localhost', '/echo')));
      if (replies.some((r) => r.status !== 200)) return undefined;
      await waitFor('access log lines', () => (proxy.logs.slice(mark).filter((l) => l.msg === 'request' && l.deployment === 'one-watch').length >= 10 ? true : undefined));
      for (const l of proxy.logs.slice(mark)) if (l.msg === 'request' && l.deployment === 'one-watch') seen.add(l.worker);
      return seen.size === 2 ? true : undefined;
    }, 20_000);
    assert.equal(await watchers(), 1);
  });

  test("the primary's probe results reach each worker's dashboard", async () => {
    await waitFor('reachable on the dashboard of every worker', async () => {
      const views = await Promise.all(Array.from({ length: 6 }, () => request(port, 'dev.localhost', '/api/deployments/main')));
      return views.every((v) => v.status === 200 && v.json<{ services: { reachable: boolean | null }[] }>().services[0]?.reachable === true) ? true : undefined;
    });
  });

  test('last visited is one value on every worker and the admin API, and `ls --json` has it right after the visits', async () => {
    await register(etcd.client, 'visited', 'web', backend.port);
    await waitFor('routed', async () => ((await request(port, 'visited.dev.localhost', '/echo')).status === 200 ? true : undefined));
    for (let i = 0; i < 2; i++) assert.equal((await request(port, 'visited.dev.localhost', '/echo')).status, 200);
    // 10 answers from the workers (round-robin: both answer some) and 3 from the primary.
    const views = async (): Promise<DeploymentView[]> => {
      const replies: DeploymentView[] = [];
      for (let i = 0; i < 10; i++) replies.push((await request(port, 'dev.localhost', '/api/deployments/visited')).json<DeploymentView>());
      for (let i = 0; i < 3; i++) replies.push((await (await fetch(`http://127.0.0.1:${adminPort}/api/deployments/visited`)).json()) as DeploymentView);
      return replies;
    };
    const times = (all: DeploymentView[]) => ({ deployment: new Set(all.map((v) => v.lastVisited)), service: new Set(all.map((v) => v.services[0]?.lastVisited)) });
    // Each worker relays its visits to the primary, which merges them and sends them back to every worker.
    const settled = await waitFor('one last visit everywhere', async () => {
      const t = times(await views());
      return t.deployment.size === 1 && t.service.size === 1 && !t.deployment.has(null) && !t.service.has(null) ? t : undefined;
    }, 10_000).then((r) => r.value);
    assert.deepEqual(times(await views()), settled, 'every later answer gives the same times');

    // Written at once (leading edge), not at the end of ACTIVITY_WRITE_MS (60 s by default).
    const ls = await waitFor('ls --json shows the visit', () => {
      const run = runCli(['ls', '--json'], { ETCD_ENDPOINTS: etcd.endpoint });
      assert.equal(run.status, 0, run.stderr);
      const d = (JSON.parse(run.stdout) as { name: string; lastVisited: string | null }[]).find((x) => x.name === 'visited');
      return d?.lastVisited ? d : undefined;
    }, 10_000).then((r) => r.value);
    assert.ok(Date.parse(ls.lastVisited!) <= Date.parse([...settled.deployment][0]!));
  });

  test('an invalid registry entry is logged once, by the primary, not once per process', async () => {
    const mark = proxy.logs.length;
    await etcd.client.put('/deployment/bad/service/web/port').value('not-a-port');
    await register(etcd.client, 'after-bad', 'web', backend.port);
    // Every worker routes the later key, so every worker has seen the bad one before it.
    const seen = new Set<unknown>();
    await waitFor('each worker routes after-bad', async () => {
      const replies = await Promise.all(Array.from({ length: 10 }, () => request(port, 'after-bad.dev.localhost', '/echo')));
      replies.forEach((r) => assert.ok(r.status === 200 || r.status === 404, `status ${r.status}`));
      for (const l of proxy.logs.slice(mark)) if (l.msg === 'request' && l.deployment === 'after-bad' && l.status === 200) seen.add(l.worker);
      return seen.size === 2 ? true : undefined;
    }, 20_000);
    await logSince(proxy, mark, 'route-added', { deployment: 'after-bad', worker: undefined });
    const lines = proxy.logs.slice(mark).filter((l) => l.event === 'registry-entry-ignored' && l.key === '/deployment/bad/service/web/port');
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.equal(lines[0]!.worker, undefined, 'logged by the primary');
    assert.equal(proxy.logs.slice(mark).filter((l) => l.event === 'route-added' && l.deployment === 'after-bad').length, 1, 'one route change, one line');
  });

  test('a worker that dies is replaced; the other serves meanwhile', async () => {
    const [victim] = workerPids();
    process.kill(victim!, 'SIGKILL');
    // Node's cluster hands each new connection to a worker over IPC; one handed over in the
    // instant between the kill and the primary seeing the exit is lost (see docs), so wait for it.
    await proxy.waitForEvent('worker-died', 5000, { workerPid: victim });
    const replies = await Promise.all(Array.from({ length: 20 }, () => request(port, HOST, '/echo')));
    assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([200]));
    await waitFor('a replacement listens', () => (workerPids().length === 3 ? true : undefined), 20_000);
    await waitFor('ready again', async () => ((await admin('/readyz')).status === 200 ? true : undefined), 20_000);
    // The replacement has the routes registered before it started: the primary read it a snapshot.
    const replacement = proxy.logs.filter((l) => l.event === 'worker-listening').at(-1)!.worker;
    const survivor = proxy.logs.find((l) => l.event === 'worker-listening' && l.workerPid !== victim && isAlive(l.workerPid as number))!.worker;
    await servedByEach([survivor, replacement]);
  });

  test('a replacement joins the port only once its table has loaded: meanwhile the other worker takes every connection', async () => {
    const mark = proxy.logs.length;
    // etcd away: the survivor keeps serving its table, a replacement cannot load one.
    await etcd.stop();
    const [victim, survivorPid] = workerPids().filter(isAlive);
    const survivor = proxy.logs.find((l) => l.event === 'worker-listening' && l.workerPid === survivorPid)!.worker;
    process.kill(victim!, 'SIGKILL');
    await logSince(proxy, mark, 'worker-died', { workerPid: victim });
    const first = await logSince(proxy, mark, WAITING);
    // One that dies while it waits is replaced too, and the next one waits as well.
    process.kill(first.pid as number, 'SIGKILL');
    await logSince(proxy, mark, 'worker-died', { workerPid: first.pid });
    const waiting = await logSince(proxy, mark, WAITING, { worker: (first.worker as number) + 1 });
    // The replica stays ready: the survivor serves every connection with its table.
    const meanwhile = await admin('/readyz');
    assert.equal(meanwhile.status, 200);
    assert.deepEqual(JSON.parse(meanwhile.body).workers, { ready: 1, total: 2, waiting: 1 });

    // A path of its own: the last access-log lines of the previous test may still be arriving.
    const path = '/echo?while=etcd-away';
    const replies = await Promise.all(Array.from({ length: 40 }, () => request(port, HOST, path)));
    assert.deepEqual(replies.map((r) => r.status), replies.map(() => 200), 'no 503 registry-not-loaded from the waiting replacement');
    const served = () => proxy.logs.slice(mark).filter((l) => l.msg === 'request' && l.path === path);
    await waitFor('access log lines', () => (served().length >= 40 ? true : undefined));
    const servedBy = new Set(served().map((l) => l.worker));
    assert.deepEqual([...servedBy], [survivor]);

    await etcd.start();
    await logSince(proxy, mark, 'worker-listening', { worker: waiting.worker });
    await waitFor('both workers ready again', async () => (JSON.parse((await admin('/readyz')).body).workers.ready === 2 ? true : undefined), 20_000);
    assert.deepEqual(JSON.parse((await admin('/readyz')).body).workers, { ready: 2, total: 2, waiting: 0 });
    // Both serve once the replacement has joined.
    await servedByEach([survivor, waiting.worker]);
  });

  test('SIGTERM drains every worker, then the primary exits 0', async () => {
    const inFlight = request(port, HOST, '/slow?ms=800');
    await new Promise((r) => setTimeout(r, 200));
    proxy.kill('SIGTERM');
    const reply = await inFlight;
    assert.equal(reply.status, 200);
    assert.equal(await proxy.waitExit(15_000), 0, proxy.output());
    assert.deepEqual(workerPids().filter(isAlive), [], 'no worker outlives the primary');
  });
});

describe('serve --workers 2 while etcd is unreachable', () => {
  test('a replacement waits while another worker listens, one with none left listens at once; SIGTERM still stops them all', async () => {
    const [port, adminPort] = [await freePort(), await freePort()];
    const proxy = spawnCli(['serve', '--workers', '2'], { ETCD_ENDPOINTS: 'http://127.0.0.1:9', PORT: String(port), ADMIN_PORT: String(adminPort), HOST: '127.0.0.1' });
    try {
      await proxy.waitForEvent('started', 30_000);
      // The first workers listen at once and answer 503 until they have a table, as one process does.
      assert.equal((await request(port, HOST)).status, 503);
      const [first, second] = proxy.logs.filter((l) => l.event === 'worker-listening').map((l) => l.workerPid as number);
      process.kill(first!, 'SIGKILL');
      const waiting = await proxy.waitForEvent(WAITING, 20_000).then((r) => r.value);
      process.kill(second!, 'SIGKILL');
      await proxy.waitForEvent('worker-died', 5000, { workerPid: second });
      // No worker listens now: the next replacement listens without waiting, so PORT answers 503, not "refused".
      const listening = await logSince(proxy, 0, 'worker-listening', { worker: (waiting.worker as number) + 1 });
      const reply = await request(port, HOST);
      assert.equal(reply.status, 503);
      assert.equal(reply.headers['retry-after'], '1');
      assert.equal(proxy.logs.filter((l) => l.event === WAITING).length, 1);

      proxy.kill('SIGTERM');
      assert.equal(await proxy.waitExit(15_000), 0, proxy.output());
      assert.deepEqual([waiting.pid, listening.workerPid].filter((pid) => isAlive(pid as number)), [], 'no worker outlives the primary');
      assert.equal(proxy.logs.find((l) => l.event === 'worker-listening' && l.worker === waiting.worker), undefined, 'the waiting worker never listened');
    } finally {
      proxy.kill('SIGKILL');
    }
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
