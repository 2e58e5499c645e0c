import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestCounts, UNKNOWN } from '../../../src/metrics/request-counts.ts';

describe('RequestCounts', () => {
  test('counts by deployment, service and code', () => {
    const c = new RequestCounts();
    c.add('main', 'web', 200);
    c.add('main', 'web', 200);
    c.add('main', 'web', 502);
    c.add(UNKNOWN, UNKNOWN, 404);
    assert.deepEqual([...c.entries()], [
      { deployment: 'main', service: 'web', fallback: '', code: 200, count: 2 },
      { deployment: 'main', service: 'web', fallback: '', code: 502, count: 1 },
      { deployment: UNKNOWN, service: UNKNOWN, fallback: '', code: 404, count: 1 },
    ]);
  });

  test('drops a removed deployment, or only its removed services', () => {
    const c = new RequestCounts();
    c.add('main', 'web', 200);
    c.add('main', 'old', 200);
    c.add('main', UNKNOWN, 404);
    c.add('gone', 'web', 200);
    c.drop('gone');
    c.drop('main', new Set(['web']));
    assert.deepEqual([...c.entries()].map((e) => `${e.deployment}/${e.service}`), ['main/web', `main/${UNKNOWN}`]);
  });

  test('counts what a base served apart, and keeps those counts while the deployment stays', () => {
    const c = new RequestCounts();
    c.add('feature-x', 'web', 200);
    c.add('feature-x', 'api', 200, 'main');
    c.add('feature-x', 'api', 200, 'main');
    c.add('feature-x', 'api', 200);
    assert.deepEqual([...c.entries()].map((e) => `${e.service} ${e.fallback || '-'} ${e.count}`), ['web - 1', 'api main 2', 'api - 1']);
    // feature-x deregistered its own api: the counts its own api served go, those main served stay.
    c.drop('feature-x', new Set(['web']));
    assert.deepEqual([...c.entries()].map((e) => `${e.service} ${e.fallback || '-'} ${e.count}`), ['web - 1', 'api main 2']);
    c.drop('feature-x');
    assert.deepEqual([...c.entries()], []);
  });
});
