import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { deploymentKey, serviceKey } from '../../src/registry/keys.ts';
import type { DeploymentView } from '../../src/web/deployments-view.ts';
import type { Backend } from '../helpers/backend.ts';
import { startBackend } from '../helpers/backend.ts';
import type { EtcdServer } from '../helpers/etcd.ts';
import { startEtcd } from '../helpers/etcd.ts';
import { request } from '../helpers/http.ts';
import type { TestProxy } from '../helpers/proxy.ts';
import { startProxy } from '../helpers/proxy.ts';
import { waitFor } from '../helpers/wait.ts';

const P = '/deployment/';
const WRITE_MS = 300;
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const run = promisify(execFile);

describe('activity: last visit tracked, persisted to etcd at most once per interval, used by ls and prune --idle-for', () => {
  let etcd: EtcdServer;
  let backend: Backend;
  let proxy: TestProxy;
  const cli = (...args: string[]) => run(process.execPath, ['--import', 'tsx', MAIN, ...args], { env: { ...process.env, ETCD_ENDPOINTS: etcd.endpoint } });
  const register = async (name: string, createdAgoMs: number): Promise<void> => {
    await etcd.client.put(serviceKey(P, name, 'web', 'ip')).value('127.0.0.1');
    await etcd.client.put(serviceKey(P, name, 'web', 'port')).value(String(backend.port));
    await etcd.client.put(deploymentKey(P, name, 'created')).value(new Date(Date.now() - createdAgoMs).toISOString());
  };
  const lastRequestKey = (name: string) => deploymentKey(P, name, 'last-request');
  const apiView = async (p: TestProxy, name: string) => (await fetch(`http://127.0.0.1:${p.adminPort}/api/deployments/${name}`)).json() as Promise<DeploymentView>;

  before(async () => {
    etcd = await startEtcd();
    backend = await startBackend('b');
    await register('main', 60_000);
    await register('stale', 2 * 86_400_000);
    proxy = await startProxy(etcd.endpoint, { ACTIVITY_WRITE_MS: String(WRITE_MS), LOG_LEVEL: 'warn' });
    await waitFor('snapshot', () => (proxy.registry.table.deployments.size === 2 ? true : undefined));
  });
  after(async () => {
    await proxy?.close();
    await backend?.close();
    await etcd?.destroy();
  });

  test('steady traffic turns into at most one write per interval', async (t) => {
    const writes: string[] = [];
    const watcher = await etcd.client.watch().key(lastRequestKey('main')).create();
    watcher.on('put', (kv) => writes.push(kv.value.toString()));
    const start = performance.now();
    let requests = 0;
    while (performance.now() - start < 4 * WRITE_MS) {
      assert.equal((await request(proxy.port, 'main.dev.localhost', '/echo')).status, 200);
      requests++;
      await sleep(10);
    }
    await waitFor('the last write', () => (writes.length > 0 && performance.now() - start > 6 * WRITE_MS ? true : undefined), 10_000);
    await watcher.cancel();
    const elapsed = performance.now() - start;
    t.diagnostic(`${requests} requests over ${elapsed.toFixed(0)} ms gave ${writes.length} writes`);
    assert.ok(writes.length >= 1);
    assert.ok(writes.length <= Math.ceil(elapsed / WRITE_MS) + 1, `${writes.length} writes in ${elapsed.toFixed(0)} ms`);
    const times = writes.map((w) => Date.parse(w));
    assert.deepEqual([...times].sort((a, b) => a - b), times, 'the time only moves forward');
    assert.ok(Date.now() - times.at(-1)! < 10_000);
  });

  test('the last visit is in the API and survives a restart of the proxy', async () => {
    const persisted = await etcd.client.get(lastRequestKey('main')).string();
    assert.ok(persisted);
    const live = await apiView(proxy, 'main');
    assert.ok(live.lastVisited && Date.parse(live.lastVisited) >= Date.parse(persisted));
    const fresh = await startProxy(etcd.endpoint, { LOG_LEVEL: 'warn' });
    try {
      await waitFor('snapshot', () => (fresh.registry.ready ? true : undefined));
      const view = await apiView(fresh, 'main');
      assert.equal(view.lastVisited, new Date(persisted).toISOString());
      assert.equal(view.services[0]!.lastVisited, null, 'per-service visits are this process memory only');
    } finally {
      await fresh.close();
    }
  });

  test('a later time written by another replica is never moved back', async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    await etcd.client.put(lastRequestKey('main')).value(future);
    await waitFor('the table has it', () => (proxy.registry.table.deployments.get('main')?.lastRequest === future ? true : undefined));
    await request(proxy.port, 'main.dev.localhost', '/echo');
    await sleep(3 * WRITE_MS);
    assert.equal(await etcd.client.get(lastRequestKey('main')).string(), future);
    await etcd.client.put(lastRequestKey('main')).value(new Date().toISOString());
  });

  test('a deployment removed while it was being visited does not come back as a ghost key', async () => {
    await register('gone', 0);
    await waitFor('route', () => (proxy.registry.table.deployments.has('gone') ? true : undefined));
    await request(proxy.port, 'gone.dev.localhost', '/echo');
    await etcd.client.delete().prefix(`${P}gone/`);
    await sleep(3 * WRITE_MS);
    assert.deepEqual(await etcd.client.getAll().prefix(`${P}gone/`).keys(), []);
    assert.equal(proxy.registry.table.deployments.has('gone'), false);
  });

  test('the first visit after a quiet interval is written at once; a clean stop writes the last one', async () => {
    await register('lead', 0);
    // The default interval: without the leading edge nothing would reach etcd for a minute.
    const quiet = await startProxy(etcd.endpoint, { LOG_LEVEL: 'warn' });
    try {
      await waitFor('route', () => (quiet.registry.table.deployments.has('lead') ? true : undefined));
      for (let i = 0; i < 3; i++) assert.equal((await request(quiet.port, 'lead.dev.localhost', '/echo')).status, 200);
      const first = await waitFor('last-request written', async () => (await etcd.client.get(lastRequestKey('lead')).string()) ?? undefined, 10_000);
      const ls = JSON.parse((await cli('ls', '--json')).stdout) as { name: string; lastVisited: string | null }[];
      assert.equal(ls.find((d) => d.name === 'lead')?.lastVisited, first.value);
      await waitFor('the table has it', () => (quiet.registry.table.deployments.get('lead')?.lastRequest === first.value ? true : undefined));
      await sleep(5);
      assert.equal((await request(quiet.port, 'lead.dev.localhost', '/echo')).status, 200);
      const live = await waitFor('the later visit in the API', async () => {
        const v = await apiView(quiet, 'lead');
        return v.lastVisited !== first.value ? v.lastVisited : undefined;
      });
      await quiet.close();
      assert.equal(await etcd.client.get(lastRequestKey('lead')).string(), live.value, 'written on stop, not lost');
    } finally {
      await quiet.close().catch(() => undefined);
    }
  });

  test('branch-proxy ls shows the last visit; prune --idle-for removes only what nobody opened', async () => {
    const ls = await cli('ls');
    assert.match(ls.stdout, /LAST VISITED/);
    assert.match(ls.stdout.split('\n').find((l) => l.startsWith('main ')) ?? '', / \d+s ago /);
    assert.match(ls.stdout.split('\n').find((l) => l.startsWith('stale ')) ?? '', / never /);

    const dry = await cli('prune', '--idle-for', '1h', '--dry-run');
    assert.match(dry.stdout, /would remove stale \(last opened never/);
    assert.doesNotMatch(dry.stdout, /main/);
    assert.deepEqual((await etcd.client.getAll().prefix(`${P}stale/`).keys()).length, 3, 'dry run removes nothing');

    const real = await cli('prune', '--idle-for', '1h');
    assert.match(real.stdout, /removed stale/);
    await waitFor('stale leaves the table', () => (proxy.registry.table.deployments.has('stale') ? undefined : true));
    assert.ok(proxy.registry.table.deployments.has('main'));

    await assert.rejects(cli('prune'), (err: { code?: number; stderr?: string }) => err.code === 2 && /--older-than .*--idle-for/.test(err.stderr ?? ''));
    await assert.rejects(cli('prune', '--idle-for', '10'), (err: { code?: number }) => err.code === 2);
  });
});
