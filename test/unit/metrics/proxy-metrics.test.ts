import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { ProxyMetrics } from '../../../src/metrics/proxy-metrics.ts';
import { BackendBlockedError, classifyUpstreamError, UPSTREAM_ERROR_KINDS } from '../../../src/proxy/upstream-error.ts';
import { Registry } from '../../../src/registry/registry.ts';

/** One error per branch of the classifier, and one it does not know. */
const FAILURES: unknown[] = [
  ...['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT', 'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL',
    'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ESOMETHINGELSE'].map((code) => Object.assign(new Error(code), { code })),
  new BackendBlockedError('169.254.169.254', 'link-local'),
  new Error('no code'),
  null,
];

describe('branch_proxy_upstream_errors_total', () => {
  test('every kind the classifier returns is listed, and every listed kind is returned', () => {
    const returned = new Set(FAILURES.map((err) => classifyUpstreamError(err).kind));
    assert.deepEqual([...returned].sort(), [...UPSTREAM_ERROR_KINDS].sort());
  });

  test('every kind the classifier returns is exported from the start, at 0', async () => {
    const metrics = new ProxyMetrics({ registry: new Registry('/deployment/', pino({ level: 'silent' })), openWebSockets: () => 0 });
    try {
      const { body } = await metrics.text();
      for (const err of FAILURES) {
        const { kind } = classifyUpstreamError(err);
        assert.match(body, new RegExp(`^branch_proxy_upstream_errors_total\\{kind="${kind}"\\} 0$`, 'm'), `kind ${kind} is pre-registered`);
      }
    } finally {
      metrics.close();
    }
  });
});
