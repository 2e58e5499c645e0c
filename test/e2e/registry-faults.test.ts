import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../helpers/backend.ts';
import { startBackend } from '../helpers/backend.ts';
import type { EtcdServer } from '../helpers/etcd.ts';
import { etcdFor, startEtcd } from '../helpers/etcd.ts';
import { request } from '../helpers/http.ts';
import type { TestProxy } from '../helpers/proxy.ts';
import { proxyFor, startProxy } from '../helpers/proxy.ts';
import type { Relay } from '../helpers/relay.ts';
import { startRelay } from '../helpers/relay.ts';
import { serviceKey } from '../../src/registry/keys.ts';
import { etcdRoutes, register, tableOf } from '../helpers/registry.ts';
import { waitFor } from '../helpers/wait.ts';

const P = '/deployment/';

async function readyz(proxy: TestProxy): Promise<{ status: number; body: { ready: boolean; etcd: string; revision: number; routes: number } }> {
  const res = await fetch(`http://127.0.0.1:${proxy.adminPort}/readyz`);
  return { status: res.status, body: (await res.json()) as { ready: boolean; etcd: string; revision: number; routes: number } };
}

describe('stopping', () => {
  test('regression: closing while the first snapshot loads returns promptly (it used to hang)', async (t) => {
    const etcd = await etcdFor(t);
    for (let i = 0; i < 5; i++) {
      const proxy = await startProxy(etcd.endpoint);
      const started = performance.now();
      await Promise.race([proxy.close(), new Promise((_, reject) => setTimeout(() => reject(new Error('close() hung')), 5000))]);
      t.diagnostic(`close ${i}: ${(performance.now() - started).toFixed(0)} ms`);
    }
  });
});

describe('registry faults: the table stays consistent with etcd', () => {
  let etcd: EtcdServer;
  let relay: Relay;
  let proxy: TestProxy;
  let backend: Backend;

  before(async () => {
    etcd = await startEtcd();
    backend = await startBackend('b');
    relay = await startRelay(Number(new URL(etcd.endpoint).port));
  });
  after(async () => {
    await proxy?.close();
    await relay.close();
    await backend.close();
    await etcd.destroy();
  });

  test('starts while etcd is unreachable: /readyz 503 until the first snapshot, then 200', async (t) => {
    await register(etcd.client, 'early', 'web', backend.port);
    await relay.cut();
    proxy = await startProxy(`http://127.0.0.1:${relay.port}`);
    const health = await fetch(`http://127.0.0.1:${proxy.adminPort}/healthz`);
    assert.equal(health.status, 200);
    const before = await readyz(proxy);
    assert.equal(before.status, 503);
    assert.equal(before.body.ready, false);
    // Not a 404: the deployment may well exist, the proxy just has no table yet.
    const early = await request(proxy.port, 'early.dev.localhost', '/echo', { headers: { accept: 'application/json' } });
    assert.deepEqual([early.status, early.json().error, early.headers['retry-after']], [503, 'registry-not-loaded', '1']);
    await relay.restore();
    const { ms } = await waitFor('ready', async () => ((await readyz(proxy)).status === 200 ? true : undefined), 10_000);
    t.diagnostic(`ready ${ms.toFixed(0)} ms after etcd became reachable`);
    assert.equal((await request(proxy.port, 'early.dev.localhost', '/echo')).status, 200);
    assert.equal(proxy.logs.filter((l) => l.event === 'etcd-unreachable').length, 1, 'one log line per outage');
  });

  test('cut off from a live etcd: keeps serving, and the missed puts and deletes apply after reconnecting', async (t) => {
    await register(etcd.client, 'stays', 'web', backend.port);
    await register(etcd.client, 'goes', 'web', backend.port);
    await waitFor('both routed', () => (tableOf(proxy).length === 3 ? true : undefined));
    await relay.cut();
    await waitFor('disconnect noticed', () => (proxy.registry.connected ? undefined : true), 10_000);
    const during = await readyz(proxy);
    assert.deepEqual([during.status, during.body.ready, during.body.etcd], [200, true, 'disconnected']);
    assert.equal((await request(proxy.port, 'stays.dev.localhost', '/echo')).status, 200, 'last table keeps serving');
    await register(etcd.client, 'arrives', 'web', backend.port);
    await etcd.client.delete().prefix(`${P}goes/`);
    await relay.restore();
    const { ms } = await waitFor('missed changes applied', async () => ((await etcdRoutes(etcd.client)).join() === tableOf(proxy).join() ? true : undefined), 10_000);
    t.diagnostic(`missed changes applied ${ms.toFixed(0)} ms after reconnecting`);
    assert.equal((await request(proxy.port, 'arrives.dev.localhost', '/echo')).status, 200);
    assert.equal((await request(proxy.port, 'goes.dev.localhost', '/echo')).status, 404);
  });

  test('compaction past the proxy revision while disconnected: reloads to exactly etcd state', async (t) => {
    await relay.cut();
    await waitFor('disconnect noticed', () => (proxy.registry.connected ? undefined : true), 10_000);
    const revisionBefore = proxy.registry.revision;
    for (let i = 0; i < 5; i++) await register(etcd.client, `churn-${i}`, 'web', backend.port);
    await etcd.client.delete().prefix(`${P}stays/`);
    await etcd.client.put(serviceKey(P, 'arrives', 'web', 'port')).value('1');
    const compactedAt = await etcd.compact();
    assert.ok(compactedAt > revisionBefore + 1);
    await relay.restore();
    const { ms } = await waitFor('table equals etcd', async () => ((await etcdRoutes(etcd.client)).join() === tableOf(proxy).join() ? true : undefined), 10_000);
    t.diagnostic(`reloaded ${ms.toFixed(0)} ms after reconnecting (compacted at ${compactedAt}, proxy was at ${revisionBefore})`);
    assert.ok(proxy.registry.revision >= compactedAt);
  });

  test('etcd stopped and restarted: known routes keep answering, later changes take effect', async (t) => {
    await waitFor('connected', () => (proxy.registry.connected ? true : undefined), 10_000);
    await etcd.stop('SIGKILL');
    let failed = 0;
    for (let i = 0; i < 20; i++) if ((await request(proxy.port, 'churn-0.dev.localhost', '/echo')).status !== 200) failed++;
    assert.equal(failed, 0, 'requests for known routes during the outage');
    await etcd.start();
    await register(etcd.client, 'after-restart', 'web', backend.port);
    await etcd.client.delete().prefix(`${P}churn-1/`);
    const { ms } = await waitFor('changes after restart applied', async () => ((await etcdRoutes(etcd.client)).join() === tableOf(proxy).join() ? true : undefined), 10_000);
    t.diagnostic(`changes made after the restart applied within ${ms.toFixed(0)} ms`);
    assert.equal((await request(proxy.port, 'after-restart.dev.localhost', '/echo')).status, 200);
  });
});

describe('watch batch timing', () => {
  test('at debug level each applied watch batch is logged with its revision and host-monotonic times; at info level it is not', async (t) => {
    const etcd = await etcdFor(t);
    const debug = await proxyFor(t, etcd.endpoint, { LOG_LEVEL: 'debug' });
    const info = await proxyFor(t, etcd.endpoint, { LOG_LEVEL: 'info' });
    await waitFor('both first snapshots', () => (debug.registry.ready && info.registry.ready ? true : undefined));
    const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;
    const before = monotonicMs();
    const { header } = await etcd.client.put(serviceKey(P, 'timed', 'web', 'port')).value('8080');
    const revision = Number(header.revision);
    const { value: line } = await waitFor('the batch line', () => debug.logs.find((l) => l.event === 'registry-batch-applied' && l.revision === revision));
    const after = monotonicMs();
    assert.equal(line.events, 1);
    // The benchmark lines these up with its own process.hrtime clock.
    const [received, applied] = [line.receivedMs as number, line.appliedMs as number];
    assert.ok(before <= received && received <= applied && applied <= after, `${before} <= ${received} <= ${applied} <= ${after}`);
    assert.ok((line.cpuMs as number) >= 0);
    await waitFor('the info-level proxy to apply it', () => (info.registry.revision >= revision ? true : undefined));
    assert.equal(info.logs.some((l) => l.event === 'registry-batch-applied'), false);
  });
});
