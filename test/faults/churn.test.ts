import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { serviceKey } from '../../src/registry/keys.ts';
import type { RouteChange } from '../../src/routing/route-table.ts';
import type { Backend } from '../helpers/backend.ts';
import type { EtcdServer } from '../helpers/etcd.ts';
import { useFixture } from '../helpers/fixture.ts';
import type { TestProxy } from '../helpers/proxy.ts';
import { waitFor } from '../helpers/wait.ts';
import { createFigures } from './lib/figures.ts';
import { startLoad } from './lib/load.ts';
import { DOMAIN, PREFIX, deregister, etcdRoutes, register, tableOf } from '../helpers/registry.ts';

const figures = createFigures(import.meta.filename);
const SECONDS = Number(process.env.FAULTS_CHURN_SECONDS ?? 30);
const RATE = 100;
const STABLE = 20;
const CHURNED = 100;
/** What each write to a churned deployment does to its route, in turn. */
const CYCLE: readonly RouteChange['type'][] = ['added', 'changed', 'removed'];

describe(`registry churn: ${RATE} route changes per second for ${SECONDS} s under load`, () => {
  const f = useFixture({
    backends: ['stable', 'a', 'b'],
    routes: Object.fromEntries(Array.from({ length: STABLE }, (_, i) => [`stable-${i}/web`, 'stable'])),
    settings: { LOG_LEVEL: 'warn' },
  });
  let etcd: EtcdServer;
  let stable: Backend;
  let a: Backend;
  let b: Backend;
  let proxy: TestProxy;

  before(() => {
    ({ etcd, proxy } = f);
    [stable, a, b] = [f.backend('stable'), f.backend('a'), f.backend('b')];
    assert.equal(tableOf(proxy).length, STABLE);
  });
  after(() => figures.finish());

  test('zero failed requests on unchanged routes; every change reaches the table', async (t: TestContext) => {
    const scenario = `${RATE} route changes/s for ${SECONDS} s under load`;
    // Per churned deployment, the changes written and not yet seen, oldest first. Writes to one
    // deployment are chained, so etcd applies them in the order they are listed here.
    const expected = new Map<string, { type: RouteChange['type']; writtenAt: number }[]>();
    const lags: number[] = [];
    let unexpected = 0;
    proxy.registry.on('route', (change) => {
      const entry = expected.get(change.deployment)?.shift();
      if (!entry) return;
      if (entry.type !== change.type) unexpected++;
      lags.push(performance.now() - entry.writtenAt);
    });

    const load = startLoad(proxy.port, Array.from({ length: STABLE }, (_, i) => ({ host: `stable-${i}.${DOMAIN}`, backend: 'stable' })), { connections: 8, maxMs: (SECONDS + 30) * 1000 });
    // Deployment k cycles added -> moved -> removed; each write is one route change.
    const chains = new Array<Promise<unknown>>(CHURNED).fill(Promise.resolve());
    const total = SECONDS * RATE;
    const started = performance.now();
    let inFlight = 0;
    let maxInFlight = 0;
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const k = i % CHURNED;
      const name = `churn-${k}`;
      const step = Math.floor(i / CHURNED) % 3;
      const entry = { type: CYCLE[step]!, writtenAt: 0 };
      if (!expected.has(name)) expected.set(name, []);
      expected.get(name)!.push(entry);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      chains[k] = chains[k]!.then(async () => {
        entry.writtenAt = performance.now();
        if (step === 0) await register(etcd.client, name, 'web', a.port);
        else if (step === 1) await etcd.client.put(serviceKey(PREFIX, name, 'web', 'port')).value(String(b.port));
        else await deregister(etcd.client, name);
        inFlight--;
      });
    }
    await Promise.all(chains);
    const writeSeconds = (performance.now() - started) / 1000;
    const unseen = (): number => [...expected.values()].reduce((n, q) => n + q.length, 0);
    await waitFor('every change seen', () => (unseen() === 0 ? true : undefined), 5000).catch(() => undefined);
    const lost = unseen();
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
    assert.equal(lost, 0, `changes never seen in: ${[...expected].filter(([, q]) => q.length).map(([d]) => d).slice(0, 10).join(' ')}`);
    assert.equal(unexpected, 0, 'route events of the wrong type');
    assert.ok(inSync, 'the table equals etcd at the end');
    assert.ok(total / writeSeconds > RATE * 0.9, `only ${(total / writeSeconds).toFixed(0)} changes per second were written`);
  });
});
