import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RegistryEntry } from '../../../src/registration/deployment-summary.ts';
import { formatAge, summarizeDeployments } from '../../../src/registration/deployment-summary.ts';

const P = '/deployment/';
const entry = (key: string, value: string, lease = '0'): RegistryEntry => ({ key: Buffer.from(P + key), value: Buffer.from(value), lease });

describe('summarizeDeployments', () => {
  test('groups keys into deployments and services, sorted by name', () => {
    const summary = summarizeDeployments(P, [
      entry('zeta/service/web/port', '80'),
      entry('alpha/service/web/ip', '10.0.0.1', '7587'),
      entry('alpha/service/web/port', '8080', '7587'),
      entry('alpha/service/api/ip', 'fd00::1'),
      entry('alpha/service/api/port', '9090'),
      entry('alpha/created', '2026-11-20T10:00:00.000Z'),
      entry('alpha/branch', 'Feature/Alpha'),
      entry('alpha/default', 'api'),
      entry('alpha/last-request', '2026-11-25T10:00:00.000Z'),
    ]);
    assert.deepEqual(summary, [
      {
        deployment: 'alpha',
        branch: 'Feature/Alpha',
        created: '2026-11-20T10:00:00.000Z',
        default: 'api',
        lastRequest: '2026-11-25T10:00:00.000Z',
        services: [
          { service: 'api', ip: 'fd00::1', port: 9090, target: '[fd00::1]:9090', leased: false },
          { service: 'web', ip: '10.0.0.1', port: 8080, target: '10.0.0.1:8080', leased: true },
        ],
      },
      {
        deployment: 'zeta',
        branch: undefined,
        created: undefined,
        default: undefined,
        lastRequest: undefined,
        services: [{ service: 'web', ip: undefined, port: 80, target: undefined, leased: false }],
      },
    ]);
  });

  test('a sleep record keeps a deployment listed; a bad one is ignored; the record\'s last wake wins over last-wake', () => {
    const record = { state: 'asleep', since: '2026-11-25T10:00:00.000Z', services: ['web'], lastWake: { at: '2026-11-25T09:00:00.000Z', error: 'wake command exited with status 1' } };
    const summary = summarizeDeployments(P, [
      entry('nap/sleep', JSON.stringify(record)),
      entry('nap/last-wake', JSON.stringify({ ms: 3000, at: '2026-11-20T10:00:00.000Z' })),
      entry('woke/last-wake', JSON.stringify({ ms: 3000, at: '2026-11-20T10:00:00.000Z' })),
      entry('woke/service/web/ip', '10.0.0.1'),
      entry('bad/sleep', JSON.stringify({ ...record, state: 'dozing' })),
      entry('Bad_Name/sleep', JSON.stringify(record)),
    ]);
    assert.deepEqual(
      summary.map((d) => ({ deployment: d.deployment, sleep: d.sleep, lastWake: d.lastWake })),
      [
        { deployment: 'nap', sleep: record, lastWake: record.lastWake },
        { deployment: 'woke', sleep: undefined, lastWake: { ms: 3000, at: '2026-11-20T10:00:00.000Z' } },
      ],
    );
  });

  test('ignores what the proxy ignores: foreign keys, bad names, bad values', () => {
    const summary = summarizeDeployments(P, [
      entry('ok/service/web/ip', '127.0.0.1'),
      entry('ok/service/web/port', 'eighty'),
      entry('ok/unknown', 'x'),
      entry('Bad_Name/service/web/ip', '127.0.0.1'),
      { key: Buffer.from('/other/ok/created'), value: Buffer.from('2026-01-01T00:00:00Z'), lease: '0' },
    ]);
    assert.equal(summary.length, 1);
    assert.deepEqual(summary[0]!.services, [{ service: 'web', ip: '127.0.0.1', port: undefined, target: undefined, leased: false }]);
  });
});

test('formatAge: the largest whole unit', () => {
  assert.equal(formatAge(-5), '0s');
  assert.equal(formatAge(59_999), '59s');
  assert.equal(formatAge(60_000), '1m');
  assert.equal(formatAge(3 * 3_600_000 + 59 * 60_000), '3h');
  assert.equal(formatAge(10 * 86_400_000), '10d');
});
