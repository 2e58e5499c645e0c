import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { ProxyMetrics } from '../../../src/metrics/proxy-metrics.ts';
import { WAKE_RESULTS } from '../../../src/metrics/wake-observer.ts';
import { Registry } from '../../../src/registry/registry.ts';

const PREFIX = '/deployment/';

/** A registry loaded from literal keys, as etcd would hand them over. */
function registryWith(keys: Record<string, string>): Registry {
  const registry = new Registry(PREFIX, pino({ level: 'silent' }));
  const table = registry.newTable();
  registry.load(table, Object.entries(keys).flatMap(([k, v]) => [PREFIX + k, v]));
  registry.replace(table, 1);
  return registry;
}

async function scrape(metrics: ProxyMetrics): Promise<string> {
  return (await metrics.text()).body;
}

describe('sleep and wake metrics', () => {
  test('every wake result is exported from the start, at 0', async () => {
    const metrics = new ProxyMetrics({ registry: registryWith({}), openWebSockets: () => 0 });
    try {
      const body = await scrape(metrics);
      for (const result of WAKE_RESULTS) {
        assert.match(body, new RegExp(`^branch_proxy_wakes_total\\{result="${result}"\\} 0$`, 'm'));
        assert.match(body, new RegExp(`^branch_proxy_wake_duration_seconds_count\\{result="${result}"\\} 0$`, 'm'));
      }
      assert.match(body, /^branch_proxy_held_requests 0$/m);
    } finally {
      metrics.close();
    }
  });

  test('a wake that ended is counted by result and its duration observed', async () => {
    const metrics = new ProxyMetrics({ registry: registryWith({}), openWebSockets: () => 0 });
    try {
      metrics.wakeEnded('ok', 12);
      metrics.wakeEnded('ok', 40);
      metrics.wakeEnded('timeout', 300);
      const body = await scrape(metrics);
      assert.match(body, /^branch_proxy_wakes_total\{result="ok"\} 2$/m);
      assert.match(body, /^branch_proxy_wakes_total\{result="timeout"\} 1$/m);
      assert.match(body, /^branch_proxy_wakes_total\{result="failed"\} 0$/m);
      assert.match(body, /^branch_proxy_wake_duration_seconds_sum\{result="ok"\} 52$/m);
      assert.match(body, /^branch_proxy_wake_duration_seconds_bucket\{le="20",result="ok"\} 1$/m);
    } finally {
      metrics.close();
    }
  });

  test('held requests go up and down', async () => {
    const metrics = new ProxyMetrics({ registry: registryWith({}), openWebSockets: () => 0 });
    try {
      metrics.held(1);
      metrics.held(1);
      metrics.held(-1);
      assert.match(await scrape(metrics), /^branch_proxy_held_requests 1$/m);
    } finally {
      metrics.close();
    }
  });

  test('deployments are counted by state at scrape time, every state listed', async () => {
    const metrics = new ProxyMetrics({
      registry: registryWith({
        'a/service/web/ip': '127.0.0.1',
        'a/service/web/port': '3000',
        'b/created': '2026-01-01T00:00:00Z',
        'c/sleep': JSON.stringify({ state: 'asleep', since: '2026-01-01T00:00:00Z', services: ['web'] }),
        'd/sleep': JSON.stringify({ state: 'asleep', since: '2026-01-01T00:00:00Z', services: ['web'] }),
        'e/sleep': JSON.stringify({ state: 'waking', since: '2026-01-01T00:00:00Z', services: ['web'] }),
      }),
      openWebSockets: () => 0,
    });
    try {
      const body = await scrape(metrics);
      assert.match(body, /^branch_proxy_deployments\{state="awake"\} 2$/m);
      assert.match(body, /^branch_proxy_deployments\{state="asleep"\} 2$/m);
      assert.match(body, /^branch_proxy_deployments\{state="waking"\} 1$/m);
      assert.match(body, /^branch_proxy_deployments\{state="sleeping"\} 0$/m);
    } finally {
      metrics.close();
    }
  });
});
