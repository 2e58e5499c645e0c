import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { idleDeployments, isIdle, lastActivity } from '../../../src/activity/idle.ts';
import { tableOf } from '../web/table-fixture.ts';

const DAY = 86_400_000;
const NOW = Date.parse('2026-02-01T00:00:00Z');

describe('idle deployments (prune --idle-for)', () => {
  test('last activity is the last request, or the registration when never opened', () => {
    assert.equal(lastActivity({ created: '2026-01-01T00:00:00Z' }), Date.parse('2026-01-01T00:00:00Z'));
    assert.equal(lastActivity({ created: '2026-01-01T00:00:00Z', lastRequest: '2026-01-20T00:00:00Z' }), Date.parse('2026-01-20T00:00:00Z'));
    // Re-registered after its last visit: the new registration counts.
    assert.equal(lastActivity({ created: '2026-01-25T00:00:00Z', lastRequest: '2026-01-20T00:00:00Z' }), Date.parse('2026-01-25T00:00:00Z'));
    assert.equal(lastActivity({}), undefined);
  });

  test('a deployment without any time is never idle', () => {
    assert.equal(isIdle({}, DAY, NOW), false);
    assert.equal(isIdle({ created: '2026-01-30T00:00:00Z' }, DAY, NOW), true);
    assert.equal(isIdle({ created: '2026-01-31T12:00:00Z' }, DAY, NOW), false);
  });

  test('idleDeployments lists the longest idle first', () => {
    const t = tableOf({
      fresh: { created: '2026-01-31T00:00:00Z', services: { web: 1 } },
      visited: { created: '2025-12-01T00:00:00Z', lastRequest: '2026-01-31T20:00:00Z', services: { web: 1 } },
      stale: { created: '2026-01-10T00:00:00Z', services: { web: 1 } },
      staler: { created: '2025-12-01T00:00:00Z', lastRequest: '2026-01-02T00:00:00Z', services: { web: 1 } },
      timeless: { services: { web: 1 } },
    });
    assert.deepEqual(
      idleDeployments(t.deployments.values(), 7 * DAY, NOW).map((d) => d.name),
      ['staler', 'stale'],
    );
  });
});
