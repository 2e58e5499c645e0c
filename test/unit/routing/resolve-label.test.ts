import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resolution } from '../../../src/routing/route-types.ts';
import { RouteTable } from '../../../src/routing/route-table.ts';
import { inheritedServices } from '../../../src/routing/inherited-services.ts';
import { MAX_FALLBACK_STEPS, fallbackChain, inheritedDefault } from '../../../src/routing/resolve-label.ts';

/** Each service's backend host is `<deployment>.<service>`, so a route shows at once who served it. */
interface Fixture {
  readonly services?: readonly string[];
  readonly default?: string;
  readonly fallback?: string;
}

function tableOf(deployments: Record<string, Fixture>): RouteTable {
  const t = new RouteTable();
  for (const [deployment, d] of Object.entries(deployments)) {
    for (const service of d.services ?? []) {
      t.set({ deployment, service, field: 'ip' }, `${deployment}.${service}`);
      t.set({ deployment, service, field: 'port' }, 80);
    }
    if (d.default !== undefined) t.set({ deployment, field: 'default' }, d.default);
    if (d.fallback !== undefined) t.set({ deployment, field: 'fallback' }, d.fallback);
    if (d.services === undefined) t.set({ deployment, field: 'created' }, '2026-01-01T00:00:00Z');
  }
  return t;
}

/** One line per resolution: `route <asked>/<service> -> <backend host> [via <base>]`, or the miss. */
function show(r: Resolution): string {
  switch (r.kind) {
    case 'route':
      return `route ${r.deployment.name}/${r.service} -> ${r.target.host}${r.servedBy ? ` via ${r.servedBy.name}` : ''}`;
    case 'unknown-service':
      return `unknown-service ${r.deployment.name}/${r.service}`;
    case 'asleep':
      return `asleep ${r.deployment.name}/${r.service}${r.sleeper === r.deployment ? '' : ` wakes ${r.sleeper.name}`}`;
    case 'unknown-deployment':
      return `unknown-deployment ${r.label}`;
  }
}

const partial = { main: { services: ['web', 'api', 'auth'] }, 'feature-x': { services: ['web'] } };

describe('resolveLabel with a fallback deployment', () => {
  test('without a fallback, a service the branch did not deploy is a 404 as before', () => {
    const t = tableOf(partial);
    assert.equal(show(t.resolve('feature-x-api', 'web')), 'unknown-service feature-x/api');
    assert.equal(show(t.resolve('feature-x-api', 'web', undefined)), 'unknown-service feature-x/api');
  });

  test("a branch's missing service comes from the base, counted under the branch", () => {
    const t = tableOf(partial);
    assert.equal(show(t.resolve('feature-x-api', 'web', 'main')), 'route feature-x/api -> main.api via main');
    assert.equal(show(t.resolve('feature-x-web', 'web', 'main')), 'route feature-x/web -> feature-x.web', 'its own service wins');
    assert.equal(show(t.resolve('main-api', 'web', 'main')), 'route main/api -> main.api', 'the base itself is served directly');
  });

  test('a service nobody has is still a 404 naming the deployment asked for', () => {
    const t = tableOf(partial);
    assert.equal(show(t.resolve('feature-x-nope', 'web', 'main')), 'unknown-service feature-x/nope');
  });

  test('a label naming no deployment is a 404, not the base (a typo must not show main)', () => {
    const t = tableOf(partial);
    assert.equal(show(t.resolve('featur-x-api', 'web', 'main')), 'unknown-deployment featur-x-api');
    assert.equal(show(t.resolve('api', 'web', 'main')), 'unknown-deployment api');
    assert.equal(show(t.resolve('featur-x', 'web', 'main')), 'unknown-deployment featur-x');
  });

  test('registering the service switches to the branch; removing it switches back', () => {
    const t = tableOf(partial);
    t.set({ deployment: 'feature-x', service: 'api', field: 'ip' }, 'feature-x.api');
    assert.equal(show(t.resolve('feature-x-api', 'web', 'main')), 'route feature-x/api -> main.api via main', 'an incomplete registration is not routable yet');
    t.set({ deployment: 'feature-x', service: 'api', field: 'port' }, 80);
    assert.equal(show(t.resolve('feature-x-api', 'web', 'main')), 'route feature-x/api -> feature-x.api');
    t.unset({ deployment: 'feature-x', service: 'api', field: 'port' });
    assert.equal(show(t.resolve('feature-x-api', 'web', 'main')), 'route feature-x/api -> main.api via main');
  });

  test('a blocked service of the branch falls back like a missing one; a blocked one of the base is skipped', () => {
    const t = new RouteTable((host) => (host.startsWith('blocked') ? 'not allowed' : undefined));
    for (const [deployment, service, ip] of [['main', 'api', 'blocked.main.api'], ['release', 'api', 'release.api'], ['feature-x', 'api', 'blocked.feature-x.api']] as const) {
      t.set({ deployment, service, field: 'ip' }, ip);
      t.set({ deployment, service, field: 'port' }, 80);
    }
    t.set({ deployment: 'feature-x', field: 'fallback' }, 'main');
    t.set({ deployment: 'main', field: 'fallback' }, 'release');
    assert.equal(show(t.resolve('feature-x-api', 'web')), 'route feature-x/api -> release.api via release');
  });
});

describe('the default-service form <deployment>.<domain>', () => {
  test("opens the branch's own default service when it has it", () => {
    const t = tableOf({ main: { services: ['web', 'app'], default: 'app' }, 'feature-x': { services: ['web'] } });
    assert.equal(show(t.resolve('feature-x', 'web', 'main')), 'route feature-x/web -> feature-x.web');
  });

  test("falls back to the base's default service when the branch deployed only other services", () => {
    const t = tableOf({ main: { services: ['app', 'api'], default: 'app' }, 'feature-x': { services: ['api'] } });
    assert.equal(show(t.resolve('feature-x', 'web', 'main')), 'route feature-x/app -> main.app via main');
    assert.equal(inheritedDefault(t.deployments, t.deployments.get('feature-x')!, 'main'), 'app');
  });

  test("an inherited default the branch has itself is the branch's own", () => {
    const t = tableOf({ main: { services: ['app'], default: 'app' }, 'feature-x': { services: ['app', 'api'] } });
    assert.equal(show(t.resolve('feature-x', 'web', 'main')), 'route feature-x/app -> feature-x.app');
  });

  test("the branch's declared default is looked up in the base; DEFAULT_SERVICE when nobody declares one", () => {
    const t = tableOf({ main: { services: ['web', 'docs'] }, 'feature-x': { services: ['api'], default: 'docs' }, 'feature-y': { services: ['api'] } });
    assert.equal(show(t.resolve('feature-x', 'web', 'main')), 'route feature-x/docs -> main.docs via main');
    assert.equal(show(t.resolve('feature-y', 'web', 'main')), 'route feature-y/web -> main.web via main');
    assert.equal(show(t.resolve('feature-y', 'web')), 'unknown-service feature-y/web', 'no fallback: as before');
  });
});

describe('dash-heavy labels', () => {
  test('a split that names the base itself is not a way into the base', () => {
    // `main-x` is not registered; `main` + `x-api` is the only split that exists, and main has no x-api.
    const t = tableOf(partial);
    assert.equal(show(t.resolve('main-x-api', 'web', 'main')), 'unknown-service main/x-api');
  });

  test('a branch whose name starts with the base falls back from its own name, not from the shorter split', () => {
    const t = tableOf({ main: { services: ['web', 'api', 'feature-api'] }, 'main-feature': { services: ['web'] } });
    // Today's rule comes first: a split whose deployment has the service (`main` + `feature-api`) is a direct hit.
    assert.equal(show(t.resolve('main-feature-api', 'web', 'main')), 'route main/feature-api -> main.feature-api');
    const u = tableOf({ main: { services: ['web', 'api'] }, 'main-feature': { services: ['web'] } });
    assert.equal(show(u.resolve('main-feature-api', 'web', 'main')), 'route main-feature/api -> main.api via main');
    assert.equal(show(u.resolve('main-feature', 'web', 'main')), 'route main-feature/web -> main-feature.web');
  });

  test('the longest existing split is the deployment asked for', () => {
    const t = tableOf({ main: { services: ['api'] }, feature: { services: ['web'] }, 'feature-x': { services: ['web'] }, 'feature-x-y': { services: ['web'] } });
    assert.equal(show(t.resolve('feature-x-y-api', 'web', 'main')), 'route feature-x-y/api -> main.api via main');
    assert.equal(show(t.resolve('feature-x-z-api', 'web', 'main')), 'unknown-service feature-x/z-api', 'feature-x-z is not registered: feature-x asks main for z-api');
  });

  test('a shorter split that has the service beats falling back from a longer one (today’s rule first)', () => {
    const t = tableOf({ main: { services: ['api'] }, feature: { services: ['x-api'] }, 'feature-x': { services: ['web'] } });
    assert.equal(show(t.resolve('feature-x-api', 'web', 'main')), 'route feature/x-api -> feature.x-api');
  });

  test('a base whose name has dashes', () => {
    const t = tableOf({ 'release-2-4': { services: ['api', 'web'] }, 'feature-r': { services: ['web'], fallback: 'release-2-4' } });
    assert.equal(show(t.resolve('feature-r-api', 'web')), 'route feature-r/api -> release-2-4.api via release-2-4');
    assert.equal(show(t.resolve('release-2-4-api', 'web')), 'route release-2-4/api -> release-2-4.api');
  });
});

describe('chains, cycles and bases that go away', () => {
  test("a declared base overrides the proxy-wide one, and the chain continues to the base's base", () => {
    const t = tableOf({
      main: { services: ['web', 'api', 'auth'] },
      'release-2-4': { services: ['api'] },
      'feature-r': { services: ['web'], fallback: 'release-2-4' },
    });
    assert.equal(show(t.resolve('feature-r-api', 'web', 'main')), 'route feature-r/api -> release-2-4.api via release-2-4');
    assert.equal(show(t.resolve('feature-r-auth', 'web', 'main')), 'route feature-r/auth -> main.auth via main');
    assert.equal(show(t.resolve('feature-r-auth', 'web')), 'unknown-service feature-r/auth', 'without the setting, release-2-4 has no base');
    assert.deepEqual(fallbackChain(t.deployments, t.deployments.get('feature-r')!, 'main').map((d) => d.name), ['release-2-4', 'main']);
  });

  test(`the chain is followed ${MAX_FALLBACK_STEPS} steps and no further`, () => {
    const t = tableOf({
      a: { services: ['web'], fallback: 'b' },
      b: { services: ['one'], fallback: 'c' },
      c: { services: ['two'], fallback: 'd' },
      d: { services: ['three'], fallback: 'e' },
      e: { services: ['four'] },
    });
    assert.equal(show(t.resolve('a-one', 'web')), 'route a/one -> b.one via b');
    assert.equal(show(t.resolve('a-three', 'web')), 'route a/three -> d.three via d');
    assert.equal(show(t.resolve('a-four', 'web')), 'unknown-service a/four');
    assert.equal(show(t.resolve('b-four', 'web')), 'route b/four -> e.four via e');
    assert.deepEqual(fallbackChain(t.deployments, t.deployments.get('a')!, undefined).map((d) => d.name), ['b', 'c', 'd']);
  });

  test('a cycle ends the lookup instead of going round', () => {
    const t = tableOf({ a: { services: ['web'], fallback: 'b' }, b: { services: ['api'], fallback: 'a' }, self: { services: ['web'], fallback: 'self' } });
    assert.equal(show(t.resolve('a-api', 'web')), 'route a/api -> b.api via b');
    assert.equal(show(t.resolve('b-web', 'web')), 'route b/web -> a.web via a');
    assert.equal(show(t.resolve('a-nope', 'web')), 'unknown-service a/nope');
    assert.equal(show(t.resolve('self-nope', 'web', 'a')), 'unknown-service self/nope', 'a deployment that names itself has no base');
    assert.deepEqual(fallbackChain(t.deployments, t.deployments.get('a')!, undefined).map((d) => d.name), ['b']);
  });

  test('a cycle through the proxy-wide base ends too', () => {
    const t = tableOf({ main: { services: ['web'], fallback: 'feature-x' }, 'feature-x': { services: ['api'] } });
    assert.equal(show(t.resolve('feature-x-nope', 'web', 'main')), 'unknown-service feature-x/nope');
    assert.equal(show(t.resolve('main-api', 'web', 'main')), 'route main/api -> feature-x.api via feature-x');
  });

  test('a three-way cycle deeper in the chain ends too', () => {
    const t = tableOf({ a: { services: ['web'], fallback: 'b' }, b: { services: ['web'], fallback: 'c' }, c: { services: ['web'], fallback: 'b' } });
    assert.equal(show(t.resolve('a-nope', 'web')), 'unknown-service a/nope');
    assert.deepEqual(fallbackChain(t.deployments, t.deployments.get('a')!, undefined).map((d) => d.name), ['b', 'c']);
    assert.equal(inheritedDefault(t.deployments, t.deployments.get('a')!, undefined), undefined);
  });

  test('a base that disappears turns inherited services into 404s, and they come back with it', () => {
    const t = tableOf(partial);
    for (const s of ['web', 'api', 'auth']) {
      t.unset({ deployment: 'main', service: s, field: 'ip' });
      t.unset({ deployment: 'main', service: s, field: 'port' });
    }
    assert.equal(t.deployments.has('main'), false);
    assert.equal(show(t.resolve('feature-x-api', 'web', 'main')), 'unknown-service feature-x/api');
    t.set({ deployment: 'main', service: 'api', field: 'ip' }, 'main.api');
    t.set({ deployment: 'main', service: 'api', field: 'port' }, 80);
    assert.equal(show(t.resolve('feature-x-api', 'web', 'main')), 'route feature-x/api -> main.api via main');
  });

  test('a declared base that is not registered ends the chain rather than skipping to the proxy-wide one', () => {
    const t = tableOf({ main: { services: ['api'] }, 'feature-r': { services: ['web'], fallback: 'release-2-4' } });
    assert.equal(show(t.resolve('feature-r-api', 'web', 'main')), 'unknown-service feature-r/api');
    assert.deepEqual(fallbackChain(t.deployments, t.deployments.get('feature-r')!, 'main'), []);
  });

  test('removing the fallback key drops back to the proxy-wide base', () => {
    const t = tableOf({ main: { services: ['api'] }, 'release-2-4': { services: ['api'] }, 'feature-r': { services: ['web'], fallback: 'release-2-4' } });
    assert.equal(show(t.resolve('feature-r-api', 'web', 'main')), 'route feature-r/api -> release-2-4.api via release-2-4');
    t.unset({ deployment: 'feature-r', field: 'fallback' });
    assert.equal(show(t.resolve('feature-r-api', 'web', 'main')), 'route feature-r/api -> main.api via main');
  });

  test('a deployment holding only a fallback key stays in the table until the key goes', () => {
    const t = new RouteTable();
    t.set({ deployment: 'feature-x', field: 'fallback' }, 'main');
    assert.equal(t.deployments.get('feature-x')?.fallback, 'main');
    t.unset({ deployment: 'feature-x', field: 'fallback' });
    assert.equal(t.deployments.has('feature-x'), false);
  });
});

describe('inheritedServices', () => {
  test('lists what the bases would serve, nearest base first, without what the deployment runs itself', () => {
    const t = tableOf({
      main: { services: ['web', 'api', 'auth'] },
      'release-2-4': { services: ['api', 'search'] },
      'feature-r': { services: ['web'], fallback: 'release-2-4' },
    });
    const list = inheritedServices(t.deployments, t.deployments.get('feature-r')!, 'main');
    assert.deepEqual(list.map((s) => `${s.name} from ${s.from.name} at ${s.target.host}`), [
      'api from release-2-4 at release-2-4.api',
      'auth from main at main.auth',
      'search from release-2-4 at release-2-4.search',
    ]);
    for (const s of list) assert.equal(show(t.resolve(`feature-r-${s.name}`, 'web', 'main')), `route feature-r/${s.name} -> ${s.target.host} via ${s.from.name}`, 'the list says what a request gets');
    assert.deepEqual(inheritedServices(t.deployments, t.deployments.get('main')!, 'main'), [], 'the base inherits nothing from itself');
    assert.deepEqual(inheritedServices(t.deployments, t.deployments.get('feature-r')!, undefined).map((s) => s.name), ['api', 'search']);
  });
});

describe('sleeping deployments (issue #13)', () => {
  function asleep(t: RouteTable, deployment: string, services: string[], defaultService?: string): void {
    t.set({ deployment, field: 'sleep' }, { state: 'asleep', since: '2026-01-01T00:00:00Z', services, ...(defaultService ? { defaultService } : {}) });
  }

  test("a sleeping deployment's listed services resolve to asleep, by name and as its default", () => {
    const t = tableOf({ main: { services: ['web', 'api'] } });
    const u = new RouteTable();
    asleep(u, 'feature-x', ['app', 'api'], 'app');
    assert.equal(show(u.resolve('feature-x-api', 'web')), 'asleep feature-x/api');
    assert.equal(show(u.resolve('feature-x', 'web')), 'asleep feature-x/app', "the record's default service");
    assert.equal(show(u.resolve('feature-x-nope', 'web')), 'unknown-service feature-x/nope');
    asleep(t, 'feature-x', ['api']);
    assert.equal(show(t.resolve('feature-x-api', 'web', 'main')), 'asleep feature-x/api', 'its own listed service wakes it, rather than falling back');
    assert.equal(show(t.resolve('feature-x-web', 'web', 'main')), 'route feature-x/web -> main.web via main', 'a service it does not list still falls back');
  });

  test('a base that is asleep wakes for the branches that fall back to it', () => {
    const t = tableOf({ 'feature-x': { services: ['api'] } });
    asleep(t, 'main', ['web', 'api']);
    assert.equal(show(t.resolve('feature-x-web', 'web', 'main')), 'asleep feature-x/web wakes main');
    assert.equal(show(t.resolve('feature-x-api', 'web', 'main')), 'route feature-x/api -> feature-x.api');
    assert.equal(show(t.resolve('feature-x-web', 'web')), 'unknown-service feature-x/web', 'no base: nothing to wake');
  });

  test('a routed service wins over the record (re-registered before the record is removed)', () => {
    const t = tableOf({ 'feature-x': { services: ['api'] } });
    asleep(t, 'feature-x', ['api']);
    assert.equal(show(t.resolve('feature-x-api', 'web')), 'route feature-x/api -> feature-x.api');
  });

  test('a deployment with only a record stays known; removing the record forgets it', () => {
    const t = new RouteTable();
    asleep(t, 'feature-x', ['web']);
    t.set({ deployment: 'feature-x', field: 'last-wake' }, { ms: 1200, at: '2026-01-01T00:00:00Z' });
    assert.deepEqual(t.deployments.get('feature-x')?.lastWake, { ms: 1200, at: '2026-01-01T00:00:00Z' });
    t.unset({ deployment: 'feature-x', field: 'sleep' });
    assert.equal(t.deployments.get('feature-x')?.sleep, undefined);
    t.unset({ deployment: 'feature-x', field: 'last-wake' });
    assert.equal(t.deployments.has('feature-x'), false);
  });
});
