import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkGoals, verdict } from '../../../bench/lib/goals.ts';
import type { ThroughputRow } from '../../../bench/throughput.ts';

const row = (path: string, connections: number, rps: number, p99Ms: number, cpuUsPerRequest: number | null, backend = 'static'): ThroughputRow => ({
  backend,
  connections,
  path,
  rps,
  p50Ms: 0,
  p99Ms,
  cpuUsPerRequest,
  kernelUsPerRequest: null,
  rssMiB: null,
  errors: 0,
  xNginx: 0,
  xDirect: 0,
});

describe('checkGoals', () => {
  test("branch-proxy (default) against nginx and Caddy of the same connection count, static backend only", () => {
    const rows = [
      row('direct', 32, 200_000, 1, null),
      row('nginx-proxy', 32, 90_000, 2, 15),
      row('caddy', 32, 25_000, 6, 60),
      row('branch-proxy (default)', 32, 50_000, 4.5, 29),
      row('branch-proxy FAST_PATH=false', 32, 1, 100, 500),
      row('nginx-proxy', 32, 1, 1, 1, 'node'),
      row('branch-proxy (default)', 32, 1_000_000, 0.1, 0.1, 'node'),
    ];
    const checks = checkGoals(rows);
    assert.deepEqual(
      checks.map((c) => [c.goal, c.connections, Number(c.ratio?.toFixed(3)), verdict(c)]),
      [
        ["CPU per request ≤ 2× nginx's", 32, 1.933, 'ok'],
        ['req/s ≥ 0.5× nginx', 32, 0.556, 'ok'],
        ['req/s ≥ 2× Caddy', 32, 2, 'ok'],
        ["p99 ≤ 2× nginx's", 32, 2.25, 'short'],
      ],
    );
    assert.equal(checks[0]!.detail, '29.0 vs 15.0 µs');
  });

  test('each connection count is checked against its own references; a peer left out is "not measured", not a pass', () => {
    const rows = [
      row('nginx-proxy', 32, 100, 1, 10),
      row('branch-proxy (default)', 32, 60, 1, 10),
      row('nginx-proxy', 128, 100, 1, 10),
      row('branch-proxy (default)', 128, 40, 1, 30),
    ];
    const checks = checkGoals(rows);
    assert.deepEqual(
      checks.map((c) => [c.connections, c.goal, verdict(c)]),
      [
        [32, "CPU per request ≤ 2× nginx's", 'ok'],
        [32, 'req/s ≥ 0.5× nginx', 'ok'],
        [32, 'req/s ≥ 2× Caddy', '–'],
        [32, "p99 ≤ 2× nginx's", 'ok'],
        [128, "CPU per request ≤ 2× nginx's", 'short'],
        [128, 'req/s ≥ 0.5× nginx', 'short'],
        [128, 'req/s ≥ 2× Caddy', '–'],
        [128, "p99 ≤ 2× nginx's", 'ok'],
      ],
    );
    assert.equal(checks[2]!.detail, 'caddy not measured');
  });

  test('no goals without a branch-proxy (default) row', () => {
    assert.deepEqual(checkGoals([row('nginx-proxy', 32, 100, 1, 10), row('branch-proxy WORKERS=1', 32, 60, 1, 10)]), []);
  });
});
