import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Target } from '../../../src/routing/route-table.ts';
import { viewDeployment, viewDeployments } from '../../../src/web/deployments-view.ts';
import { tableOf } from './table-fixture.ts';

const base = { scheme: 'https', port: ':8443' };

describe('deployment views (the API shape)', () => {
  test('newest first; deployments without a created time last, by name', () => {
    const t = tableOf({
      old: { created: '2026-01-01T00:00:00Z', services: { web: 1 } },
      zeta: { services: { web: 1 } },
      alpha: { services: { web: 1 } },
      // An offset that sorts wrong as a string: 2026-01-02T01:00:00Z.
      offset: { created: '2026-01-02T02:00:00+01:00', services: { web: 1 } },
      new: { created: '2026-01-02T00:30:00Z', services: { web: 1 } },
    });
    assert.deepEqual(
      viewDeployments(t, { defaultService: 'web' }, base, 'dev.example.com').map((d) => d.name),
      ['offset', 'new', 'old', 'alpha', 'zeta'],
    );
  });

  test('every documented field, default service first, links in the visitor scheme and port', () => {
    const t = tableOf({
      'feature-x': { branch: 'feature/X', created: '2026-01-01T00:00:00Z', default: 'web', lastRequest: '2026-01-03T00:00:00.000Z', services: { api: 9001, web: 9000, half: 'no-port' } },
    });
    const d = t.deployments.get('feature-x')!;
    const view = viewDeployment(
      d,
      {
        defaultService: 'ignored',
        activity: { lastVisited: () => Date.parse('2026-01-04T00:00:00Z'), serviceLastVisited: (_d, s) => (s === 'api' ? Date.parse('2026-01-04T00:00:00Z') : undefined) },
        reachability: { status: (target: Target) => (target.port === 9000 ? { reachable: true, checkedAt: Date.parse('2026-01-05T00:00:00Z') } : { reachable: false, checkedAt: 0, reason: 'the backend refused the connection' }) },
      },
      base,
      'dev.example.com',
    );
    assert.deepEqual(view, {
      name: 'feature-x',
      branch: 'feature/X',
      created: '2026-01-01T00:00:00Z',
      defaultService: 'web',
      url: 'https://feature-x.dev.example.com:8443',
      lastVisited: '2026-01-04T00:00:00.000Z',
      stopped: false,
      stoppedAt: null,
      state: 'awake',
      stateSince: null,
      lastWake: null,
      services: [
        { name: 'web', url: 'https://feature-x-web.dev.example.com:8443', default: true, target: '127.0.0.1:9000', routable: true, reachable: true, checkedAt: '2026-01-05T00:00:00.000Z', unreachableReason: null, lastVisited: null },
        { name: 'api', url: 'https://feature-x-api.dev.example.com:8443', default: false, target: '127.0.0.1:9001', routable: true, reachable: false, checkedAt: '1970-01-01T00:00:00.000Z', unreachableReason: 'the backend refused the connection', lastVisited: '2026-01-04T00:00:00.000Z' },
        { name: 'half', url: 'https://feature-x-half.dev.example.com:8443', default: false, target: null, routable: false, reachable: null, checkedAt: null, unreachableReason: null, lastVisited: null },
      ],
    });
  });

  test('a sleeping deployment: its state and since when, the last wake, and the services its record lists, not stopped', () => {
    const t = tableOf({ nap: { created: '2026-01-01T00:00:00Z' } });
    t.set({ deployment: 'nap', field: 'sleep' }, { state: 'asleep', since: '2026-01-02T00:00:00.000Z', services: ['web', 'api'], defaultService: 'web', lastWake: { at: '2026-01-01T12:00:00.000Z', error: 'wake command exited with status 1' } });
    t.set({ deployment: 'nap', field: 'last-wake' }, { ms: 4000, at: '2026-01-01T06:00:00.000Z' });
    const d = t.deployments.get('nap')!;
    const view = viewDeployment(d, { defaultService: 'app', stops: { stop: () => ({ at: 0 }) } }, base, 'dev.example.com');
    assert.equal(view.state, 'asleep');
    assert.equal(view.stateSince, '2026-01-02T00:00:00.000Z');
    assert.deepEqual(view.lastWake, { ms: null, at: '2026-01-01T12:00:00.000Z', error: 'wake command exited with status 1' });
    assert.equal(view.stopped, false);
    assert.equal(view.defaultService, 'web');
    assert.deepEqual(
      view.services.map((s) => [s.name, s.url, s.default, s.routable, s.target]),
      [
        ['web', 'https://nap-web.dev.example.com:8443', true, false, null],
        ['api', 'https://nap-api.dev.example.com:8443', false, false, null],
      ],
    );

    t.unset({ deployment: 'nap', field: 'sleep' });
    const awake = viewDeployment(d, { defaultService: 'app' }, base, 'dev.example.com');
    assert.deepEqual([awake.state, awake.stateSince, awake.lastWake], ['awake', null, { ms: 4000, at: '2026-01-01T06:00:00.000Z', error: null }]);
    assert.deepEqual(awake.services, []);
  });

  test('without activity or probes the fields are null', () => {
    const t = tableOf({ main: { services: { web: 1 } } });
    const view = viewDeployment(t.deployments.get('main')!, { defaultService: 'web' }, { scheme: 'http', port: '' }, 'dev.localhost');
    assert.equal(view.lastVisited, null);
    assert.equal(view.branch, null);
    assert.equal(view.created, null);
    assert.equal(view.url, 'http://main.dev.localhost');
    assert.deepEqual([view.services[0]!.reachable, view.services[0]!.checkedAt, view.services[0]!.default], [null, null, true]);
  });

  test('a stopped deployment says so, with the time the proxy saw its last service go when it knows it', () => {
    const t = tableOf({ gone: { created: '2026-01-01T00:00:00Z' }, old: { created: '2026-01-01T00:00:00Z' }, live: { services: { web: 1 } } });
    const stops = new Map([
      ['gone', { at: Date.parse('2026-01-02T03:04:05Z') }],
      ['old', { at: undefined }],
    ]);
    const views = viewDeployments(t, { defaultService: 'web', stops: { stop: (name) => stops.get(name) } }, base, 'dev.example.com');
    assert.deepEqual(
      views.map((v) => [v.name, v.stopped, v.stoppedAt]),
      [
        ['gone', true, '2026-01-02T03:04:05.000Z'],
        ['old', true, null],
        ['live', false, null],
      ],
    );
  });
});
