import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sleepStateKey } from '../../../src/registry/keys.ts';
import type { WakeResult } from '../../../src/metrics/wake-observer.ts';
import { SleepStepError } from '../../../src/sleep/driver.ts';
import type { SleepDriver, SleepTarget } from '../../../src/sleep/driver.ts';
import { Waker } from '../../../src/sleep/waker.ts';
import { memoryLogger } from '../../helpers/memory-logger.ts';
import { PREFIX } from '../../helpers/registry.ts';
import { waitFor } from '../../helpers/wait.ts';
import { MemoryEtcd } from './memory-etcd.ts';

/** Far longer than any test: a test that passes does not depend on the safety-net poll. */
const NO_POLL_MS = 60_000;

let stop: (() => void) | undefined;
afterEach(() => {
  stop?.();
  stop = undefined;
});

/**
 * A waker on an in-memory etcd. Ports in `accepting` accept connections; `onWake`
 * is the wake step (default: nothing, the test brings the services back itself).
 */
function setup(o: { wakeTimeoutMs?: number; onWake?: (target: SleepTarget) => void | Promise<void> } = {}) {
  const etcd = new MemoryEtcd();
  const accepting = new Set<number>();
  const wakes: string[] = [];
  const ended: WakeResult[] = [];
  let connects = 0;
  const driver: SleepDriver = {
    sleep: () => Promise.reject(new Error('the waker never sleeps')),
    wake: async (target) => {
      wakes.push(target.deployment);
      await o.onWake?.(target);
    },
  };
  const waker = new Waker({
    registry: etcd.registry,
    store: etcd.store,
    driver: async () => driver,
    accepts: async (target) => {
      connects++;
      return accepting.has(target.port);
    },
    wakeTimeoutMs: o.wakeTimeoutMs ?? 60_000,
    log: memoryLogger('silent').log,
    observer: { wakeEnded: (result) => ended.push(result) },
    pollMs: NO_POLL_MS,
  });
  stop = () => waker.stop();
  return { etcd, waker, accepting, wakes, ended, connects: () => connects };
}

const inTable = (etcd: MemoryEtcd, deployment: string) => waitFor(`${deployment}'s record in the table`, () => (etcd.registry.table.deployments.get(deployment)?.sleep ? true : undefined));
const state = (waker: Waker, deployment: string) => waker.state(deployment).state;

describe('Waker', () => {
  test('a visit claims the wake, runs the wake step once, and the deployment is awake as soon as its services accept connections, before the record is removed', async () => {
    const { etcd, waker, accepting, wakes, ended } = setup({ onWake: (t) => void setTimeout(() => etcd.register(t.deployment, 'web', 4001), 5) });
    etcd.asleep('feat', ['web']);
    await inTable(etcd, 'feat');
    assert.equal(state(waker, 'feat'), 'asleep');
    accepting.add(4001);
    let recordWhenAwake: unknown = 'never awake';
    waker.on('change', (d) => {
      if (d === 'feat' && recordWhenAwake === 'never awake' && state(waker, 'feat') === 'awake') recordWhenAwake = etcd.registry.table.deployments.get('feat')?.sleep?.state;
    });

    const first = waker.wake('feat');
    const second = waker.wake('feat');
    assert.equal(waker.running, 1, 'two visits, one job');
    await Promise.all([first, second]);

    assert.equal(recordWhenAwake, 'waking', 'held requests went while the record was still in the table');
    assert.deepEqual(wakes, ['feat'], 'the wake step ran once');
    assert.equal(etcd.record('feat'), undefined, 'the record is removed');
    const lastWake = JSON.parse(etcd.get(sleepStateKey(PREFIX, 'feat', 'last-wake')) ?? '{}') as { ms?: number };
    assert.ok(Number.isInteger(lastWake.ms), 'how long it took is kept for the next waiting page');
    assert.deepEqual(ended, ['ok']);
    await waitFor('removal in the table', () => (etcd.registry.table.deployments.get('feat')?.sleep === undefined ? true : undefined));
    assert.equal(state(waker, 'feat'), 'awake');
    assert.equal(waker.running, 0);
  });

  test('a service that is routed but refuses connections is tried again by itself, without waiting for an event or the poll', async () => {
    const { etcd, waker, accepting, connects } = setup();
    etcd.asleep('feat', ['web']);
    await inTable(etcd, 'feat');
    const woken = waker.wake('feat');
    await waitFor('the claim', () => (etcd.record('feat')?.state === 'waking' ? true : undefined));
    etcd.register('feat', 'web', 4002);
    await waitFor('two refused connections', () => (connects() >= 2 ? true : undefined));
    assert.equal(state(waker, 'feat'), 'waking');
    accepting.add(4002);
    await woken;
    assert.equal(etcd.record('feat'), undefined);
  });

  test('a failed wake step leaves the deployment asleep with a reason for visitors, ends the job, and is counted', async () => {
    const { etcd, waker, wakes, ended } = setup({
      onWake: () => {
        throw new SleepStepError('wake', 'WAKE_COMMAND exited with status 3: secret output', 'the wake command failed (exit status 3)', 'secret output');
      },
    });
    etcd.asleep('feat', ['web']);
    await inTable(etcd, 'feat');
    await waker.wake('feat');
    assert.deepEqual(wakes, ['feat']);
    assert.deepEqual(ended, ['failed']);
    const record = etcd.record('feat');
    assert.equal(record?.state, 'asleep');
    assert.equal(record?.owner, undefined, 'the claim is released');
    assert.equal(record?.lastWake?.error, 'the wake command failed (exit status 3)', 'the summary, never the hook output');
    await waitFor('the failure in the table', () => (waker.state('feat').state === 'asleep' && 'error' in waker.state('feat') ? true : undefined));
    assert.equal((waker.state('feat') as { error?: string }).error, 'the wake command failed (exit status 3)');
  });

  test('services not back within WAKE_TIMEOUT: the claiming process ends the wake when the timeout ends, not at its next poll', async () => {
    const { etcd, waker, ended } = setup({ wakeTimeoutMs: 300 });
    etcd.asleep('feat', ['web']);
    await inTable(etcd, 'feat');
    await waker.wake('feat');
    assert.deepEqual(ended, ['timeout']);
    assert.equal(etcd.record('feat')?.state, 'asleep');
    assert.match(etcd.record('feat')?.lastWake?.error ?? '', /^not back within 0 s$/);
  });

  test("another replica's wake in progress is waited for, not run again; this process removes the record once the services are up", async () => {
    const { etcd, waker, accepting, wakes, ended } = setup();
    accepting.add(4005);
    etcd.putRecord('feat', { state: 'waking', since: new Date().toISOString(), owner: 'other-replica:1:x', services: ['web'] });
    await waitFor('a job for the waking record, without a visit', () => (waker.running === 1 ? true : undefined));
    const visit = waker.wake('feat');
    etcd.register('feat', 'web', 4005);
    await visit;
    assert.deepEqual(wakes, [], 'the wake step is the claimer’s');
    assert.equal(etcd.record('feat'), undefined);
    assert.deepEqual(ended, ['ok']);
  });

  test('a claim older than WAKE_TIMEOUT (its owner died) is taken over: the wake step runs here', async () => {
    const { etcd, waker, wakes } = setup({ wakeTimeoutMs: 1000, onWake: (t) => etcd.register(t.deployment, 'web', 4006) });
    etcd.putRecord('feat', { state: 'waking', since: new Date(Date.now() - 5000).toISOString(), owner: 'dead-replica:1:x', services: ['web'] });
    await waitFor('the takeover', () => (etcd.record('feat')?.owner === waker.owner ? true : undefined));
    assert.deepEqual(wakes, ['feat']);
  });

  test('a deployment that registers again on its own (a new push) wakes with no wake step', async () => {
    const { etcd, waker, accepting, wakes, ended } = setup();
    accepting.add(4007);
    etcd.asleep('feat', ['web']);
    await inTable(etcd, 'feat');
    assert.equal(waker.running, 0, 'an asleep deployment nobody visits has no job');
    etcd.register('feat', 'web', 4007);
    await waitFor('the record removed', () => (etcd.record('feat') === undefined ? true : undefined));
    assert.deepEqual(wakes, []);
    assert.deepEqual(ended, ['registered']);
    assert.equal(etcd.get(sleepStateKey(PREFIX, 'feat', 'last-wake')), undefined, 'no wake ran, so no wake time');
  });

  test("a sleep's last step (the asleep record and the routes' removal in one batch) is not mistaken for the services coming back", async () => {
    const { etcd, waker, accepting } = setup();
    accepting.add(4008);
    etcd.register('feat', 'web', 4008);
    etcd.putRecord('feat', { state: 'sleeping', since: new Date().toISOString(), owner: 'sleeper:1:x', services: ['web'] });
    await inTable(etcd, 'feat');
    // The batch's first event shows an asleep record with its service still routed (and accepting).
    etcd.fallAsleep('feat', { state: 'asleep', since: new Date().toISOString(), services: ['web'] });
    await waitFor('routes gone', () => (etcd.registry.table.deployments.get('feat')?.services.get('web')?.target === undefined ? true : undefined));
    await waitFor('no job left', () => (waker.running === 0 ? true : undefined));
    assert.equal(etcd.record('feat')?.state, 'asleep', 'still asleep');
    assert.equal(state(waker, 'feat'), 'asleep');
  });

  test('stop() ends the waiting: a pending wake() resolves, the record is left for the next proxy', async () => {
    const { etcd, waker } = setup();
    etcd.asleep('feat', ['web']);
    await inTable(etcd, 'feat');
    const woken = waker.wake('feat');
    await waitFor('the claim', () => (etcd.record('feat')?.state === 'waking' ? true : undefined));
    waker.stop();
    await woken;
    assert.equal(etcd.record('feat')?.state, 'waking');
    assert.equal(waker.running, 0);
  });
});
