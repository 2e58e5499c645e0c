import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatHostPort } from '../../../src/routing/host-port.ts';

test('formatHostPort brackets IPv6 literals only', () => {
  assert.equal(formatHostPort('10.0.0.1', 8080), '10.0.0.1:8080');
  assert.equal(formatHostPort('api.internal', 80), 'api.internal:80');
  assert.equal(formatHostPort('fd00::1', 8080), '[fd00::1]:8080');
  assert.equal(formatHostPort('::ffff:10.0.0.1', 443), '[::ffff:10.0.0.1]:443');
});
