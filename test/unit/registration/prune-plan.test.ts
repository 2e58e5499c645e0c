import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeploymentSummary } from '../../../src/registration/deployment-summary.ts';
import { parseAge, planPrune, runningServices } from '../../../src/registration/prune-plan.ts';

describe('parseAge', () => {
  test('durations with units', () => {
    assert.equal(parseAge('7d'), 7 * 86_400_000);
    assert.equal(parseAge('12h'), 12 * 3_600_000);
    assert.equal(parseAge('30m'), 30 * 60_000);
    assert.equal(parseAge('1h30m'), 90 * 60_000);
    assert.equal(parseAge('2 weeks'), 14 * 86_400_000);
  });

  test('no unit, nonsense, zero or negative: undefined', () => {
    for (const bad of ['7', '1.5', '', 'soon', '0s', '-1d']) assert.equal(parseAge(bad), undefined, bad);
  });
});

test('planPrune: created before the cutoff is removed; no created time is kept and reported', () => {
  const now = Date.parse('2026-11-26T12:00:00Z');
  const d = (deployment: string, created?: string): DeploymentSummary => ({ deployment, created, branch: undefined, default: undefined, lastRequest: undefined, services: [] });
  const plan = planPrune([d('old', '2026-11-18T12:00:00Z'), d('edge', '2026-11-19T12:00:00Z'), d('new', '2026-11-25T12:00:00Z'), d('undated')], 7 * 86_400_000, now);
  assert.deepEqual(plan.remove.map((x) => x.deployment), ['old']);
  assert.deepEqual(plan.undated.map((x) => x.deployment), ['undated']);
});

test('runningServices: only services with both ip and port (the ones that lose a route when pruned)', () => {
  const service = (name: string, target: string | undefined) => ({ service: name, ip: '10.0.0.1', port: target ? 80 : undefined, target, leased: true });
  const d: DeploymentSummary = { deployment: 'x', created: undefined, branch: undefined, default: undefined, lastRequest: undefined, services: [service('api', '10.0.0.1:80'), service('half', undefined), service('web', '10.0.0.1:80')] };
  assert.deepEqual(runningServices(d), ['api', 'web']);
  assert.deepEqual(runningServices({ ...d, services: [] }), []);
});
