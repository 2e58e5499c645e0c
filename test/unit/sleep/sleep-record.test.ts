import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEntry, decodeLastWakeValue, decodeSleepValue } from '../../../src/registry/codec.ts';
import { sleepStateKey, parseKey } from '../../../src/registry/keys.ts';
import { decodeLastWake, decodeSleepRecord, encodeLastWake, encodeSleepRecord, MAX_SLEEP_RECORD_BYTES } from '../../../src/sleep/sleep-record.ts';

const decode = (text: string) => decodeSleepRecord(text);
const reason = (text: string) => {
  const d = decode(text);
  assert.equal(d.ok, false, `${text.slice(0, 80)} must be refused`);
  return d.ok ? '' : d.reason;
};

describe('decodeSleepRecord', () => {
  test('a full record decodes to the same record', () => {
    const text =
      '{"state":"asleep","since":"2026-01-30T10:00:00.000Z","owner":"proxy-1:42:ab12","services":["web","api"],"defaultService":"web",' +
      '"lastWake":{"ms":41000,"at":"2026-01-29T09:00:00Z","error":"wake command exited with status 3"},"ecs":{"desiredCounts":{"feature-x-web":2,"feature-x-api":0}}}';
    assert.deepEqual(decode(text), {
      ok: true,
      record: {
        state: 'asleep',
        since: '2026-01-30T10:00:00.000Z',
        owner: 'proxy-1:42:ab12',
        services: ['web', 'api'],
        defaultService: 'web',
        lastWake: { ms: 41000, at: '2026-01-29T09:00:00Z', error: 'wake command exited with status 3' },
        ecs: { desiredCounts: { 'feature-x-web': 2, 'feature-x-api': 0 } },
      },
    });
  });

  test('the smallest record, each state, and offsets in times', () => {
    for (const state of ['sleeping', 'asleep', 'waking']) {
      assert.deepEqual(decode(`{"state":"${state}","since":"2026-01-30T10:00:00+02:00","services":[]}`), {
        ok: true,
        record: { state, since: '2026-01-30T10:00:00+02:00', services: [] },
      });
    }
  });

  test('encode writes what decode reads back', () => {
    const record = { state: 'waking' as const, since: '2026-01-30T10:00:00.000Z', owner: 'h:1:x', services: ['web'], lastWake: { at: '2026-01-30T09:00:00.000Z', error: 'timed out after 5m' } };
    const decoded = decode(encodeSleepRecord(record));
    assert.deepEqual(decoded, { ok: true, record });
  });

  test('unknown states and missing fields are refused', () => {
    assert.match(reason('{"state":"dozing","since":"2026-01-30T10:00:00Z","services":[]}'), /state "dozing"/);
    assert.match(reason('{"state":"ASLEEP","since":"2026-01-30T10:00:00Z","services":[]}'), /state/);
    assert.match(reason('{"since":"2026-01-30T10:00:00Z","services":[]}'), /state undefined/);
    assert.match(reason('{"state":"asleep","services":[]}'), /since/);
    assert.match(reason('{"state":"asleep","since":"2026-01-30T10:00:00Z"}'), /services/);
  });

  test('hostile values are refused', () => {
    const base = { state: 'asleep', since: '2026-01-30T10:00:00Z', services: ['web'] };
    const cases: [unknown, RegExp][] = [
      ['not json', /not JSON/],
      ['[1,2]', /not a JSON object/],
      ['null', /not a JSON object/],
      ['"asleep"', /not a JSON object/],
      [{ ...base, since: 'yesterday' }, /since/],
      [{ ...base, since: '2026-13-45T99:00:00Z' }, /since/],
      [{ ...base, since: 1769767200000 }, /since/],
      [{ ...base, services: ['Web'] }, /"Web" is not a lowercase DNS label/],
      [{ ...base, services: ['a.b'] }, /DNS label/],
      [{ ...base, services: ['web; rm -rf /'] }, /DNS label/],
      [{ ...base, services: [{}] }, /DNS label/],
      [{ ...base, services: 'web' }, /services/],
      [{ ...base, defaultService: '../etc' }, /defaultService/],
      [{ ...base, owner: 'a\nb' }, /owner/],
      [{ ...base, owner: 'x'.repeat(257) }, /owner/],
      [{ ...base, lastWake: { ms: -1, at: '2026-01-30T10:00:00Z' } }, /lastWake: ms/],
      [{ ...base, lastWake: { ms: 1.5, at: '2026-01-30T10:00:00Z' } }, /lastWake: ms/],
      [{ ...base, lastWake: { ms: 10 } }, /lastWake: at/],
      [{ ...base, lastWake: { at: '2026-01-30T10:00:00Z', error: '<script>\u0007' } }, /lastWake: error/],
      [JSON.parse('{"state":"asleep","since":"2026-01-30T10:00:00Z","services":[],"ecs":{"desiredCounts":{"__proto__":1}}}'), /"__proto__" is not an ECS service name/],
      [{ ...base, ecs: { desiredCounts: { 'x-web': -1 } } }, /desired count/],
      [{ ...base, ecs: { desiredCounts: { 'x-web': '2' } } }, /desired count/],
      [{ ...base, ecs: { desiredCounts: { 'x web': 1 } } }, /ECS service name/],
      [{ ...base, ecs: { desiredCounts: [] } }, /ecs: desiredCounts/],
    ];
    for (const [value, pattern] of cases) assert.match(reason(typeof value === 'string' ? value : JSON.stringify(value)), pattern, JSON.stringify(value));
  });

  test('unknown fields are dropped, not kept and not refused', () => {
    const d = decode('{"state":"asleep","since":"2026-01-30T10:00:00Z","services":["web","web"],"futureField":{"x":1},"constructor":1}');
    assert.deepEqual(d, { ok: true, record: { state: 'asleep', since: '2026-01-30T10:00:00Z', services: ['web'] } });
  });

  test('oversized records are refused before parsing', () => {
    const services = Array.from({ length: 257 }, (_, i) => `s${i}`);
    assert.match(reason(JSON.stringify({ state: 'asleep', since: '2026-01-30T10:00:00Z', services })), /at most 256/);
    const padded = `{"state":"asleep","since":"2026-01-30T10:00:00Z","services":[],"pad":"${'x'.repeat(MAX_SLEEP_RECORD_BYTES)}"}`;
    assert.match(reason(padded), /more than 16384 bytes/);
  });

  test('encode refuses a record the decoder would refuse', () => {
    assert.throws(() => encodeSleepRecord({ state: 'asleep', since: 'now', services: [] }), /refusing to write a sleep record: since/);
  });
});

describe('last-wake', () => {
  test('round trip, and refusals', () => {
    assert.deepEqual(decodeLastWake(encodeLastWake({ ms: 41000, at: '2026-01-30T10:00:00.000Z' })), { ok: true, value: { ms: 41000, at: '2026-01-30T10:00:00.000Z' } });
    assert.equal(decodeLastWake('{"at":"2026-01-30T10:00:00Z"}').ok, false);
    assert.equal(decodeLastWake('{"ms":"41","at":"2026-01-30T10:00:00Z"}').ok, false);
    assert.equal(decodeLastWake('41000').ok, false);
    assert.throws(() => encodeLastWake({ ms: -5, at: '2026-01-30T10:00:00Z' }), /refusing/);
  });
});

describe('codec: sleep state values', () => {
  test('keys sit beside the deployment fields and are route-table fields', () => {
    assert.equal(sleepStateKey('/deployment/', 'feature-x', 'sleep'), '/deployment/feature-x/sleep');
    assert.equal(sleepStateKey('/deployment/', 'feature-x', 'last-wake'), '/deployment/feature-x/last-wake');
    assert.deepEqual(parseKey('/deployment/', '/deployment/feature-x/sleep'), { deployment: 'feature-x', field: 'sleep' });
  });

  test('decodeEntry decodes the JSON values, refusing invalid ones with the reason', () => {
    const ok = decodeEntry('/d/', '/d/feature-x/sleep', Buffer.from('{"state":"asleep","since":"2026-01-30T10:00:00Z","services":["web"]}'));
    assert.deepEqual(ok, { ok: true, ref: { deployment: 'feature-x', field: 'sleep' }, value: { state: 'asleep', since: '2026-01-30T10:00:00Z', services: ['web'] } });
    const bad = decodeEntry('/d/', '/d/feature-x/sleep', Buffer.from('{"state":"dozing"}'));
    assert.equal(bad.ok, false);
    assert.match(bad.ok ? '' : bad.reason, /^sleep record: state "dozing"/);
    assert.deepEqual(bad.ref, { deployment: 'feature-x', field: 'sleep' }, 'an invalid record still names its ref, so the table drops the old one');
    const big = decodeEntry('/d/', '/d/feature-x/sleep', Buffer.from(JSON.stringify({ state: 'asleep', since: '2026-01-30T10:00:00Z', services: Array.from({ length: 100 }, (_, i) => `service-${i}`) })));
    assert.equal(big.ok, true, 'a record may be larger than the 1 KiB of other values');
    assert.deepEqual(decodeEntry('/d/', '/d/feature-x/last-wake', Buffer.from('{"ms":5,"at":"2026-01-30T10:00:00Z"}')).ok, true);
    assert.equal(decodeEntry('/d/', '/d/feature-x/last-wake', Buffer.from('5')).ok, false);
  });

  test('bytes: valid, not UTF-8, oversized', () => {
    const ok = decodeSleepValue(Buffer.from('{"state":"asleep","since":"2026-01-30T10:00:00Z","services":["web"]}'));
    assert.deepEqual(ok, { ok: true, record: { state: 'asleep', since: '2026-01-30T10:00:00Z', services: ['web'] } });
    assert.deepEqual(decodeSleepValue(Buffer.from([0xff, 0xfe])), { ok: false, reason: 'value is not UTF-8 text' });
    const big = decodeSleepValue(Buffer.alloc(MAX_SLEEP_RECORD_BYTES + 1, 0x20));
    assert.ok(!big.ok && /16385 bytes/.test(big.reason));
    assert.deepEqual(decodeLastWakeValue(Buffer.from('{"ms":5,"at":"2026-01-30T10:00:00Z"}')), { ok: true, lastWake: { ms: 5, at: '2026-01-30T10:00:00Z' } });
    assert.equal(decodeLastWakeValue(Buffer.from('{"ms":5}')).ok, false);
  });
});
