import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { adoptAuthority, authorityConflictInfo, H2_FORBIDDEN_RESPONSE_HEADERS, isPseudoHeader } from '../../../src/proxy/h2-headers.ts';
import { endToEndHeaders } from '../../../src/proxy/hop-by-hop.ts';

/** Request headers as Node's HTTP/2 compat API hands them over. */
function h2Request(extra: IncomingHttpHeaders): IncomingHttpHeaders {
  return { ':method': 'GET', ':path': '/a?b', ':scheme': 'https', ...extra };
}

describe('HTTP/2 header translation', () => {
  test(':authority becomes the Host that routes; browsers send no Host over HTTP/2', () => {
    const headers = h2Request({ ':authority': 'main.dev.localhost:8443' });
    assert.equal(adoptAuthority(headers), undefined);
    assert.equal(headers.host, 'main.dev.localhost:8443');
  });

  test('a Host equal to :authority (any case) is accepted; a Host alone is kept', () => {
    const same = h2Request({ ':authority': 'Main.dev.localhost', host: 'main.dev.localhost' });
    assert.equal(adoptAuthority(same), undefined);
    assert.equal(same.host, 'Main.dev.localhost');
    const hostOnly = h2Request({ host: 'main.dev.localhost' });
    assert.equal(adoptAuthority(hostOnly), undefined);
    assert.equal(hostOnly.host, 'main.dev.localhost');
  });

  test('SECURITY: :authority and Host naming different hosts is refused with 400, naming both', () => {
    const headers = h2Request({ ':authority': 'main.dev.localhost', host: 'admin.dev.localhost' });
    const conflict = adoptAuthority(headers);
    assert.deepEqual(conflict, { authority: 'main.dev.localhost', host: 'admin.dev.localhost' });
    assert.equal(headers.host, 'admin.dev.localhost', 'nothing rewritten');
    const info = authorityConflictInfo(conflict!);
    assert.equal(info.status, 400);
    assert.equal(info.error, 'authority-mismatch');
    assert.match(info.message, /main\.dev\.localhost.*admin\.dev\.localhost/);
  });

  test('cookies split across fields are joined with "; " for the HTTP/1.1 backend', () => {
    const headers = h2Request({ ':authority': 'a.dev.localhost' });
    (headers as Record<string, unknown>).cookie = ['a=1', 'b=2', 'c=3'];
    adoptAuthority(headers);
    assert.equal(headers.cookie, 'a=1; b=2; c=3');
  });

  test('pseudo-headers never reach a backend; other headers do', () => {
    assert.ok(isPseudoHeader(':authority'));
    assert.ok(!isPseudoHeader('authorization'));
    const headers = h2Request({ ':authority': 'a.dev.localhost', host: 'a.dev.localhost', accept: 'text/html', te: 'trailers' });
    assert.deepEqual(endToEndHeaders(headers), ['host', 'a.dev.localhost', 'accept', 'text/html']);
  });

  test('connection-specific response headers HTTP/2 forbids are dropped, the rest kept', () => {
    const fromBackend: IncomingHttpHeaders = {
      'content-type': 'text/plain',
      connection: 'keep-alive',
      'keep-alive': 'timeout=5',
      'proxy-connection': 'keep-alive',
      'transfer-encoding': 'chunked',
      upgrade: 'h2c',
      'http2-settings': 'AAMAAABkAAQAAP__',
      'set-cookie': ['x=1', 'y=2'],
    };
    assert.deepEqual(endToEndHeaders(fromBackend, H2_FORBIDDEN_RESPONSE_HEADERS), ['content-type', 'text/plain', 'set-cookie', ['x=1', 'y=2']]);
  });
});
