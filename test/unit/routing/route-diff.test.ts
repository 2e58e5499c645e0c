import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { changedDeployments, diffRoutes } from '../../../src/routing/route-diff.ts';
import { RouteTable } from '../../../src/routing/route-table.ts';

function table(entries: [string, string, string, string | number][]): RouteTable {
  const t = new RouteTable();
  for (const [deployment, service, field, value] of entries) t.set({ deployment, service, field: field as 'ip' | 'port' }, value);
  return t;
}

describe('diffRoutes', () => {
  test('reports what a snapshot changes', () => {
    const before = table([['a', 'web', 'ip', 'x'], ['a', 'web', 'port', 1], ['b', 'web', 'ip', 'y'], ['b', 'web', 'port', 1]]);
    const after = table([['a', 'web', 'ip', 'x'], ['a', 'web', 'port', 2], ['c', 'web', 'ip', 'z'], ['c', 'web', 'port', 1]]);
    const changes = diffRoutes(before, after).map((c) => `${c.type} ${c.deployment}`).sort();
    assert.deepEqual(changes, ['added c', 'changed a', 'removed b']);
  });
});

describe('changedDeployments', () => {
  test('names deployments whose routes or metadata differ, and those that left', () => {
    const before = new RouteTable();
    const after = new RouteTable();
    for (const t of [before, after]) {
      t.set({ deployment: 'same', service: 'web', field: 'ip' }, 'a');
      t.set({ deployment: 'same', service: 'web', field: 'port' }, 1);
      t.set({ deployment: 'meta', field: 'branch' }, 'feature/x');
      t.set({ deployment: 'moved', service: 'web', field: 'ip' }, 'a');
    }
    before.set({ deployment: 'gone', field: 'created' }, '2026-01-01T00:00:00Z');
    after.set({ deployment: 'meta', field: 'created' }, '2026-01-01T00:00:00Z');
    after.set({ deployment: 'moved', service: 'web', field: 'port' }, 2);
    after.set({ deployment: 'new', field: 'default' }, 'api');
    before.set({ deployment: 'rebased', field: 'fallback' }, 'main');
    after.set({ deployment: 'rebased', field: 'fallback' }, 'release-2-4');
    assert.deepEqual([...changedDeployments(before, after)].sort(), ['gone', 'meta', 'moved', 'new', 'rebased']);
  });
});
