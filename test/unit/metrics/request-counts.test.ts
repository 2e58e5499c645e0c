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
      { deployment: 'main', service: 'web', code: 200, count: 2 },
      { deployment: 'main', service: 'web', code: 502, count: 1 },
      { deployment: UNKNOWN, service: UNKNOWN, code: 404, count: 1 },
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
});
