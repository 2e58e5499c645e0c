import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ActivityTracker } from '../../../src/activity/activity-tracker.ts';
import { decodeEntry } from '../../../src/registry/codec.ts';
import { tableOf } from '../web/table-fixture.ts';

describe('ActivityTracker', () => {
  test('remembers the last request per deployment and service', () => {
    let now = 1000;
    const tracker = new ActivityTracker(() => now);
    tracker.touch('main', 'web');
    now = 2000;
    tracker.touch('main', 'api');
    assert.equal(tracker.lastVisited({ name: 'main' }), 2000);
    assert.equal(tracker.serviceLastVisited('main', 'web'), 1000);
    assert.equal(tracker.serviceLastVisited('main', 'api'), 2000);
    assert.equal(tracker.lastVisited({ name: 'other' }), undefined);
  });

  test('the persisted time (from any replica) counts when it is later', () => {
    const tracker = new ActivityTracker(() => Date.parse('2026-01-02T00:00:00Z'));
    assert.equal(tracker.lastVisited({ name: 'main', lastRequest: '2026-01-01T00:00:00Z' }), Date.parse('2026-01-01T00:00:00Z'));
    tracker.touch('main', 'web');
    assert.equal(tracker.lastVisited({ name: 'main', lastRequest: '2026-01-01T00:00:00Z' }), Date.parse('2026-01-02T00:00:00Z'));
    assert.equal(tracker.lastVisited({ name: 'main', lastRequest: '2026-01-03T00:00:00Z' }), Date.parse('2026-01-03T00:00:00Z'));
  });

  test('takeDirty hands out each requested deployment once per round', () => {
    let now = 1;
    const tracker = new ActivityTracker(() => now);
    for (let i = 0; i < 100; i++) tracker.touch('main', 'web');
    now = 5;
    tracker.touch('feature', 'web');
    assert.deepEqual(tracker.takeDirty(), [{ deployment: 'main', last: 1 }, { deployment: 'feature', last: 5 }]);
    assert.deepEqual(tracker.takeDirty(), []);
    tracker.markDirty('main');
    assert.deepEqual(tracker.takeDirty(), [{ deployment: 'main', last: 1 }]);
  });

  test('forgets deployments and services that left the table', () => {
    const tracker = new ActivityTracker(() => 1);
    tracker.touch('gone', 'web');
    tracker.touch('main', 'web');
    tracker.touch('main', 'old');
    tracker.prune(tableOf({ main: { services: { web: 1 } } }).deployments);
    assert.equal(tracker.lastVisited({ name: 'gone' }), undefined);
    assert.equal(tracker.serviceLastVisited('main', 'old'), undefined);
    assert.equal(tracker.serviceLastVisited('main', 'web'), 1);
  });
});

describe('the last-request key', () => {
  test('decodes as deployment metadata and keeps a deployment in the table', () => {
    const ok = decodeEntry('/deployment/', '/deployment/main/last-request', Buffer.from('2026-01-01T00:00:00.000Z'));
    assert.deepEqual(ok, { ok: true, ref: { deployment: 'main', field: 'last-request' }, value: '2026-01-01T00:00:00.000Z' });
    const bad = decodeEntry('/deployment/', '/deployment/main/last-request', Buffer.from('yesterday'));
    assert.equal(bad.ok, false);
    const t = tableOf({ main: { lastRequest: '2026-01-01T00:00:00.000Z', services: { web: 1 } } });
    assert.equal(t.deployments.get('main')?.lastRequest, '2026-01-01T00:00:00.000Z');
    t.unset({ deployment: 'main', service: 'web', field: 'ip' });
    t.unset({ deployment: 'main', service: 'web', field: 'port' });
    assert.ok(t.deployments.has('main'), 'still has metadata');
    t.unset({ deployment: 'main', field: 'last-request' });
    assert.equal(t.deployments.has('main'), false);
  });
});
