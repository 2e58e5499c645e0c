import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseResponseHead } from '../../../src/fastpath/response-head.ts';
import type { ResponseHead, ResponseHeadResult } from '../../../src/fastpath/response-head.ts';

const MAX = 8192;
const parse = (text: string, method = 'GET', max = MAX): ResponseHeadResult => parseResponseHead(Buffer.from(text, 'latin1'), 0, max, method);

function head(text: string, method = 'GET'): ResponseHead {
  const r = parse(text, method);
  assert.equal(r.kind, 'response', `expected a response, got ${JSON.stringify(r)}`);
  return (r as { head: ResponseHead }).head;
}

describe('parseResponseHead: framing (RFC 9112 §6.3)', () => {
  test('Content-Length: length framing, raw headers with OWS trimmed, headEnd after CRLFCRLF', () => {
    const text = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  b \r\n\r\nhello';
    assert.deepEqual(head(text), { statusCode: 200, versionMinor: 1, headers: ['Content-Length', '5', 'X-A', 'b'], framing: { kind: 'length', length: 5 }, keepAlive: true, headEnd: text.length - 5 });
  });

  test('Transfer-Encoding: chunked in any case is chunked', () => {
    assert.deepEqual(head('HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n').framing, { kind: 'chunked' });
  });

  test('neither: read until close, and the socket is not reusable', () => {
    const h = head('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n');
    assert.deepEqual(h.framing, { kind: 'close' });
    assert.equal(h.keepAlive, false);
  });

  test('HEAD requests, 204 and 304 have no body whatever the headers say', () => {
    assert.deepEqual(head('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n', 'HEAD').framing, { kind: 'none' });
    assert.deepEqual(head('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', 'HEAD').framing, { kind: 'none' });
    assert.deepEqual(head('HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n').framing, { kind: 'none' });
    assert.deepEqual(head('HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n').framing, { kind: 'none' });
    assert.equal(head('HTTP/1.1 204 No Content\r\n\r\n').keepAlive, true, 'a bodiless response leaves the socket reusable');
  });

  test('interim 100 and 103 are heads of their own with no body; the real response follows', () => {
    const text = 'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
    const buf = Buffer.from(text, 'latin1');
    const first = parseResponseHead(buf, 0, MAX, 'GET');
    assert.equal(first.kind, 'response');
    if (first.kind !== 'response') return;
    assert.equal(first.head.statusCode, 103);
    assert.deepEqual(first.head.framing, { kind: 'none' });
    const second = parseResponseHead(buf, first.head.headEnd, MAX, 'GET');
    assert.equal(second.kind === 'response' && second.head.statusCode, 200);
    assert.equal(head('HTTP/1.1 100 Continue\r\n\r\n').statusCode, 100);
  });

  test('keep-alive: HTTP/1.1 unless Connection: close; HTTP/1.0 only with keep-alive', () => {
    assert.equal(head('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n').keepAlive, true);
    assert.equal(head('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n').keepAlive, false);
    assert.equal(head('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n').keepAlive, false);
    assert.equal(head('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n').keepAlive, true);
  });

  test('a status line without a reason phrase is taken', () => {
    assert.equal(head('HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n').statusCode, 200);
    assert.equal(head('HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n').statusCode, 404);
  });

  test('every proper prefix of a valid head is incomplete', () => {
    const text = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n';
    for (let i = 0; i < text.length; i++) assert.equal(parse(text.slice(0, i)).kind, 'incomplete', `prefix of ${i} bytes`);
  });
});

describe('parseResponseHead: invalid responses', () => {
  const cases: [string, string][] = [
    ['101 Switching Protocols', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'],
    ['HTTP/2.0', 'HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n'],
    ['a two-digit status', 'HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n'],
    ['a status above 599', 'HTTP/1.1 600 OK\r\nContent-Length: 0\r\n\r\n'],
    ['a status below 100', 'HTTP/1.1 099 OK\r\nContent-Length: 0\r\n\r\n'],
    ['a control byte in the reason', 'HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n'],
    ['bare LF after the status line', 'HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n'],
    ['obs-fold', 'HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n'],
    ['NUL in a value', 'HTTP/1.1 200 OK\r\nX-A: a\0\r\nContent-Length: 0\r\n\r\n'],
    ['two Content-Lengths, same value', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx'],
    ['a Content-Length list', 'HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\nx'],
    ['Content-Length and Transfer-Encoding', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n'],
    ['Content-Length and Transfer-Encoding on a 204 (llhttp rejects the pair even without a body)', 'HTTP/1.1 204 No Content\r\nContent-Length:007\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['Transfer-Encoding: gzip, chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n'],
    ['Transfer-Encoding: identity', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n'],
    ['two Transfer-Encodings', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n'],
    ['Connection: upgrade', 'HTTP/1.1 200 OK\r\nConnection: upgrade\r\nContent-Length: 0\r\n\r\n'],
    ['garbage instead of a status line', 'hello\r\n\r\n'],
  ];
  for (const [name, text] of cases) {
    test(name, () => {
      const r = parse(text);
      assert.equal(r.kind, 'invalid', JSON.stringify(r));
    });
  }

  test('a head larger than maxHeadBytes is invalid as soon as it passes the limit', () => {
    assert.equal(parse(`HTTP/1.1 200 OK\r\nX-A: ${'a'.repeat(200)}`, 'GET', 100).kind, 'invalid');
  });
});
