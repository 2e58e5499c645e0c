import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RouteTable, changedDeployments, diffRoutes } from '../../../src/routing/route-table.ts';

function table(entries: [string, string, string, string | number][]): RouteTable {
  const t = new RouteTable();
  for (const [deployment, service, field, value] of entries) {
    if (field === 'ip' || field === 'port') t.set({ deployment, service, field }, value);
    else t.set({ deployment, field: field as 'default' }, value);
  }
  return t;
}

describe('RouteTable', () => {
  test('a service is routable only with both ip and port', () => {
    const t = new RouteTable();
    assert.equal(t.set({ deployment: 'main', service: 'web', field: 'ip' }, '10.0.0.1'), undefined);
    assert.equal(t.resolve('main', 'web').kind, 'unknown-service');
    const change = t.set({ deployment: 'main', service: 'web', field: 'port' }, 8080);
    assert.deepEqual(change, { deployment: 'main', service: 'web', type: 'added', target: { host: '10.0.0.1', port: 8080, address: '10.0.0.1:8080', origin: 'http://10.0.0.1:8080' } });
    assert.equal(t.routeCount, 1);
    const r = t.resolve('main', 'web');
    assert.equal(r.kind, 'route');
    assert.equal(r.kind === 'route' && r.target.address, '10.0.0.1:8080');
  });

  test('changing and removing fields report changed and removed', () => {
    const t = table([['main', 'web', 'ip', '10.0.0.1'], ['main', 'web', 'port', 80]]);
    assert.equal(t.set({ deployment: 'main', service: 'web', field: 'port' }, 81)?.type, 'changed');
    assert.equal(t.set({ deployment: 'main', service: 'web', field: 'port' }, 81), undefined, 'same value is no change');
    assert.equal(t.unset({ deployment: 'main', service: 'web', field: 'ip' })?.type, 'removed');
    assert.equal(t.routeCount, 0);
    t.unset({ deployment: 'main', service: 'web', field: 'port' });
    assert.equal(t.deployments.size, 0, 'an empty deployment disappears');
  });

  test('IPv6 targets print bracketed', () => {
    const t = table([['main', 'web', 'ip', '::1'], ['main', 'web', 'port', 80]]);
    const r = t.resolve('main-web', 'x');
    assert.equal(r.kind === 'route' && r.target.address, '[::1]:80');
  });

  test('exact deployment name opens its default service, or the fallback', () => {
    const t = table([
      ['main', 'web', 'ip', 'a'], ['main', 'web', 'port', 1],
      ['main', 'api', 'ip', 'b'], ['main', 'api', 'port', 2],
    ]);
    const fallback = t.resolve('main', 'web');
    assert.equal(fallback.kind === 'route' && fallback.service, 'web');
    t.set({ deployment: 'main', field: 'default' }, 'api');
    const chosen = t.resolve('main', 'web');
    assert.equal(chosen.kind === 'route' && chosen.service, 'api');
  });

  test('dash split takes the longest deployment name that has the service', () => {
    const t = table([
      ['feature', 'login-api', 'ip', 'short'], ['feature', 'login-api', 'port', 1],
      ['feature-login', 'api', 'ip', 'long'], ['feature-login', 'api', 'port', 2],
      ['feature-login', 'web', 'ip', 'web'], ['feature-login', 'web', 'port', 3],
    ]);
    const r = t.resolve('feature-login-api', 'web');
    assert.equal(r.kind === 'route' && r.target.host, 'long');
    const other = t.resolve('feature-login-web', 'web');
    assert.equal(other.kind === 'route' && other.deployment.name, 'feature-login');
    // Only the shorter split has this service.
    t.unset({ deployment: 'feature-login', service: 'api', field: 'ip' });
    const fallback = t.resolve('feature-login-api', 'web');
    assert.equal(fallback.kind === 'route' && fallback.target.host, 'short');
  });

  test('unknown service names the deployment that matched; unknown deployment names the label', () => {
    const t = table([['feature-login', 'web', 'ip', 'a'], ['feature-login', 'web', 'port', 1]]);
    const r = t.resolve('feature-login-nope', 'web');
    assert.equal(r.kind, 'unknown-service');
    assert.equal(r.kind === 'unknown-service' && r.deployment.name, 'feature-login');
    assert.equal(r.kind === 'unknown-service' && r.service, 'nope');
    assert.deepEqual(t.resolve('other-web', 'web'), { kind: 'unknown-deployment', label: 'other-web' });
    assert.deepEqual(t.resolve('-', 'web'), { kind: 'unknown-deployment', label: '-' });
  });

  test('diffRoutes reports what a snapshot changes', () => {
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
    assert.deepEqual([...changedDeployments(before, after)].sort(), ['gone', 'meta', 'moved', 'new']);
  });
});
