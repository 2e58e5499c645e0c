import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deploymentKey, sleepStateKey } from '../../src/registry/keys.ts';
import { CLI } from '../helpers/cli-process.ts';
import type { EtcdServer } from '../helpers/etcd.ts';
import { startEtcd } from '../helpers/etcd.ts';
import { request } from '../helpers/http.ts';
import { freePort } from '../helpers/ports.ts';
import type { ServeSettings, TestProxy } from '../helpers/proxy.ts';
import { startProxy } from '../helpers/proxy.ts';
import { DOMAIN } from '../helpers/registry.ts';
import { waitFor } from '../helpers/wait.ts';
import { isAlive } from '../helpers/process-alive.ts';
import { parseExposition } from '../helpers/metrics.ts';

const JSON_ACCEPT = { accept: 'application/json' };
const SERVICE = `import { createServer } from 'node:http';
createServer((req, res) => res.end('awake ' + req.url)).listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

describe('sleep and wake under faults', () => {
  let etcd: EtcdServer;
  let dir: string;
  let prefix = '';
  let n = 0;
  const proxies: TestProxy[] = [];

  before(async () => {
    etcd = await startEtcd();
    dir = mkdtempSync(join(tmpdir(), 'branch-proxy-sleep-faults-'));
    writeFileSync(join(dir, 'service.mjs'), SERVICE);
  });
  afterEach(async () => {
    await Promise.all(proxies.splice(0).map((p) => p.close()));
    const pids = lines('pids').map(Number);
    for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGTERM');
    await waitFor('registers to stop', () => (pids.some(isAlive) ? undefined : true), 10_000).catch(() => undefined);
    for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(join(dir, 'pids'), { force: true });
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await etcd?.destroy();
  });

  function lines(file: string): string[] {
    const path = join(dir, file);
    return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter((l) => l !== '') : [];
  }
  const hookRuns = (deployment: string) => lines('hooks').filter((l) => l === `wake ${deployment}`).length;
  /** The part of every wake command that counts its runs. */
  const count = () => `echo "wake $DEPLOYMENT" >> "${dir}/hooks"`;

  /** Starts the service through `register` after `delay` seconds, in the background: the hook itself returns at once. */
  function registerLater(port: number, delay = 0): string {
    return (
      `(sleep ${delay}; cd ${JSON.stringify(process.cwd())} && ETCD_ENDPOINTS=${etcd.endpoint} REGISTRY_PREFIX=${prefix} PORT=${port} ${JSON.stringify(process.execPath)} ${CLI.join(' ')} ` +
      `register --deployment "$DEPLOYMENT" --service web --ip 127.0.0.1 --port ${port} --ttl 5 -- ${JSON.stringify(process.execPath)} "${dir}/service.mjs") ` +
      `> "${dir}/$DEPLOYMENT.log" 2>&1 & echo $! >> "${dir}/pids"`
    );
  }

  function fresh(): void {
    prefix = `/sleep-faults-${++n}/`;
  }

  async function proxy(settings: ServeSettings): Promise<TestProxy> {
    const p = await startProxy(etcd.endpoint, { REGISTRY_PREFIX: prefix, BASE_DOMAIN: DOMAIN, WAKE_TIMEOUT: '60s', ...settings });
    proxies.push(p);
    await waitFor('snapshot', () => (p.registry.ready ? true : undefined));
    return p;
  }

  async function asleep(deployment: string, since = new Date().toISOString()): Promise<void> {
    await etcd.client.put(deploymentKey(prefix, deployment, 'created')).value('2026-01-30T10:00:00.000Z').exec();
    await etcd.client.put(sleepStateKey(prefix, deployment, 'sleep')).value(JSON.stringify({ state: 'asleep', since, services: ['web'] })).exec();
  }

  const record = async (deployment: string) => {
    const text = await etcd.client.get(sleepStateKey(prefix, deployment, 'sleep')).string();
    return text === null ? undefined : (JSON.parse(text) as { state: string; owner?: string; lastWake?: { error?: string } });
  };
  const inTable = (p: TestProxy, deployment: string) => waitFor(`${deployment} in the table`, () => (p.registry.table.deployments.get(deployment)?.sleep ? true : undefined));

  test('a wake command that fails: held requests get the failure at once, the record keeps the reason', async () => {
    fresh();
    const p = await proxy({ WAKE_COMMAND: `${count()}; echo "secret detail" >&2; exit 7` });
    await asleep('fails');
    await inTable(p, 'fails');
    const reply = await request(p.port, `fails.${DOMAIN}`, '/', { headers: JSON_ACCEPT });
    assert.equal(reply.status, 503);
    assert.equal(reply.json().error, 'deployment-wake-failed');
    assert.doesNotMatch(reply.body, /secret detail/, 'hook output is for the log only');
    const r = await record('fails');
    assert.equal(r?.state, 'asleep');
    assert.match(r?.lastWake?.error ?? '', /status 7/);
    assert.equal(hookRuns('fails'), 1);
    assert.ok(p.logs.some((l) => l.msg === 'wake step failed' && String(l.tail).includes('secret detail')), 'the tail is logged');
  });

  test('a wake command that hangs is killed at WAKE_TIMEOUT; one that exits 0 but brings nothing back gives up at WAKE_TIMEOUT', async () => {
    fresh();
    const p = await proxy({ WAKE_TIMEOUT: '2s', WAKE_HOLD: '10s', WAKE_COMMAND: `${count()}; if [ "$DEPLOYMENT" = hangs ]; then sleep 60; fi` });
    await asleep('hangs');
    await asleep('nothing');
    await inTable(p, 'nothing');
    const [hangs, nothing] = await Promise.all(['hangs', 'nothing'].map((d) => request(p.port, `${d}.${DOMAIN}`, '/', { headers: JSON_ACCEPT })));
    assert.equal(hangs!.json().error, 'deployment-wake-failed', hangs!.body);
    assert.equal(nothing!.json().error, 'deployment-wake-failed', nothing!.body);
    assert.match((await record('hangs'))?.lastWake?.error ?? '', /longer than 2 s and was stopped/);
    assert.match((await record('nothing'))?.lastWake?.error ?? '', /not back within 2 s/);
  });

  test('etcd unreachable while waking: the wake carries on once it is back', async () => {
    fresh();
    const port = await freePort();
    const p = await proxy({ WAKE_HOLD: '60s', WAKE_COMMAND: `${count()}; ${registerLater(port, 2)}` });
    await asleep('outage');
    await inTable(p, 'outage');
    const held = request(p.port, `outage.${DOMAIN}`, '/during', { headers: JSON_ACCEPT });
    await waitFor('hook ran', () => (hookRuns('outage') === 1 ? true : undefined), 10_000);
    await etcd.stop();
    await new Promise((r) => setTimeout(r, 3000));
    await etcd.start();
    const reply = await held;
    assert.equal(reply.status, 200, reply.body);
    assert.equal(reply.body, 'awake /during');
    await waitFor('record removed', async () => ((await record('outage')) === undefined ? true : undefined), 20_000);
  });

  test('a proxy stopped mid-wake: the next one carries on waiting and marks the deployment awake', async () => {
    fresh();
    const port = await freePort();
    const first = await proxy({ WAKE_COMMAND: `${count()}; ${registerLater(port, 2)}` });
    await asleep('restart');
    await inTable(first, 'restart');
    await request(first.port, `restart.${DOMAIN}`, '/', { headers: { accept: 'text/html' } });
    await waitFor('waking', async () => ((await record('restart'))?.state === 'waking' ? true : undefined));
    await first.close();
    proxies.splice(proxies.indexOf(first), 1);
    const second = await proxy({ WAKE_COMMAND: count() });
    await waitFor('record removed by the second proxy', async () => ((await record('restart')) === undefined ? true : undefined), 30_000);
    assert.equal(hookRuns('restart'), 1, 'the second proxy ran no hook');
    assert.equal((await request(second.port, `restart.${DOMAIN}`, '/x')).body, 'awake /x');
  });

  test('a wake claimed by a replica that died is taken over after WAKE_TIMEOUT', async () => {
    fresh();
    const port = await freePort();
    const p = await proxy({ WAKE_TIMEOUT: '3s', WAKE_COMMAND: `${count()}; ${registerLater(port)}` });
    const since = new Date(Date.now() - 2000).toISOString();
    await etcd.client.put(deploymentKey(prefix, 'orphan', 'created')).value(since).exec();
    await etcd.client.put(sleepStateKey(prefix, 'orphan', 'sleep')).value(JSON.stringify({ state: 'waking', since, owner: 'gone:1:dead', services: ['web'] })).exec();
    await waitFor('taken over and awake', async () => ((await record('orphan')) === undefined ? true : undefined), 30_000);
    assert.equal(hookRuns('orphan'), 1);
    assert.equal((await request(p.port, `orphan.${DOMAIN}`, '/')).body, 'awake /');
  });

  test('two proxies racing for one wake: exactly one hook run, both answer', async () => {
    fresh();
    const port = await freePort();
    const command = `${count()}; ${registerLater(port, 1)}`;
    const a = await proxy({ WAKE_COMMAND: command });
    const b = await proxy({ WAKE_COMMAND: command });
    await asleep('race');
    await Promise.all([inTable(a, 'race'), inTable(b, 'race')]);
    const replies = await Promise.all([a, b, a, b].map((p, i) => request(p.port, `race.${DOMAIN}`, `/${i}`, { headers: JSON_ACCEPT })));
    assert.deepEqual(replies.map((r) => r.body), ['awake /0', 'awake /1', 'awake /2', 'awake /3']);
    assert.equal(hookRuns('race'), 1);
  });

  test('two proxies holding requests through one failing wake: one hook run, both answer with the failure', async () => {
    fresh();
    // Slow enough that the second proxy's request arrives while the first proxy's hook still runs.
    const command = `${count()}; sleep 1; exit 7`;
    const a = await proxy({ WAKE_COMMAND: command });
    const b = await proxy({ WAKE_COMMAND: command });
    await asleep('race-fail');
    await Promise.all([inTable(a, 'race-fail'), inTable(b, 'race-fail')]);
    const first = request(a.port, `race-fail.${DOMAIN}`, '/a', { headers: JSON_ACCEPT });
    await waitFor('the wake claimed', async () => ((await record('race-fail'))?.state === 'waking' ? true : undefined));
    await waitFor('proxy b sees it waking', () => (b.registry.table.deployments.get('race-fail')?.sleep?.state === 'waking' ? true : undefined));
    const second = request(b.port, `race-fail.${DOMAIN}`, '/b', { headers: JSON_ACCEPT });
    const replies = await Promise.all([first, second]);
    assert.deepEqual(replies.map((r) => [r.status, r.json().error]), [[503, 'deployment-wake-failed'], [503, 'deployment-wake-failed']]);
    // Give a second run, if one were started, the time to show in the hook log.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(hookRuns('race-fail'), 1, 'the failed wake is not run again by the other proxy');
    assert.equal((await record('race-fail'))?.state, 'asleep');
  });

  test('clients that abort while held leave no timers or sockets behind', async () => {
    fresh();
    const p = await proxy({ WAKE_COMMAND: count(), WAKE_HOLD: '60s' });
    await asleep('aborts');
    await inTable(p, 'aborts');
    const active = (kind: string) => process.getActiveResourcesInfo().filter((r) => r === kind).length;
    const timersBefore = active('Timeout');
    const socketsBefore = active('TCPSocketWrap');
    const requests = Array.from({ length: 50 }, () => {
      const req = httpRequest({ port: p.port, host: '127.0.0.1', path: '/', method: 'POST', headers: { host: `aborts.${DOMAIN}`, 'content-length': '5', ...JSON_ACCEPT }, agent: false });
      req.on('error', () => undefined);
      req.end('hello');
      return req;
    });
    // The proxy's own count, not this process's timers: other timers come and go meanwhile (CI once saw fewer than 50 more).
    await waitFor('all 50 held', async () => {
      const held = parseExposition((await request(p.adminPort, 'localhost', '/metrics')).body).value('branch_proxy_held_requests');
      if (held !== 50) throw new Error(`branch_proxy_held_requests is ${held}`);
      return true;
    }, 15_000);
    // Each held request has its WAKE_HOLD timer, and two sockets here (the client's and the proxy's side).
    assert.ok(active('Timeout') >= timersBefore + 40, `held requests have their timers (${active('Timeout')}, ${timersBefore} before)`);
    for (const req of requests) req.destroy();
    await waitFor('no timer left', () => (active('Timeout') <= timersBefore + 2 ? true : undefined));
    await waitFor('no socket left', () => (active('TCPSocketWrap') <= socketsBefore + 2 ? true : undefined));
  });

  test('a flood of requests from an ignored user agent wakes nothing', async () => {
    fresh();
    const p = await proxy({ WAKE_COMMAND: count() });
    await asleep('crawled');
    await inTable(p, 'crawled');
    for (let i = 0; i < 10; i++) {
      const replies = await Promise.all(
        Array.from({ length: 20 }, (_, j) => request(p.port, `crawled.${DOMAIN}`, `/page-${i}-${j}`, { headers: { 'user-agent': 'Mozilla/5.0 (compatible; bingbot/2.0)', accept: 'text/html' } })),
      );
      assert.ok(replies.every((r) => r.status === 503));
    }
    assert.equal(hookRuns('crawled'), 0);
    assert.equal((await record('crawled'))?.state, 'asleep');
  });
});
