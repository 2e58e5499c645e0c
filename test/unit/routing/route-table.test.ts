import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RouteTable } from '../../../src/routing/route-table.ts';

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
    // Through JSON: targets derive address and origin on demand, and must serialise with them.
    assert.deepEqual(JSON.parse(JSON.stringify(change)), { deployment: 'main', service: 'web', type: 'added', target: { host: '10.0.0.1', port: 8080, address: '10.0.0.1:8080', origin: 'http://10.0.0.1:8080' } });
    assert.equal(change?.target?.origin, 'http://10.0.0.1:8080');
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

  test('a deployment keeps its services apart as they come and go', () => {
    const t = table([
      ['main', 'web', 'ip', 'a'], ['main', 'web', 'port', 1],
      ['main', 'api', 'ip', 'b'], ['main', 'api', 'port', 2],
      ['main', 'db', 'ip', 'c'], ['main', 'db', 'port', 3],
    ]);
    const services = t.deployments.get('main')!.services;
    assert.equal(services.size, 3);
    assert.deepEqual([...services.keys()], ['web', 'api', 'db']);
    assert.deepEqual([...services].map(([name, s]) => `${name}=${s.target?.address}`), ['web=a:1', 'api=b:2', 'db=c:3']);
    t.unset({ deployment: 'main', service: 'api', field: 'ip' });
    t.unset({ deployment: 'main', service: 'api', field: 'port' });
    assert.equal(services.has('api'), false);
    assert.deepEqual([...services.values()].map((s) => s.name), ['web', 'db']);
    t.unset({ deployment: 'main', service: 'web', field: 'ip' });
    t.unset({ deployment: 'main', service: 'web', field: 'port' });
    const names: string[] = [];
    services.forEach((s, name) => names.push(`${name}:${s.port}`));
    assert.deepEqual(names, ['db:3']);
    assert.equal(services.get('web'), undefined);
    const r = t.resolve('main-db', 'web');
    assert.equal(r.kind === 'route' && r.target.origin, 'http://c:3');
    t.unset({ deployment: 'main', service: 'db', field: 'port' });
    t.unset({ deployment: 'main', service: 'db', field: 'ip' });
    assert.equal(t.deployments.size, 0, 'the deployment left with its last service');
  });

  test('a single service can be replaced by another of a different name', () => {
    const t = table([['main', 'web', 'ip', 'a'], ['main', 'web', 'port', 1]]);
    t.unset({ deployment: 'main', service: 'web', field: 'ip' });
    t.unset({ deployment: 'main', service: 'web', field: 'port' });
    t.set({ deployment: 'main', field: 'branch' }, 'main');
    t.set({ deployment: 'main', service: 'api', field: 'ip' }, 'b');
    t.set({ deployment: 'main', service: 'api', field: 'port' }, 2);
    const d = t.deployments.get('main')!;
    assert.deepEqual([...d.services.keys()], ['api']);
    assert.equal(t.resolve('main-web', 'x').kind, 'unknown-service');
    t.unset({ deployment: 'main', field: 'branch' });
    assert.equal(d.branch, undefined);
    assert.equal(t.deployments.has('main'), true, 'still has a service');
  });

  test('a blocked backend has no target and says why; unblocking routes it', () => {
    const t = new RouteTable((host) => (host === 'bad' ? 'not allowed' : undefined));
    t.set({ deployment: 'main', service: 'web', field: 'port' }, 1);
    assert.equal(t.set({ deployment: 'main', service: 'web', field: 'ip' }, 'bad'), undefined);
    const s = t.deployments.get('main')!.services.get('web')!;
    assert.equal(s.blocked, 'not allowed');
    assert.equal(s.target, undefined);
    assert.equal(t.set({ deployment: 'main', service: 'web', field: 'ip' }, 'good')?.type, 'added');
    assert.equal(s.blocked, undefined);
    assert.equal(t.deployments.get('main')!.services.get('web')!.target?.address, 'good:1');
  });
});
