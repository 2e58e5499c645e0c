import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultServiceFirst } from '../../../src/web/service-order.ts';

const names = (services: { name: string }[]) => services.map((s) => s.name);

test('the default service comes first, then the others by name', () => {
  const services = [{ name: 'web' }, { name: 'api' }, { name: 'docs' }, { name: 'admin' }];
  assert.deepEqual(names(defaultServiceFirst(services, 'web')), ['web', 'admin', 'api', 'docs']);
  assert.deepEqual(names(defaultServiceFirst(services, 'docs')), ['docs', 'admin', 'api', 'web']);
  assert.deepEqual(names(defaultServiceFirst(services, 'absent')), ['admin', 'api', 'docs', 'web']);
  assert.deepEqual(names(services), ['web', 'api', 'docs', 'admin'], 'the input is left as it was');
});
