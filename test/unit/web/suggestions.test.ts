import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { slugify } from '../../../src/registration/slug.ts';
import { suggestDeployments } from '../../../src/web/suggestions.ts';
import { tableOf } from './table-fixture.ts';

const table = tableOf({
  'feature-login': { branch: 'feature/login', created: '2026-01-03T00:00:00Z', services: { web: 1, api: 2 } },
  'feature-login-v2': { branch: 'feature/login-v2', created: '2026-01-04T00:00:00Z', services: { web: 1 } },
  'feature-search': { branch: 'feature/search', created: '2026-01-02T00:00:00Z', services: { web: 1 } },
  main: { branch: 'main', created: '2026-01-01T00:00:00Z', services: { web: 1 } },
  'jira-123-fix': { branch: 'JIRA-123_Fix', created: '2026-01-05T00:00:00Z', services: { web: 1 } },
});
const suggest = (label: string) => suggestDeployments(label, table.deployments.values()).map((s) => (s.service ? `${s.deployment.name}-${s.service}` : s.deployment.name));

describe('suggestDeployments ("did you mean")', () => {
  test('a typo finds the deployment', () => {
    assert.equal(suggest('feature-logn')[0], 'feature-login');
    assert.equal(suggest('mian')[0], 'main');
  });

  test('a typo in the deployment keeps the service suffix when the deployment has that service', () => {
    assert.equal(suggest('featur-login-api')[0], 'feature-login-api');
  });

  test('a suffix the deployment lacks still points at the deployment', () => {
    assert.equal(suggest('featur-login-nosuch')[0], 'feature-login');
  });

  test('a name missing its suffix, or a renamed branch, finds the longer names', () => {
    assert.deepEqual(suggest('feature').sort(), ['feature-login', 'feature-login-v2', 'feature-search']);
    // feature/login was renamed to feature/login-v2 and the old deployment is gone:
    const renamed = tableOf({ 'feature-login-v2': { services: { web: 1 } }, main: { services: { web: 1 } } });
    assert.deepEqual(
      suggestDeployments('feature-login', renamed.deployments.values()).map((s) => s.deployment.name),
      ['feature-login-v2'],
    );
  });

  test('the branch slug matches too', () => {
    const byBranch = tableOf({ 'pr-42': { branch: 'feature/checkout', services: { web: 1 } } });
    assert.deepEqual(
      suggestDeployments('feature-checkot', byBranch.deployments.values()).map((s) => s.deployment.name),
      ['pr-42'],
    );
  });

  // Regression: suggestions slugged branches their own way (Unicode lowercase, no
  // hash), so they matched names registration never produces and missed the ones it does.
  test('the branch slug is the one registration names deployments with (long and non-ASCII branches)', () => {
    const long = 'feature/an-uncommonly-long-branch-name-for-the-login-form';
    const turkish = 'İİİİİİİİ-fix';
    const registered = tableOf({
      'pr-7': { branch: long, services: { web: 1 } },
      'pr-9': { branch: turkish, services: { web: 1 } },
    });
    const ask = (label: string) => suggestDeployments(label, registered.deployments.values()).map((s) => s.deployment.name);
    assert.equal(slugify(long).length, 40, 'a long branch is shortened with a hash');
    assert.deepEqual(ask(slugify(long)), ['pr-7']);
    assert.equal(slugify(turkish), 'fix');
    assert.deepEqual(ask('fix'), ['pr-9']);
  });

  test('a branch with no letters or digits matches by deployment name only', () => {
    const odd = tableOf({ 'pr-5': { branch: '😀', services: { web: 1 } } });
    assert.deepEqual(suggestDeployments('pr-6', odd.deployments.values()).map((s) => s.deployment.name), ['pr-5']);
  });

  test('a close match hides far-fetched ones; nothing alike gives nothing', () => {
    assert.deepEqual(suggest('feature-serch'), ['feature-search']);
    assert.deepEqual(suggest('zzzzzzzz'), []);
    assert.deepEqual(suggestDeployments('anything', []), []);
  });

  test('at most `limit` suggestions, best first then newest', () => {
    const many = tableOf(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`feature-${i}`, { created: `2026-01-${String(i + 1).padStart(2, '0')}T00:00:00Z`, services: { web: 1 } }])));
    const got = suggestDeployments('feature', many.deployments.values(), 3).map((s) => s.deployment.name);
    assert.deepEqual(got, ['feature-19', 'feature-18', 'feature-17']);
  });
});
