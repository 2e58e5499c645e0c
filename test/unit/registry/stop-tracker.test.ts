import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { deploymentKey, serviceKey } from '../../../src/registry/keys.ts';
import type { RegistryEvent, RegistryKv } from '../../../src/registry/registry.ts';
import { latin1Page } from '../../../src/registry/range-response.ts';
import { Registry } from '../../../src/registry/registry.ts';
import { StopTracker } from '../../../src/registry/stop-tracker.ts';

const P = '/deployment/';
const kv = (key: string, value: string): RegistryKv => ({ key: Buffer.from(key), value: Buffer.from(value) });

/** A registry fed by hand (no etcd), a tracker on it, and a clock the test moves. */
function setUp(snapshot: RegistryKv[]) {
  const registry = new Registry(P, pino({ level: 'silent' }));
  let now = 1_000;
  const tracker = new StopTracker(registry, { now: () => now });
  let revision = 1;
  const table = registry.newTable();
  registry.load(table, latin1Page(snapshot));
  registry.replace(table, revision);
  const events = (...list: [type: 'put' | 'delete', key: string, value?: string][]): void => {
    revision++;
    registry.apply(list.map(([type, key, value = '']): RegistryEvent => ({ type, key: Buffer.from(key), value: Buffer.from(value), revision })));
  };
  return { registry, tracker, events, at: (ms: number) => (now = ms) };
}

const service = (deployment: string, name: string, port: number): RegistryKv[] => [
  kv(serviceKey(P, deployment, name, 'ip'), '127.0.0.1'),
  kv(serviceKey(P, deployment, name, 'port'), String(port)),
];
const created = (deployment: string): RegistryKv => kv(deploymentKey(P, deployment, 'created'), '2026-01-01T00:00:00Z');

describe('StopTracker: which deployments stopped, and when', () => {
  test('a deployment whose last service goes is stopped at that moment; one coming back is not', () => {
    const { tracker, events, at } = setUp([created('x'), ...service('x', 'web', 1), ...service('x', 'api', 2)]);
    assert.equal(tracker.stop('x'), undefined);
    at(2_000);
    // A lease revoke deletes ip and port at one revision.
    events(['delete', serviceKey(P, 'x', 'web', 'ip')], ['delete', serviceKey(P, 'x', 'web', 'port')]);
    assert.equal(tracker.stop('x'), undefined, 'api still runs');
    at(3_000);
    events(['delete', serviceKey(P, 'x', 'api', 'ip')], ['delete', serviceKey(P, 'x', 'api', 'port')]);
    assert.deepEqual(tracker.stop('x'), { at: 3_000 });
    events(['put', serviceKey(P, 'x', 'web', 'ip'), '127.0.0.1'], ['put', serviceKey(P, 'x', 'web', 'port'), '1']);
    assert.equal(tracker.stop('x'), undefined, 'running again');
  });

  test('already without services in the snapshot: stopped, time unknown', () => {
    const { tracker } = setUp([created('left'), ...service('live', 'web', 1)]);
    assert.deepEqual(tracker.stop('left'), { at: undefined });
    assert.equal(tracker.stop('live'), undefined);
  });

  test('created while watched and never given a service: not stopped (waiting for its first one)', () => {
    const { tracker, events } = setUp([]);
    events(['put', deploymentKey(P, 'new', 'created'), '2026-01-01T00:00:00Z']);
    assert.equal(tracker.stop('new'), undefined);
  });

  test('a deployment removed altogether is forgotten', () => {
    const { tracker, events } = setUp([created('x'), ...service('x', 'web', 1)]);
    events(['delete', serviceKey(P, 'x', 'web', 'ip')], ['delete', serviceKey(P, 'x', 'web', 'port')], ['delete', deploymentKey(P, 'x', 'created')]);
    assert.equal(tracker.stop('x'), undefined);
  });

  test('a later snapshot (after a gap): routes it removed count as stopped now; a known time is kept', () => {
    const { registry, tracker, events, at } = setUp([created('a'), ...service('a', 'web', 1), created('b'), ...service('b', 'web', 2)]);
    at(5_000);
    events(['delete', serviceKey(P, 'a', 'web', 'ip')], ['delete', serviceKey(P, 'a', 'web', 'port')]);
    at(9_000);
    const next = registry.newTable();
    registry.load(next, latin1Page([created('a'), created('b')]));
    registry.replace(next, 100);
    assert.deepEqual(tracker.stop('a'), { at: 5_000 });
    assert.deepEqual(tracker.stop('b'), { at: 9_000 });
  });

  test('close() stops listening', () => {
    const { tracker, events } = setUp([created('x'), ...service('x', 'web', 1)]);
    tracker.close();
    events(['delete', serviceKey(P, 'x', 'web', 'ip')]);
    assert.equal(tracker.stop('x'), undefined);
  });
});
