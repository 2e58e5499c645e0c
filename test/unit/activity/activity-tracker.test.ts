import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ActivityTracker } from '../../../src/activity/activity-tracker.ts';
import { nextWriteAt } from '../../../src/activity/activity-writer.ts';
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

  test('takeDirty hands out the service times of each touched deployment once per round; onDirty fires once per round', () => {
    let now = 1;
    let pokes = 0;
    const tracker = new ActivityTracker(() => now);
    tracker.onDirty(() => pokes++);
    for (let i = 0; i < 100; i++) tracker.touch('main', 'web');
    now = 5;
    tracker.touch('feature', 'web');
    tracker.touch('feature', 'api');
    assert.equal(pokes, 2, 'once per deployment, not per request');
    assert.deepEqual(tracker.takeDirty(), [['main', 'web', 1], ['feature', 'web', 5], ['feature', 'api', 5]]);
    assert.deepEqual(tracker.takeDirty(), []);
    tracker.touch('main', 'web');
    assert.equal(pokes, 3);
    assert.deepEqual(tracker.takeDirty(), [['main', 'web', 5]]);
  });

  test('merge keeps the later time per deployment and per service, reports what moved, and marks nothing dirty', () => {
    const table = tableOf({ main: { services: { web: 1, api: 2 } }, feature: { services: { web: 3 } } });
    let now = 10;
    const tracker = new ActivityTracker(() => now);
    tracker.touch('main', 'web');
    tracker.takeDirty();
    assert.deepEqual(tracker.merge([['main', 'web', 5], ['main', 'api', 7]], table), new Set(['main']), 'a new service time moved, the older web time did not');
    assert.equal(tracker.serviceLastVisited('main', 'web'), 10);
    assert.equal(tracker.serviceLastVisited('main', 'api'), 7);
    assert.equal(tracker.lastVisited({ name: 'main' }), 10);
    assert.deepEqual(tracker.merge([['main', 'web', 5]], table), new Set(), 'nothing moved');
    assert.deepEqual(tracker.merge([['feature', 'web', 20], ['gone', 'web', 30], ['main', 'old', 30], ['main', 'web', Number.NaN]], table), new Set(['feature']), 'only services in the table');
    assert.equal(tracker.lastVisited({ name: 'feature' }), 20);
    assert.equal(tracker.lastVisited({ name: 'gone' }), undefined);
    assert.deepEqual(tracker.takeDirty(), [], 'merged times are not relayed again');
    // Merging in any order gives the same record: the later time wins.
    const other = new ActivityTracker(() => now);
    other.merge([['feature', 'web', 20], ['main', 'api', 7], ['main', 'web', 10]], table);
    assert.deepEqual(new Set(other.visits()), new Set(tracker.visits()));
    now = 40;
    assert.deepEqual(tracker.visits(['feature']), [['feature', 'web', 20]]);
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

describe('nextWriteAt', () => {
  test('at once after a quiet interval; otherwise an interval after the persisted time and after our own last write', () => {
    assert.equal(nextWriteAt(undefined, undefined, 60_000), -Infinity, 'never written: at once');
    assert.equal(nextWriteAt(1_000, undefined, 60_000), 61_000);
    assert.equal(nextWriteAt(1_000, 30_000, 60_000), 90_000, 'our own write bounds the rate too');
    assert.equal(nextWriteAt(50_000, 30_000, 60_000), 110_000, 'another replica wrote later');
  });
});
