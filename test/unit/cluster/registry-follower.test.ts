import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RegistryFollower } from '../../../src/cluster/registry-follower.ts';
import { eventsMessage, pageMessage } from '../../../src/cluster/registry-messages.ts';
import { latin1Page } from '../../../src/registry/range-response.ts';
import { Registry } from '../../../src/registry/registry.ts';
import type { RegistryEvent, RegistryKv } from '../../../src/registry/registry.ts';
import fc from 'fast-check';
import { memoryLogger } from '../../helpers/memory-logger.ts';
import { keyArbitrary, valueArbitrary } from '../../helpers/registry-arbitraries.ts';
import { PREFIX } from '../../helpers/registry.ts';

const P = '/deployment/';
const kv = (key: string, value: string | Buffer): RegistryKv => ({ key: Buffer.from(P + key), value: Buffer.isBuffer(value) ? value : Buffer.from(value) });
const service = (deployment: string, port: number): RegistryKv[] => [kv(`${deployment}/service/web/ip`, '10.0.0.1'), kv(`${deployment}/service/web/port`, String(port))];
const put = (entry: RegistryKv, revision: number): RegistryEvent => ({ type: 'put', ...entry, revision });
const page = (snapshot: number, kvs: RegistryKv[]) => pageMessage(snapshot, latin1Page(kvs));
const done = (snapshot: number, revision: number) => ({ type: 'branch-proxy:registry-snapshot', snapshot, revision });
const routes = (r: Registry) => [...r.table.routes()].map((x) => `${x.deployment}:${x.target.port}`).sort();

function follower() {
  const { log, events } = memoryLogger();
  const registry = new Registry(P, log, undefined, { echo: true });
  return { registry, follower: new RegistryFollower(registry), events };
}

describe('RegistryFollower', () => {
  test('a snapshot goes live only when complete; later events apply at once', () => {
    const { registry, follower: f } = follower();
    assert.equal(f.receive(page(1, service('a', 1))), true);
    assert.equal(registry.ready, false);
    f.receive(page(1, service('b', 2)));
    f.receive(done(1, 10));
    assert.deepEqual(routes(registry), ['a:1', 'b:2']);
    assert.equal(registry.revision, 10);
    f.receive(eventsMessage([put(kv('a/service/web/port', '3'), 11)]));
    assert.deepEqual(routes(registry), ['a:3', 'b:2']);
  });

  test('events that arrive while a snapshot loads wait for it; those it already reflects are skipped', () => {
    const { registry, follower: f } = follower();
    f.receive(page(4, service('a', 1)));
    // Revision 7 is in the snapshot (read at 8, where a's port is 1 again); 9 is newer.
    f.receive(eventsMessage([put(kv('a/service/web/port', '7'), 7), put(kv('c/service/web/ip', '10.0.0.1'), 9), put(kv('c/service/web/port', '9'), 9)]));
    assert.deepEqual(routes(registry), [], 'nothing applied to the empty table meanwhile');
    f.receive(done(4, 8));
    assert.deepEqual(routes(registry), ['a:1', 'c:9']);
    assert.equal(registry.revision, 9);
  });

  test('the newest snapshot wins: pages and the end of an older one are ignored', () => {
    const { registry, follower: f } = follower();
    f.receive(page(2, service('old', 1)));
    f.receive(page(3, service('new', 2)));
    f.receive(page(2, service('old2', 3)));
    f.receive(done(2, 5));
    assert.equal(registry.ready, false, "the older snapshot's end does not make its table live");
    f.receive(done(3, 6));
    assert.deepEqual(routes(registry), ['new:2']);
    // A resync (the primary's watch came back) replaces the table and drops what left.
    f.receive(page(7, service('later', 4)));
    f.receive(done(7, 9));
    assert.deepEqual(routes(registry), ['later:4']);
  });

  test('values travel byte for byte: one that is not UTF-8 is ignored as the primary ignores it', () => {
    const { registry, follower: f, events } = follower();
    f.receive(page(1, [kv('a/service/web/ip', '10.0.0.1'), kv('a/service/web/port', Buffer.from([0x38, 0xff]))]));
    f.receive(done(1, 2));
    assert.deepEqual(routes(registry), []);
    assert.match(String(events('registry-entry-ignored')[0]?.reason), /not UTF-8/);
  });

  test('any page, relayed as JSON: the table and what is ignored are those of the same bytes applied as watch events', () => {
    const describeTable = (r: Registry) => [...r.table.deployments.values()].map((d) => JSON.stringify([d.name, d.branch, d.created, d.defaultService, d.fallback, d.sleep, [...d.services].map(([n, x]) => [n, x.ip, x.port, x.blocked])]));
    const keys = fc.oneof(keyArbitrary.map((k) => Buffer.from(k)), fc.uint8Array({ maxLength: 30 }).map((b) => Buffer.concat([Buffer.from(PREFIX), b])));
    // Unique keys: a page lists each key once.
    const pages = fc.uniqueArray(fc.tuple(keys, valueArbitrary), { maxLength: 30, selector: ([key]) => key.toString('hex') });
    fc.assert(
      fc.property(pages, (entries) => {
        const kvs = entries.map(([key, value]) => ({ key, value }));
        const events = memoryLogger();
        const fromEvents = new Registry(PREFIX, events.log);
        fromEvents.replace(fromEvents.newTable(), 1);
        fromEvents.apply(kvs.map((kv) => ({ type: 'put', ...kv, revision: 2 })));
        const relayed = memoryLogger();
        const fromPages = new Registry(PREFIX, relayed.log);
        const f = new RegistryFollower(fromPages);
        f.receive(JSON.parse(JSON.stringify(page(1, kvs))));
        f.receive(done(1, 2));
        assert.deepEqual(describeTable(fromPages), describeTable(fromEvents));
        const refusals = (lines: Record<string, unknown>[]) => lines.filter((l) => l.event === 'registry-entry-ignored' || l.event === 'backend-blocked').map(({ time: _time, ...l }) => JSON.stringify(l));
        assert.deepEqual(refusals(relayed.lines), refusals(events.lines));
      }),
      { numRuns: 500 },
    );
  });

  test('connection state follows the primary; other messages are not its own', () => {
    const { registry, follower: f } = follower();
    f.receive({ type: 'branch-proxy:registry-connection', connected: true });
    assert.equal(registry.connected, true);
    assert.equal(f.receive({ type: 'branch-proxy:activity', visits: [] }), false);
  });
});
