import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IdleCandidate } from '../../../src/sleep/idle-policy.ts';
import { deploymentsToSleep, lastActivityMs, sweepIntervalMs } from '../../../src/sleep/idle-policy.ts';

const NOW = Date.parse('2026-01-30T12:00:00.000Z');
const MIN = 60_000;
const at = (minutesAgo: number) => new Date(NOW - minutesAgo * MIN).toISOString();
const d = (name: string, over: Partial<IdleCandidate> = {}): IdleCandidate => ({ name, created: at(600), openStreams: 0, hasSleepRecord: false, routedServices: 1, ...over });

describe('idle policy', () => {
  test('idle after SLEEP_AFTER of no request, longest idle first; exactly SLEEP_AFTER counts as idle', () => {
    const all = [d('recent', { lastRequest: at(29) }), d('boundary', { lastRequest: at(30) }), d('old', { lastRequest: at(300) }), d('never-opened')];
    assert.deepEqual(deploymentsToSleep(all, 30 * MIN, NOW), ['never-opened', 'old', 'boundary']);
  });

  test('created counts as activity: a fresh deployment, or one registered again, stays awake', () => {
    assert.deepEqual(deploymentsToSleep([d('fresh', { created: at(5) }), d('redeployed', { created: at(5), lastRequest: at(600) })], 30 * MIN, NOW), []);
  });

  test("this host's activity not yet written to etcd keeps a deployment awake", () => {
    const c = d('busy', { lastRequest: at(120), localActivityMs: NOW - 1000 });
    assert.equal(lastActivityMs(c), NOW - 1000);
    assert.deepEqual(deploymentsToSleep([c], 30 * MIN, NOW), []);
    assert.deepEqual(deploymentsToSleep([d('stale-local', { lastRequest: at(10), localActivityMs: NOW - 120 * MIN })], 30 * MIN, NOW), []);
  });

  test('an open WebSocket or stream, an existing record, or no routed service: never put to sleep', () => {
    const old = { lastRequest: at(600) };
    const all = [d('socket', { ...old, openStreams: 1 }), d('asleep', { ...old, hasSleepRecord: true }), d('no-routes', { ...old, routedServices: 0 }), d('idle', old)];
    assert.deepEqual(deploymentsToSleep(all, 30 * MIN, NOW), ['idle']);
  });

  test('without any time, a deployment is never idle', () => {
    assert.deepEqual(deploymentsToSleep([d('undated', { created: undefined })], 1, NOW), []);
    assert.equal(lastActivityMs(d('local-only', { created: undefined, localActivityMs: 5 })), 5);
  });

  test('sweep interval: a quarter of SLEEP_AFTER, between 1 s and 30 s', () => {
    assert.equal(sweepIntervalMs(2 * MIN), 30_000);
    assert.equal(sweepIntervalMs(60 * MIN), 30_000);
    assert.equal(sweepIntervalMs(20_000), 5000);
    assert.equal(sweepIntervalMs(100), 1000);
  });
});
