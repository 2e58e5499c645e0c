import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIsoTime } from '../../../src/registry/iso-time.ts';

test('parseIsoTime gives milliseconds, or undefined for absent and invalid times', () => {
  assert.equal(parseIsoTime('2026-01-30T10:00:00.000Z'), Date.UTC(2026, 0, 30, 10));
  assert.equal(parseIsoTime('2026-01-30T11:00:00+01:00'), Date.UTC(2026, 0, 30, 10));
  assert.equal(parseIsoTime('1970-01-01T00:00:00Z'), 0);
  assert.equal(parseIsoTime(undefined), undefined);
  assert.equal(parseIsoTime(''), undefined);
  assert.equal(parseIsoTime('yesterday'), undefined);
  assert.equal(parseIsoTime('2026-13-45T99:00:00Z'), undefined);
});
