import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { endToEndHeaders, stripHopByHop } from '../../../src/proxy/hop-by-hop.ts';
import { classifyUpstreamError } from '../../../src/proxy/upstream-error.ts';

describe('stripHopByHop', () => {
  test('removes hop-by-hop headers and those named in Connection', () => {
    const headers = { connection: 'close, X-Secret', 'x-secret': '1', 'keep-alive': 'timeout=5', te: 'trailers', 'proxy-authorization': 'x', upgrade: 'h2c', 'x-kept': 'yes', host: 'a' };
    stripHopByHop(headers);
    assert.deepEqual(headers, { 'x-kept': 'yes', host: 'a' });
  });

  test('keeps the upgrade handshake for WebSockets', () => {
    const headers = { connection: 'Upgrade, keep-alive', upgrade: 'websocket', 'keep-alive': '1' };
    stripHopByHop(headers, { upgrade: true });
    assert.deepEqual(headers, { connection: 'upgrade', upgrade: 'websocket' });
  });
});

describe('endToEndHeaders', () => {
  test('lists the end-to-end headers for writeHead, without hop-by-hop ones or those named in Connection', () => {
    const headers = { connection: 'Keep-Alive, X-Secret', 'x-secret': '1', 'keep-alive': 'timeout=5', 'transfer-encoding': 'chunked', trailer: 'x', 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] };
    assert.deepEqual(endToEndHeaders(headers), ['content-type', 'text/plain', 'set-cookie', ['a=1', 'b=2']]);
    assert.equal(headers['keep-alive'], 'timeout=5', 'the parsed headers stay as they were');
  });

  test('a bare keep-alive or close names nothing else', () => {
    assert.deepEqual(endToEndHeaders({ connection: 'keep-alive', 'keep-alive': 'timeout=5', 'content-length': '3' }), ['content-length', '3']);
    assert.deepEqual(endToEndHeaders({ connection: 'close', date: 'x' }), ['date', 'x']);
    assert.deepEqual(endToEndHeaders({ 'x-a': 'b' }), ['x-a', 'b']);
  });
});

describe('classifyUpstreamError', () => {
  test('maps socket errors to 502 and timeouts to 504', () => {
    const err = (code: string) => Object.assign(new Error(code), { code });
    assert.equal(classifyUpstreamError(err('ECONNREFUSED')).kind, 'refused');
    assert.equal(classifyUpstreamError(err('ECONNREFUSED')).status, 502);
    assert.equal(classifyUpstreamError(err('ECONNRESET')).kind, 'reset');
    assert.equal(classifyUpstreamError(err('ENOTFOUND')).kind, 'dns');
    assert.equal(classifyUpstreamError(err('UND_ERR_HEADERS_TIMEOUT')).status, 504);
    assert.equal(classifyUpstreamError(err('UND_ERR_CONNECT_TIMEOUT')).kind, 'timeout');
    assert.equal(classifyUpstreamError(err('UND_ERR_SOCKET')).kind, 'reset');
    assert.equal(classifyUpstreamError(new Error('weird')).status, 502);
    assert.equal(classifyUpstreamError(null).kind, 'other');
  });
});
