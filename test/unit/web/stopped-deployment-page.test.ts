import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { notRoutedInfo } from '../../../src/web/error-info.ts';
import type { Stop } from '../../../src/registry/stop-tracker.ts';
import { tableOf } from '../web/table-fixture.ts';

const base = { scheme: 'http', port: ':8080' };

/** The 404 for `<deployment>.dev.localhost` when the deployment has no running service. */
function pageFor(stop: Stop | undefined, services: Record<string, number> = {}) {
  const table = tableOf({ 'feature-x': { branch: 'feature/x', created: '2026-01-01T00:00:00Z', services } });
  const resolution = table.resolve('feature-x', 'web');
  assert.equal(resolution.kind, 'unknown-service');
  if (resolution.kind !== 'unknown-service') throw new Error('unreachable');
  return notRoutedInfo(resolution, 'feature-x.dev.localhost', 'dev.localhost', table, base, 'web', { stops: { stop: () => stop } });
}

describe('the 404 page of a deployment without a running service', () => {
  test('stopped while the proxy watched: says so, when, and what to do; no empty list announced', () => {
    const at = Date.now() - 5 * 60_000;
    const info = pageFor({ at });
    assert.equal(info.error, 'unknown-service', 'the stable code stays');
    assert.equal(info.title, 'Deployment stopped');
    assert.match(info.message, /^feature-x is registered, but none of its services is running \(stopped 5m ago\)\. Deploy the branch again .*branch-proxy deregister --deployment feature-x/);
    assert.doesNotMatch(info.message, /listed below/);
    assert.equal(info.stopped, true);
    assert.equal(info.stoppedAt, new Date(at).toISOString());
  });

  test('stopped before the proxy loaded the registry: stopped, without a time', () => {
    const info = pageFor({ at: undefined });
    assert.match(info.message, /none of its services is running \(stopped\)\./);
    assert.equal(info.stopped, true);
    assert.equal('stoppedAt' in info, false);
  });

  test('not stopped and without services yet: waiting for its first one', () => {
    const info = pageFor(undefined);
    assert.match(info.message, /none of its services has registered yet/);
    assert.equal('stopped' in info, false);
  });

  test('running, but not the service asked for: its services are listed', () => {
    const info = pageFor(undefined, { api: 9000 });
    assert.match(info.message, /has no running service "web"\. Its services are listed below\./);
    assert.deepEqual(info.links?.map((l) => l.label), ['feature-x-api']);
  });
});
