import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkedScanner, MAX_CHUNK_EXTENSION_BYTES, MAX_TRAILER_BYTES } from '../../../src/fastpath/chunked.ts';
import type { ChunkedScanResult } from '../../../src/fastpath/chunked.ts';

/** Scans `text` in pieces of `step` bytes; returns where the body ended, or the error. */
function scanInSteps(text: string, step: number): { end: number } | { error: string } | 'incomplete' {
  const buf = Buffer.from(text, 'latin1');
  const scanner = new ChunkedScanner();
  let offset = 0;
  while (offset < buf.length) {
    const piece = buf.subarray(offset, Math.min(buf.length, offset + step));
    const r: ChunkedScanResult = scanner.scan(piece, 0);
    if ('error' in r) return { error: r.error };
    offset += r.consumed;
    if (r.done) return { end: offset };
    assert.equal(r.consumed, piece.length, 'an unfinished body takes every byte it is given');
  }
  return 'incomplete';
}

/** Scans whole and at every split; all must agree. */
function scan(text: string): { end: number } | { error: string } | 'incomplete' {
  const whole = scanInSteps(text, text.length + 1);
  for (const step of [1, 2, 3, 7]) {
    const split = scanInSteps(text, step);
    assert.equal('error' in Object(split), 'error' in Object(whole), `step ${step}: ${JSON.stringify(split)} vs ${JSON.stringify(whole)}`);
    if (!('error' in Object(whole))) assert.deepEqual(split, whole, `step ${step}`);
  }
  return whole;
}

const failed = (text: string): void => assert.ok('error' in Object(scan(text)), `expected an error for ${JSON.stringify(text)}`);

describe('ChunkedScanner: bodies it frames', () => {
  test('chunks then the last chunk: ends right after the final CRLF, leaving the next message alone', () => {
    const body = '5\r\nhello\r\n1\r\n!\r\n0\r\n\r\n';
    assert.deepEqual(scan(`${body}GET / HTTP/1.1`), { end: body.length });
  });

  test('hex sizes in either case and with leading zeros', () => {
    const body = `a\r\n${'x'.repeat(10)}\r\nA\r\n${'y'.repeat(10)}\r\n0010\r\n${'z'.repeat(16)}\r\n0\r\n\r\n`;
    assert.deepEqual(scan(body), { end: body.length });
  });

  test('chunk data may hold CRLF and anything else', () => {
    const body = '4\r\n\r\n\r\n\r\n0\r\n\r\n';
    assert.deepEqual(scan(body), { end: body.length });
  });

  test('token chunk extensions, with and without values, pass through', () => {
    const body = '3;a\r\nabc\r\n3;a=b;c=d\r\nabc\r\n0;last\r\n\r\n';
    assert.deepEqual(scan(body), { end: body.length });
  });

  test('trailers pass through', () => {
    const body = '3\r\nabc\r\n0\r\nX-Checksum: 1\r\nX-B:\r\n\r\n';
    assert.deepEqual(scan(body), { end: body.length });
  });

  test('an unfinished body is incomplete and takes all bytes', () => {
    assert.equal(scan('5\r\nhel'), 'incomplete');
    assert.equal(scan('0\r\nX-A: 1\r\n'), 'incomplete');
  });

  test('after the end, scan consumes nothing more', () => {
    const s = new ChunkedScanner();
    assert.deepEqual(s.scan(Buffer.from('0\r\n\r\n'), 0), { consumed: 5, done: true });
    assert.deepEqual(s.scan(Buffer.from('more'), 0), { consumed: 0, done: true });
    assert.equal(s.done, true);
  });
});

describe('ChunkedScanner: errors', () => {
  const cases: [string, string][] = [
    ['no size', '\r\nabc\r\n0\r\n\r\n'],
    ['a 0x prefix', '0x3\r\nabc\r\n0\r\n\r\n'],
    ['a sign', '+3\r\nabc\r\n0\r\n\r\n'],
    ['a space before the size', ' 3\r\nabc\r\n0\r\n\r\n'],
    ['a space after the size', '3 \r\nabc\r\n0\r\n\r\n'],
    ['a tab after the size', '3\t\r\nabc\r\n0\r\n\r\n'],
    ['bare LF after the size', '3\nabc\r\n0\r\n\r\n'],
    ['LF after a chunk extension', '3;x\nabc\r\n0\r\n\r\n'],
    ['a quoted extension value', '3;a="b"\r\nabc\r\n0\r\n\r\n'],
    ['an empty extension name', '3;\r\nabc\r\n0\r\n\r\n'],
    ['a space in an extension', '3; a\r\nabc\r\n0\r\n\r\n'],
    ['data longer than its size', '3\r\nabcd\r\n0\r\n\r\n'],
    ['data followed by bare LF', '3\r\nabc\n0\r\n\r\n'],
    ['an overlong size', `${'f'.repeat(14)}\r\n`],
    ['obs-fold in a trailer', '0\r\nX-A: a\r\n b\r\n\r\n'],
    ['a trailer without a colon', '0\r\nX-A\r\n\r\n'],
    ['NUL in a trailer value', '0\r\nX-A: a\0\r\n\r\n'],
    ['bare LF ending the body', '0\r\n\n'],
    ['bare CR ending the body', '0\r\n\rX'],
    [`extensions longer than ${MAX_CHUNK_EXTENSION_BYTES} bytes`, `1;a=${'b'.repeat(MAX_CHUNK_EXTENSION_BYTES)}\r\nx\r\n0\r\n\r\n`],
    [`trailers longer than ${MAX_TRAILER_BYTES} bytes`, `0\r\nX-A: ${'b'.repeat(MAX_TRAILER_BYTES)}\r\n\r\n`],
  ];
  for (const [name, text] of cases) test(name, () => failed(text));

  test('the largest size Number holds exactly is accepted, one more hex digit is an error', () => {
    assert.equal(scan('1fffffffffffff\r\nabc'), 'incomplete');
    failed('20000000000000\r\n');
  });
});
