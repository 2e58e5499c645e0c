import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { serviceKey } from '../../src/registry/keys.ts';
import type { RouteChange } from '../../src/routing/route-table.ts';
import type { Backend } from '../helpers/backend.ts';
import { startBackend } from '../helpers/backend.ts';
import type { EtcdServer } from '../helpers/etcd.ts';
import { startEtcd } from '../helpers/etcd.ts';
import type { TestProxy } from '../helpers/proxy.ts';
import { startProxy } from '../helpers/proxy.ts';
import { waitFor } from '../helpers/wait.ts';
import { createFigures } from './lib/figures.ts';
import { startLoad } from './lib/load.ts';
import { DOMAIN, PREFIX, deregister, etcdRoutes, register, tableOf } from './lib/registry.ts';

const figures = createFigures(import.meta.filename);
const SECONDS = Number(process.env.FAULTS_CHURN_SECONDS ?? 30);
const RATE = 100;
const STABLE = 20;
const CHURNED = 100;

describe(`registry churn: ${RATE} route changes per second for ${SECONDS} s under load`, () => {
  let etcd: EtcdServer;
  let stable: Backend;
  let a: Backend;
  let b: Backend;
  let proxy: TestProxy;

  before(async () => {
    etcd = await startEtcd();
    stable = await startBackend('stable');
    a = await startBackend('a');
    b = await startBackend('b');
    for (let i = 0; i < STABLE; i++) await register(etcd.client, `stable-${i}`, 'web', stable.port);
    proxy = await startProxy(etcd.endpoint, { LOG_LEVEL: 'warn' });
    await waitFor('stable routes loaded', () => (tableOf(proxy).length === STABLE ? true : undefined), 10_000);
  });
  after(async () => {
    await proxy?.close();
    for (const backend of [stable, a, b]) await backend?.close();
    await etcd?.destroy();
    figures.finish();
  });

  test('zero failed requests on unchanged routes; every change reaches the table', async (t: TestContext) => {
    const scenario = `${RATE} route changes/s for ${SECONDS} s under load`;
    // When each churned deployment was last written, and what the table should show for it.
    const pending = new Map<string, { writtenAt: number; type: RouteChange['type'] }>();
    const lags: number[] = [];
    let unexpected = 0;
    proxy.registry.on('route', (change) => {
      const p = pending.get(change.deployment);
      if (!p) return;
      if (p.type !== change.type) unexpected++;
      lags.push(performance.now() - p.writtenAt);
      pending.delete(change.deployment);
    });

    const load = startLoad(proxy.port, Array.from({ length: STABLE }, (_, i) => ({ host: `stable-${i}.${DOMAIN}`, backend: 'stable' })), { connections: 8, maxMs: (SECONDS + 30) * 1000 });
    // Deployment k cycles added -> moved -> removed; each write is one route change.
    const phase = new Array<number>(CHURNED).fill(0);
    const total = SECONDS * RATE;
    const started = performance.now();
    let inFlight = 0;
    let maxInFlight = 0;
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const k = i % CHURNED;
      const name = `churn-${k}`;
      const step = phase[k]!++ % 3;
      const type: RouteChange['type'] = step === 0 ? 'added' : step === 1 ? 'changed' : 'removed';
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const writtenAt = performance.now();
      const write: Promise<unknown> =
        step === 0
          ? register(etcd.client, name, 'web', a.port)
          : step === 1
            ? etcd.client.put(serviceKey(PREFIX, name, 'web', 'port')).value(String(b.port)).then(() => undefined)
            : deregister(etcd.client, name);
      pending.set(name, { writtenAt, type });
      writes.push(write.finally(() => inFlight--));
      if (writes.length > 200) await Promise.all(writes.splice(0, 100));
    }
    await Promise.all(writes);
    const writeSeconds = (performance.now() - started) / 1000;
    await waitFor('every change seen', () => (pending.size === 0 ? true : undefined), 5000).catch(() => undefined);
    const lost = pending.size;
    const inSync = await waitFor('table equal to etcd', async () => (tableOf(proxy).join() === (await etcdRoutes(etcd.client)).join() ? true : undefined), 5000)
      .then(() => true)
      .catch(() => false);
    const result = await load.stop();
    lags.sort((x, y) => x - y);
    const pct = (p: number): string => (lags[Math.min(lags.length - 1, Math.floor(lags.length * p))] ?? NaN).toFixed(0);
    figures.record(t, scenario, 'route changes written / achieved rate', `${total} in ${writeSeconds.toFixed(1)} s (${(total / writeSeconds).toFixed(0)}/s, up to ${maxInFlight} writes in flight)`);
    figures.record(t, scenario, 'write -> route event in the table, p50 / p99 / max', `${pct(0.5)} / ${pct(0.99)} / ${pct(1)} ms`);
    figures.record(t, scenario, 'changes lost / table equal to etcd at the end', `${lost} / ${inSync ? 'yes' : 'no'}`);
    figures.record(t, scenario, 'requests on unchanged routes sent / failed', `${result.sent} / ${result.failed}`);
    figures.record(t, scenario, 'slowest answer / p99', `${result.maxMs.toFixed(1)} / ${result.p99Ms.toFixed(1)} ms`);
    assert.equal(result.failed, 0, JSON.stringify(result.failures.slice(0, 5)));
    assert.equal(lost, 0, `changes never seen: ${[...pending.keys()].slice(0, 10).join(' ')}`);
    assert.equal(unexpected, 0, 'route events of the wrong type');
    assert.ok(inSync, 'the table equals etcd at the end');
    assert.ok(total / writeSeconds > RATE * 0.9, `only ${(total / writeSeconds).toFixed(0)} changes per second were written`);
  });
});
