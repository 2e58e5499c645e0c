import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { useFixture } from '../helpers/fixture.ts';
import type { Exposition } from '../helpers/metrics.ts';
import { waitFor } from '../helpers/wait.ts';

const DOCUMENTED: Record<string, string> = {
  branch_proxy_requests_total: 'counter',
  branch_proxy_request_duration_seconds: 'histogram',
  branch_proxy_upstream_errors_total: 'counter',
  branch_proxy_websockets_open: 'gauge',
  branch_proxy_routes: 'gauge',
  branch_proxy_registry_connected: 'gauge',
  branch_proxy_registry_events_total: 'counter',
  branch_proxy_registry_resyncs_total: 'counter',
  branch_proxy_deployments: 'gauge',
  branch_proxy_wakes_total: 'counter',
  branch_proxy_wake_duration_seconds: 'histogram',
  branch_proxy_held_requests: 'gauge',
  branch_proxy_fast_path_total: 'counter',
};

describe('GET /metrics (admin port)', () => {
  const f = useFixture({ backends: ['b'], routes: { 'main/web': 'b', 'main/down': 1 }, deployments: { main: { created: '2026-01-01T00:00:00Z' } }, settings: { LOG_LEVEL: 'warn' } });
  const scrape = (): Promise<Exposition> => f.metrics();
  const value = (e: Exposition, name: string, labels?: Record<string, string>) => e.value(name, labels);

  test('parses as Prometheus text with every documented name, type and help, plus process metrics', async () => {
    const e = await scrape();
    for (const [name, type] of Object.entries(DOCUMENTED)) {
      assert.equal(e.types.get(name), type, `${name} is a ${type}`);
      assert.ok(e.help.get(name), `${name} has help`);
    }
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      assert.ok(e.types.has(name), `default metric ${name}`);
    }
    const ours = [...e.types.keys()].filter((n) => n.startsWith('branch_proxy_'));
    assert.deepEqual(ours.sort(), Object.keys(DOCUMENTED).sort(), 'exactly the documented names');
    assert.equal(value(e, 'branch_proxy_routes'), 2);
    assert.equal(value(e, 'branch_proxy_registry_connected'), 1);
    assert.ok((value(e, 'branch_proxy_registry_resyncs_total') ?? 0) >= 1, 'the first snapshot counts');
    assert.equal(value(e, 'branch_proxy_upstream_errors_total', { kind: 'refused' }), 0, 'every kind is there from the start');
  });

  test('requests, durations and upstream errors move with traffic', async () => {
    const before = await scrape();
    const ok = (b: Exposition) => value(b, 'branch_proxy_requests_total', { deployment: 'main', service: 'web', code: '200' }) ?? 0;
    for (let i = 0; i < 3; i++) assert.equal((await f.get('main.dev.localhost', '/echo')).status, 200);
    assert.equal((await f.get('main-down.dev.localhost', '/')).status, 502);
    const after = await scrape();
    assert.equal(ok(after) - ok(before), 3);
    assert.equal(value(after, 'branch_proxy_requests_total', { deployment: 'main', service: 'down', code: '502' }), 1);
    assert.equal(value(after, 'branch_proxy_upstream_errors_total', { kind: 'refused' }), 1);
    const count = (b: Exposition) => value(b, 'branch_proxy_request_duration_seconds_count') ?? 0;
    assert.equal(count(after) - count(before), 4);
    assert.equal(value(after, 'branch_proxy_request_duration_seconds_bucket', { le: '+Inf' }), count(after));
  });

  test('label cardinality stays bounded: unknown hosts and services share one label value', async () => {
    for (let i = 0; i < 25; i++) await f.get(`random-${i}.dev.localhost`, '/');
    for (let i = 0; i < 5; i++) await f.get(`main-nosuch${i}.dev.localhost`, '/');
    await f.get('elsewhere.example.org', '/');
    const e = await scrape();
    const series = e.samples.filter((s) => s.name === 'branch_proxy_requests_total');
    assert.deepEqual([...new Set(series.map((s) => s.labels.deployment))].sort(), ['(unknown)', 'main']);
    assert.equal(value(e, 'branch_proxy_requests_total', { deployment: '(unknown)', service: '(unknown)', code: '404' }), 25);
    assert.equal(value(e, 'branch_proxy_requests_total', { deployment: 'main', service: '(unknown)', code: '404' }), 5);
    assert.equal(value(e, 'branch_proxy_requests_total', { deployment: '(unknown)', service: '(unknown)', code: '421' }), 1);
  });

  test('a deployment that leaves the table takes its series with it; routes and registry events follow etcd', async () => {
    const before = await scrape();
    await f.register('temp', 'web', f.backend('b').port);
    await waitFor('route', () => (f.proxy.registry.table.routeCount === 3 ? true : undefined));
    await f.get('temp.dev.localhost', '/echo');
    const during = await scrape();
    assert.equal(value(during, 'branch_proxy_routes'), 3);
    assert.equal(value(during, 'branch_proxy_requests_total', { deployment: 'temp', service: 'web', code: '200' }), 1);
    assert.ok((value(during, 'branch_proxy_registry_events_total') ?? 0) >= (value(before, 'branch_proxy_registry_events_total') ?? 0) + 2);
    await f.deregister('temp');
    await waitFor('removal', () => (f.proxy.registry.table.deployments.has('temp') ? undefined : true));
    const after = await scrape();
    assert.equal(value(after, 'branch_proxy_routes'), 2);
    assert.equal(after.samples.filter((s) => s.labels.deployment === 'temp').length, 0);
  });

  test('branch_proxy_websockets_open counts forwarded WebSockets', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${f.proxy.port}/`, { headers: { host: 'main.dev.localhost' } });
    await new Promise((resolve, reject) => ws.once('message', resolve).once('error', reject));
    await waitFor('gauge at 1', async () => (value(await scrape(), 'branch_proxy_websockets_open') === 1 ? true : undefined));
    ws.close();
    await waitFor('gauge at 0', async () => (value(await scrape(), 'branch_proxy_websockets_open') === 0 ? true : undefined));
  });

  test('branch_proxy_registry_connected drops to 0 while etcd is away; a resync follows its return', async (t) => {
    const resyncs = value(await scrape(), 'branch_proxy_registry_resyncs_total') ?? 0;
    await f.etcd.stop();
    const { ms } = await waitFor('disconnected', async () => (value(await scrape(), 'branch_proxy_registry_connected') === 0 ? true : undefined), 30_000);
    t.diagnostic(`registry_connected 0 after ${ms.toFixed(0)} ms`);
    await f.etcd.start();
    await waitFor('reconnected', async () => (value(await scrape(), 'branch_proxy_registry_connected') === 1 ? true : undefined), 30_000);
    assert.ok((value(await scrape(), 'branch_proxy_registry_resyncs_total') ?? 0) > resyncs);
  });
});
