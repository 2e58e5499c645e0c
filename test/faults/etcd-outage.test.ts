import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { serviceKey } from '../../src/registry/keys.ts';
import type { Backend } from '../helpers/backend.ts';
import { startBackend } from '../helpers/backend.ts';
import type { EtcdServer } from '../helpers/etcd.ts';
import { startEtcd } from '../helpers/etcd.ts';
import type { TestProxy } from '../helpers/proxy.ts';
import { startProxy } from '../helpers/proxy.ts';
import type { Relay } from '../helpers/relay.ts';
import { startRelay } from '../helpers/relay.ts';
import { waitFor } from '../helpers/wait.ts';
import { createFigures } from './lib/figures.ts';
import { startLoad } from './lib/load.ts';
import type { LoadResult, LoadTarget } from './lib/load.ts';
import { DOMAIN, PREFIX, absent, deregister, etcdRoutes, msUntil, register, routes, tableOf } from '../helpers/registry.ts';

const figures = createFigures(import.meta.filename);
const STABLE = 20;

function stableTargets(prefix: string): LoadTarget[] {
  return Array.from({ length: STABLE }, (_, i) => ({ host: `${prefix}-${i}.${DOMAIN}`, backend: 'stable' }));
}

function assertNoFailures(result: LoadResult): void {
  assert.equal(result.failed, 0, `failed requests: ${JSON.stringify(result.failures.slice(0, 5))}`);
}

/**
 * One real etcd. Proxy `direct` talks to it straight (etcd killed and
 * restarted); proxy `relayed` talks to it through a TCP relay that is cut while
 * keys change, and while it is cut etcd compacts past the proxy's revision.
 */
describe('single etcd: outages, disconnects and compaction', () => {
  let etcd: EtcdServer;
  let relay: Relay;
  let backend: Backend;
  let other: Backend;

  before(async () => {
    etcd = await startEtcd();
    relay = await startRelay(Number(new URL(etcd.endpoint).port));
    backend = await startBackend('stable');
    other = await startBackend('other');
    for (let i = 0; i < STABLE; i++) await register(etcd.client, `stable-${i}`, 'web', backend.port);
  });
  after(async () => {
    await relay?.close();
    await backend?.close();
    await other?.close();
    await etcd?.destroy();
    figures.finish();
  });

  /** Runs `fn` with a proxy on `endpoint` whose table already equals etcd's, and closes it afterwards. */
  async function withProxy(endpoint: string, fn: (proxy: TestProxy) => Promise<void>): Promise<void> {
    const proxy = await startProxy(endpoint);
    try {
      await waitFor('routes loaded', async () => (tableOf(proxy).join() === (await etcdRoutes(etcd.client)).join() ? true : undefined), 10_000);
      await fn(proxy);
    } finally {
      await proxy.close();
    }
  }

  test('etcd killed (SIGKILL) and restarted under load: no failed request for known routes; later puts and deletes apply within 5 s', async (t: TestContext) => {
    const scenario = 'etcd SIGKILL + restart under load';
    for (let i = 0; i < 10; i++) await register(etcd.client, `doomed-${i}`, 'web', backend.port);
    await withProxy(etcd.endpoint, async (proxy) => {
      const load = startLoad(proxy.port, stableTargets('stable'), { connections: 8 });
      const cycles: string[] = [];
      let worstApply = 0;
      for (let cycle = 0; cycle < 2; cycle++) {
        await sleep(500);
        await etcd.stop('SIGKILL');
        await waitFor('outage noticed', () => (proxy.registry.connected ? undefined : true), 10_000);
        const sentBefore = load.sent;
        await sleep(2000);
        const duringOutage = load.sent - sentBefore;
        await etcd.start();
        // Changes made right after etcd's return: 5 new routes, 5 deleted, 1 moved to another backend.
        const written = performance.now();
        for (let i = 0; i < 5; i++) await register(etcd.client, `after-${cycle}-${i}`, 'web', backend.port);
        for (let i = cycle * 5; i < cycle * 5 + 5; i++) await deregister(etcd.client, `doomed-${i}`);
        await etcd.client.put(serviceKey(PREFIX, 'stable-0', 'api', 'ip')).value('127.0.0.1');
        await etcd.client.put(serviceKey(PREFIX, 'stable-0', 'api', 'port')).value(String(cycle === 0 ? other.port : backend.port));
        const writeMs = performance.now() - written;
        const ms = await msUntil(
          'the changes made after the restart',
          () =>
            Array.from({ length: 5 }, (_, i) => routes(proxy, `after-${cycle}-${i}`, 'web', backend.port) && absent(proxy, `doomed-${cycle * 5 + i}`)).every(Boolean) &&
            routes(proxy, 'stable-0', 'api', cycle === 0 ? other.port : backend.port),
          5000,
        );
        const total = writeMs + ms;
        worstApply = Math.max(worstApply, total);
        cycles.push(`${duringOutage} requests during the 2 s outage; changes applied ${total.toFixed(0)} ms after the first write`);
        assert.deepEqual(tableOf(proxy), await etcdRoutes(etcd.client));
      }
      const result = await load.stop();
      for (const [i, c] of cycles.entries()) t.diagnostic(`cycle ${i + 1}: ${c}`);
      figures.record(t, scenario, 'kill/restart cycles', 2);
      figures.record(t, scenario, 'requests sent / failed (known routes)', `${result.sent} / ${result.failed}`);
      figures.record(t, scenario, 'slowest answer', result.maxMs, 'ms');
      figures.record(t, scenario, 'puts + deletes after the return applied within', `${worstApply.toFixed(0)} ms (bound 5000 ms)`);
      assertNoFailures(result);
      assert.ok(worstApply < 5000);
      assert.equal(proxy.logs.filter((l) => l.event === 'etcd-unreachable').length, 2, 'one log line per outage');
    });
  });

  test('cut off from a live etcd by a TCP relay while keys change: the missed changes apply within 5 s of reconnecting', async (t: TestContext) => {
    const scenario = 'proxy cut off from etcd (TCP relay) while keys change';
    await withProxy(`http://127.0.0.1:${relay.port}`, async (proxy) => {
      const load = startLoad(proxy.port, stableTargets('stable').slice(1), { connections: 8 });
      let changes = 0;
      const worst: number[] = [];
      for (let cycle = 0; cycle < 3; cycle++) {
        await relay.cut();
        const cutAt = performance.now();
        // Keys keep changing for 2 s while the proxy cannot see them.
        for (let i = 0; performance.now() - cutAt < 2000; i++) {
          const name = `cut-${cycle}-${i % 20}`;
          if (i % 3 === 2) await deregister(etcd.client, name);
          else await register(etcd.client, name, 'web', i % 2 ? backend.port : other.port);
          changes++;
          await sleep(10);
        }
        assert.equal(proxy.registry.connected, false);
        const expected = (await etcdRoutes(etcd.client)).join('\n');
        await relay.restore();
        const { ms } = await waitFor('table equal to etcd', () => (tableOf(proxy).join('\n') === expected ? true : undefined), 5000);
        worst.push(ms);
      }
      const result = await load.stop();
      figures.record(t, scenario, 'cuts / changes made while cut', `3 / ${changes}`);
      figures.record(t, scenario, 'table equal to etcd after reconnecting', `${worst.map((ms) => ms.toFixed(0)).join(', ')} ms (bound 5000 ms)`);
      figures.record(t, scenario, 'requests sent / failed (unchanged routes)', `${result.sent} / ${result.failed}`);
      assertNoFailures(result);
    });
  });

  test('compaction past the proxy revision while it is disconnected: it reloads and ends with exactly etcd state', async (t: TestContext) => {
    const scenario = 'compaction past the revision while disconnected';
    await withProxy(`http://127.0.0.1:${relay.port}`, async (proxy) => {
      await relay.cut();
      const revisionBefore = proxy.registry.revision;
      for (let i = 0; i < 50; i++) await register(etcd.client, `compacted-${i}`, 'web', i % 2 ? backend.port : other.port);
      for (let i = 0; i < 20; i++) await deregister(etcd.client, `compacted-${i}`);
      for (let i = 0; i < 5; i++) await deregister(etcd.client, `cut-0-${i}`);
      await etcd.client.put(serviceKey(PREFIX, 'stable-1', 'web', 'port')).value(String(other.port));
      await etcd.client.put(`${PREFIX}stable-2/default`).value('api');
      await etcd.client.put(`${PREFIX}stable-3/branch`).value('feature/compacted');
      const compactedAt = await etcd.compact();
      // Routes and every deployment's metadata, compared with a fresh range read decoded by hand.
      const expected = await etcdState(etcd);
      await relay.restore();
      const { ms } = await waitFor('table equal to etcd', () => (JSON.stringify(proxyState(proxy)) === JSON.stringify(expected) ? true : undefined), 5000).catch((err: Error) => {
        throw new Error(`${err.message}\nproxy: ${JSON.stringify(proxyState(proxy)).slice(0, 2000)}\netcd:  ${JSON.stringify(expected).slice(0, 2000)}`);
      });
      figures.record(t, scenario, 'changes while disconnected, then compacted', `proxy at revision ${revisionBefore}, etcd compacted at ${compactedAt}`);
      figures.record(t, scenario, 'table (routes and metadata) equal to a fresh range read after', `${ms.toFixed(0)} ms`);
      figures.record(t, scenario, 'routes / deployments compared', `${expected.routes.length} / ${Object.keys(expected.meta).length}`);
      assert.ok(proxy.registry.revision >= compactedAt);
      assert.ok(proxy.logs.some((l) => l.event === 'registry-watch-ended' || l.event === 'registry-snapshot-loaded'));
    });
  });
});

interface State {
  routes: string[];
  meta: Record<string, { default?: string; branch?: string; created?: string }>;
}

function proxyState(proxy: TestProxy): State {
  const meta: State['meta'] = {};
  for (const d of [...proxy.registry.table.deployments.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    meta[d.name] = { default: d.defaultService, branch: d.branch, created: d.created };
  }
  return { routes: tableOf(proxy), meta: JSON.parse(JSON.stringify(meta)) as State['meta'] };
}

async function etcdState(etcd: EtcdServer): Promise<State> {
  const kvs = await etcd.client.getAll().prefix(PREFIX).strings();
  const meta: State['meta'] = {};
  for (const key of Object.keys(kvs).sort()) {
    const name = key.slice(PREFIX.length).split('/')[0]!;
    meta[name] ??= {};
    const field = key.slice(PREFIX.length + name.length + 1);
    if (field === 'default' || field === 'branch' || field === 'created') meta[name][field] = kvs[key];
  }
  const sorted = Object.fromEntries(Object.entries(meta).sort(([a], [b]) => a.localeCompare(b)));
  return { routes: await etcdRoutes(etcd.client), meta: JSON.parse(JSON.stringify(sorted)) as State['meta'] };
}
