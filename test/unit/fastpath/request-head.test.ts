import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_HEADER_FIELDS } from '../../../src/fastpath/header-block.ts';
import { parseRequestHead } from '../../../src/fastpath/request-head.ts';
import type { RequestHead, RequestHeadResult } from '../../../src/fastpath/request-head.ts';

const MAX = 8192;
const parse = (text: string, max = MAX): RequestHeadResult => parseRequestHead(Buffer.from(text, 'latin1'), 0, max);

function head(text: string): RequestHead {
  const r = parse(text);
  assert.equal(r.kind, 'request', `expected a request, got ${JSON.stringify(r)}`);
  return (r as { head: RequestHead }).head;
}

function handedOver(text: string, max = MAX): string {
  const r = parse(text, max);
  assert.equal(r.kind, 'handover', `expected a handover, got ${JSON.stringify(r)}`);
  return (r as { reason: string }).reason;
}

const GET = 'GET / HTTP/1.1\r\nHost: a.example\r\n';

describe('parseRequestHead: what the fast path takes', () => {
  test('a plain GET: method, target, raw headers with OWS trimmed, host, no body, keep-alive, headEnd after CRLFCRLF', () => {
    const text = 'GET /x?y=1 HTTP/1.1\r\nHost: a.example\r\nX-Pad:  \t v \t \r\nEmpty:\r\n\r\nNEXT';
    const h = head(text);
    assert.deepEqual(h, { method: 'GET', target: '/x?y=1', versionMinor: 1, headers: ['Host', 'a.example', 'X-Pad', 'v', 'Empty', ''], host: 'a.example', body: 0, keepAlive: true, headEnd: text.length - 4 });
  });

  test('parses from an offset (pipelined requests)', () => {
    const first = `${GET}\r\n`;
    const buf = Buffer.from(`${first}POST /p HTTP/1.1\r\nhost: b\r\ncontent-length: 2\r\n\r\nok`, 'latin1');
    const r = parseRequestHead(buf, first.length, MAX);
    assert.equal(r.kind, 'request');
    if (r.kind !== 'request') return;
    assert.equal(r.head.method, 'POST');
    assert.equal(r.head.body, 2);
    assert.equal(r.head.headEnd, buf.length - 2);
  });

  test('Content-Length gives the body length, also with leading zeros', () => {
    assert.equal(head(`POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n`).body, 12);
    assert.equal(head(`POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\n\r\n`).body, 7);
  });

  test('Transfer-Encoding: chunked in any case is chunked', () => {
    assert.equal(head(`POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n`).body, 'chunked');
    assert.equal(head(`POST / HTTP/1.1\r\nHost: a\r\ntransfer-encoding: Chunked\r\n\r\n`).body, 'chunked');
  });

  test('keep-alive: HTTP/1.1 by default, not with Connection: close; HTTP/1.0 only with keep-alive', () => {
    assert.equal(head(`${GET}\r\n`).keepAlive, true);
    assert.equal(head(`${GET}Connection: Close\r\n\r\n`).keepAlive, false);
    assert.equal(head(`${GET}Connection: keep-alive, close\r\n\r\n`).keepAlive, false);
    assert.equal(head('GET / HTTP/1.0\r\n\r\n').keepAlive, false);
    assert.equal(head('GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n').keepAlive, true);
    assert.equal(head('GET / HTTP/1.0\r\nConnection: x-keep-alive\r\n\r\n').keepAlive, false);
  });

  test('HTTP/1.0 without Host is taken, with host undefined', () => {
    const h = head('GET / HTTP/1.0\r\n\r\n');
    assert.equal(h.versionMinor, 0);
    assert.equal(h.host, undefined);
  });

  test('obs-text in a header value is kept, latin1-decoded as Node does', () => {
    assert.deepEqual(head(`${GET}X-A: caf\xe9\r\n\r\n`).headers.slice(2), ['X-A', 'caf\xe9']);
  });

  test('exactly MAX_HEADER_FIELDS fields are taken', () => {
    const fields = 'a:\r\n'.repeat(MAX_HEADER_FIELDS - 1);
    assert.equal(parse(`${GET}${fields}\r\n`, 65536).kind, 'request');
  });

  test('a head of exactly maxHeadBytes is taken, one byte more is handed over', () => {
    const text = `${GET}\r\n`;
    assert.equal(parse(text, text.length).kind, 'request');
    assert.equal(parse(text, text.length - 1).kind, 'handover');
  });
});

describe('parseRequestHead: incomplete heads', () => {
  test('every proper prefix of a valid head is incomplete', () => {
    const text = `POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n`;
    for (let i = 0; i < text.length; i++) assert.equal(parse(text.slice(0, i)).kind, 'incomplete', `prefix of ${i} bytes`);
  });

  test('a partial head longer than maxHeadBytes is handed over without waiting for its end', () => {
    assert.match(handedOver(`${GET}X-Long: ${'a'.repeat(200)}`, 100), /larger/);
  });

  test('a partial head with an invalid byte is handed over at once', () => {
    handedOver(`${GET}X-A: a\0b`);
  });
});

describe('parseRequestHead: what it hands over', () => {
  const cases: [string, string][] = [
    ['CONNECT', 'CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n'],
    ['an unknown method', `BREW / HTTP/1.1\r\nHost: a\r\n\r\n`],
    ['a lower-case method', `get / HTTP/1.1\r\nHost: a\r\n\r\n`],
    ['two spaces after the method', `GET  / HTTP/1.1\r\nHost: a\r\n\r\n`],
    ['absolute-form target', 'GET http://a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n'],
    ['asterisk-form target', 'OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['a fragment in the target', 'GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['a control byte in the target', 'GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['obs-text in the target', 'GET /caf\xe9 HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['HTTP/2.0', 'GET / HTTP/2.0\r\nHost: a\r\n\r\n'],
    ['HTTP/1.2', 'GET / HTTP/1.2\r\nHost: a\r\n\r\n'],
    ['HTTP/0.9 style (no version)', 'GET /\r\n\r\n'],
    ['a lower-case version', 'GET / http/1.1\r\nHost: a\r\n\r\n'],
    ['a space after the version', 'GET / HTTP/1.1 \r\nHost: a\r\n\r\n'],
    ['a leading empty line', `\r\n${GET}\r\n`],
    ['Upgrade', `${GET}Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n`],
    ['Connection: upgrade alone', `${GET}Connection: upgrade\r\n\r\n`],
    ['Expect', `POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n`],
    ['Proxy-Connection', `${GET}Proxy-Connection: close\r\n\r\n`],
    ['obs-fold', `${GET}X-A: a\r\n b\r\n\r\n`],
    ['obs-fold with a tab', `${GET}X-A: a\r\n\tb\r\n\r\n`],
    ['bare LF ending the request line', 'GET / HTTP/1.1\nHost: a\r\n\r\n'],
    ['bare LF ending a header line', `${GET}X-A: a\n\r\n`],
    ['bare LF ending the head', `${GET}\n`],
    ['bare CR in a value', `${GET}X-A: a\rb\r\n\r\n`],
    ['bare CR ending the head', `${GET}\rX`],
    ['NUL in a value', `${GET}X-A: a\0b\r\n\r\n`],
    ['DEL in a value', `${GET}X-A: a\x7fb\r\n\r\n`],
    ['a control byte in a name', `${GET}X\x01A: a\r\n\r\n`],
    ['a name that is not a token', `${GET}X(A): a\r\n\r\n`],
    ['a space before the colon', `${GET}X-A : a\r\n\r\n`],
    ['a line without a colon', `${GET}X-A\r\n\r\n`],
    ['an empty header name', `${GET}: a\r\n\r\n`],
    ['two Content-Lengths, same value', `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n`],
    ['two Content-Lengths, different values', `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n`],
    ['a Content-Length list', `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\n`],
    ['Content-Length with a plus sign', `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n`],
    ['Content-Length with an inner space', `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n`],
    ['Content-Length in hex', `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n`],
    ['an empty Content-Length', `POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n`],
    ['Content-Length above MAX_SAFE_INTEGER', `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9007199254740992\r\n\r\n`],
    ['Content-Length and Transfer-Encoding', `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n`],
    ['Transfer-Encoding and Content-Length', `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n`],
    ['Transfer-Encoding: chunked, gzip', `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n`],
    ['Transfer-Encoding: gzip, chunked', `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n`],
    ['Transfer-Encoding: xchunked', `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n`],
    ['Transfer-Encoding: identity', `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n`],
    ['two Transfer-Encodings', `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n`],
    ['Transfer-Encoding in HTTP/1.0', 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n'],
    ['HTTP/1.1 without Host', 'GET / HTTP/1.1\r\nX-A: a\r\n\r\n'],
    ['an empty Host', 'GET / HTTP/1.1\r\nHost:\r\n\r\n'],
    ['two Hosts', `${GET}Host: b.example\r\n\r\n`],
    ['more than MAX_HEADER_FIELDS fields', `${GET}${'a:\r\n'.repeat(MAX_HEADER_FIELDS)}\r\n`],
  ];
  for (const [name, text] of cases) {
    test(name, () => {
      const reason = handedOver(text, 65536);
      assert.ok(reason.length > 0, 'a handover says why');
    });
  }
});
