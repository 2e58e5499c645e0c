import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createLogger, isoTimePerMillisecond } from '../../../src/logging/logger.ts';

describe('isoTimePerMillisecond', () => {
  test("formats as pino's isoTime, once per millisecond", () => {
    let ms = Date.UTC(2026, 11, 6, 4, 5, 6, 7);
    const time = isoTimePerMillisecond(() => ms);
    const first = time();
    assert.equal(first, ',"time":"2026-12-06T04:05:06.007Z"');
    assert.equal(time(), first);
    ms += 1;
    assert.equal(time(), ',"time":"2026-12-06T04:05:06.008Z"');
    // The same text pino's own isoTime gives for that instant.
    const realNow = Date.now;
    Date.now = () => ms;
    try {
      assert.equal(pino.stdTimeFunctions.isoTime(), time());
    } finally {
      Date.now = realNow;
    }
  });
});

describe('createLogger', () => {
  test('writes one JSON line per event with the current ISO time', () => {
    const lines: string[] = [];
    const destination = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) });
    const before = Date.now();
    const log = createLogger('info', { destination });
    log.info({ deployment: 'feat', service: 'api' }, 'request');
    log.info({ deployment: 'feat', service: 'web' }, 'request');
    assert.equal(lines.length, 2);
    const [a, b] = lines.map((l) => JSON.parse(l) as { time: string; service: string; msg: string });
    assert.equal(a!.service, 'api');
    assert.equal(b!.service, 'web');
    assert.ok(Date.parse(a!.time) >= before && Date.parse(b!.time) <= Date.now(), `${a!.time} .. ${b!.time} within the test`);
  });
});
