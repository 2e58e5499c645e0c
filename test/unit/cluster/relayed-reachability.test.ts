import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RelayedReachability } from '../../../src/cluster/relayed-reachability.ts';
import type { Target } from '../../../src/routing/route-table.ts';

const target = (port: number): Target => ({ host: '10.0.0.1', port, address: `10.0.0.1:${port}`, origin: `http://10.0.0.1:${port}` });

describe('RelayedReachability', () => {
  test('answers from the last message; a full message forgets targets it does not list', () => {
    const r = new RelayedReachability();
    assert.deepEqual(r.status(target(1)), { reachable: null, checkedAt: undefined });
    r.apply({ type: 'branch-proxy:reachability', full: true, entries: [['10.0.0.1:1', true, 5], ['10.0.0.1:2', false, 6]], changed: [] });
    assert.deepEqual(r.status(target(1)), { reachable: true, checkedAt: 5 });
    r.apply({ type: 'branch-proxy:reachability', full: false, entries: [['10.0.0.1:1', false, 7, 'the backend refused the connection']], changed: ['10.0.0.1:1'] });
    assert.deepEqual(r.status(target(1)), { reachable: false, checkedAt: 7, reason: 'the backend refused the connection' });
    assert.deepEqual(r.status(target(2)), { reachable: false, checkedAt: 6 });
    r.apply({ type: 'branch-proxy:reachability', full: true, entries: [['10.0.0.1:1', true, 8]], changed: [] });
    assert.deepEqual(r.status(target(2)), { reachable: null, checkedAt: undefined });
  });

  test('emits change with the flipped targets only when some flipped', () => {
    const r = new RelayedReachability();
    const seen: string[][] = [];
    r.on('change', (addresses) => seen.push(addresses));
    r.apply({ type: 'branch-proxy:reachability', full: true, entries: [], changed: [] });
    r.apply({ type: 'branch-proxy:reachability', full: false, entries: [['10.0.0.1:1', true, 1]], changed: ['10.0.0.1:1'] });
    assert.deepEqual(seen, [['10.0.0.1:1']]);
  });
});
