import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Etcd3 } from 'etcd3';
import type { Backend } from '../helpers/backend.ts';
import { startBackend } from '../helpers/backend.ts';
import type { EtcdCluster, EtcdMember } from '../helpers/etcd-cluster.ts';
import { startEtcdCluster } from '../helpers/etcd-cluster.ts';
import type { TestProxy } from '../helpers/proxy.ts';
import { startProxy } from '../helpers/proxy.ts';
import { waitFor } from '../helpers/wait.ts';
import { createFigures } from './lib/figures.ts';
import type { Load } from './lib/load.ts';
import { startLoad } from './lib/load.ts';
import { DOMAIN, absent, deregister, etcdRoutes, msUntilInSync, register, routes, tableOf } from '../helpers/registry.ts';

const figures = createFigures(import.meta.filename);
const STABLE = 10;

/**
 * Three etcd processes; the proxy has all three in ETCD_ENDPOINTS. Members are
 * killed and paused under the proxy's watch while a load generator requests
 * routes that never change, and changes made meanwhile must still arrive.
 */
describe('3-member etcd cluster: the proxy fails over and keeps its table current while a quorum exists', () => {
  let cluster: EtcdCluster;
  let backend: Backend;
  let proxy: TestProxy;
  let load: Load;
  let round = 0;

  before(async () => {
    cluster = await startEtcdCluster(3);
    backend = await startBackend('stable');
    const writer = cluster.client();
    for (let i = 0; i < STABLE; i++) await register(writer, `stable-${i}`, 'web', backend.port);
    proxy = await startProxy(cluster.endpoints.join(','), { LOG_LEVEL: 'info' });
    await waitFor('stable routes loaded', () => (tableOf(proxy).length === STABLE ? true : undefined), 10_000);
    load = startLoad(proxy.port, Array.from({ length: STABLE }, (_, i) => ({ host: `stable-${i}.${DOMAIN}`, backend: 'stable' })), { connections: 4 });
  });
  after(async () => {
    await load?.stop();
    await proxy?.close();
    await backend?.close();
    await cluster?.destroy();
    figures.finish();
  });

  /** The member whose watch stream the proxy uses, from each live member's own metrics. */
  async function watchMember(candidates: readonly EtcdMember[]): Promise<EtcdMember> {
    const { value } = await waitFor('one member serving the proxy watch', async () => {
      const counts = await Promise.all(candidates.map((m) => m.metric('etcd_debugging_mvcc_watch_stream_total')));
      const serving = candidates.filter((_, i) => counts[i]! > 0);
      return serving.length === 1 ? serving[0] : undefined;
    }, 10_000);
    return value;
  }

  /** Puts one new route and deletes one, through `writer`; returns ms until both show in the proxy's table. */
  async function changesArrive(writer: Etcd3, timeoutMs: number): Promise<number> {
    round++;
    await register(writer, `added-${round}`, 'web', backend.port);
    if (round > 1) await deregister(writer, `added-${round - 1}`);
    const written = performance.now();
    await waitFor(
      `round ${round} changes in the proxy's table (table: ${tableOf(proxy).filter((r) => r.startsWith('added')).join(' ')})`,
      () => (routes(proxy, `added-${round}`, 'web', backend.port) && (round === 1 || absent(proxy, `added-${round - 1}`)) ? true : undefined),
      timeoutMs,
    );
    return performance.now() - written;
  }

  /** The proxy's log lines (but access lines) since index `from`, timed relative to `t0` (epoch ms). */
  function logsSince(from: number, t0: number): string {
    return proxy.logs
      .slice(from)
      .filter((l) => l.msg !== 'request')
      .map((l) => `  +${Number(l.time) - t0} ms ${String(l.msg)} ${l.err ? JSON.stringify((l.err as { message?: string }).message) : ''}`)
      .join('\n');
  }

  test('the member serving the watch is killed (SIGKILL): changes still arrive within 5 s', async (t: TestContext) => {
    const worst: number[] = [];
    for (let i = 0; i < 2; i++) {
      const victim = await watchMember(cluster.members);
      const survivors = cluster.members.filter((m) => m !== victim);
      const writer = cluster.client(survivors);
      const logFrom = proxy.logs.length;
      const killedAt = Date.now();
      await victim.stop('SIGKILL');
      const ms = await changesArrive(writer, 5000).catch((err: Error) => {
        throw new Error(`${err.message}\nproxy log since the kill:\n${logsSince(logFrom, killedAt)}`);
      });
      worst.push(ms);
      t.diagnostic(`killed ${victim.name}: a put and a delete arrived ${ms.toFixed(0)} ms after they were written`);
      assert.equal((await watchMember(survivors)) !== victim, true);
      await victim.start();
    }
    figures.record(t, 'member serving the watch killed (SIGKILL), twice', 'put + delete arrived after', `${worst.map((ms) => ms.toFixed(0)).join(' ms, ')} ms (bound 5000 ms)`);
    assert.deepEqual(tableOf(proxy), await etcdRoutes(cluster.client()));
  });

  test('the member serving the watch is paused (SIGSTOP): changes arrive within 15 s', async (t: TestContext) => {
    const victim = await watchMember(cluster.members);
    const survivors = cluster.members.filter((m) => m !== victim);
    const writer = cluster.client(survivors);
    const logFrom = proxy.logs.length;
    const pausedAt = Date.now();
    victim.pause();
    try {
      const paused = performance.now();
      const ms = await changesArrive(writer, 15_000 - (performance.now() - paused)).catch((err: Error) => {
        throw new Error(`${err.message} (${((performance.now() - paused) / 1000).toFixed(1)} s after SIGSTOP)\nproxy log since the pause:\n${logsSince(logFrom, pausedAt)}`);
      });
      const sincePause = performance.now() - paused;
      figures.record(t, 'member serving the watch paused (SIGSTOP)', 'put + delete (written right after SIGSTOP) arrived', `${sincePause.toFixed(0)} ms after SIGSTOP, ${ms.toFixed(0)} ms after the write (bound 15000 ms)`);
      t.diagnostic(`proxy log since the pause:\n${logsSince(logFrom, pausedAt)}`);
      // While the paused member is still stopped, later changes arrive at once.
      const later = await changesArrive(writer, 5000);
      figures.record(t, 'member serving the watch paused (SIGSTOP)', 'next change, member still paused', `${later.toFixed(0)} ms`);
      // With one member still paused, the table equals what the two others hold.
      await msUntilInSync(proxy, writer, 5000);
    } finally {
      victim.resume();
    }
  });

  test('the routes that never changed answered every request throughout', async (t: TestContext) => {
    const result = await load.stop();
    figures.record(t, 'load on unchanged routes during kills and pause', 'requests sent / failed', `${result.sent} / ${result.failed}`);
    figures.record(t, 'load on unchanged routes during kills and pause', 'slowest answer', result.maxMs, 'ms');
    assert.equal(result.failed, 0, JSON.stringify(result.failures.slice(0, 5)));
    assert.ok(result.sent > 100, `only ${result.sent} requests were sent`);
  });
});
