import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { serviceKey, sleepStateKey, deploymentKey } from '../../src/registry/keys.ts';
import { SleepStore } from '../../src/sleep/sleep-store.ts';
import type { SleepRecord } from '../../src/sleep/sleep-record.ts';
import type { EtcdServer } from '../helpers/etcd.ts';
import { startEtcd } from '../helpers/etcd.ts';

const record = (state: SleepRecord['state'], owner: string, services = ['web']): SleepRecord => ({ state, since: '2026-01-30T10:00:00.000Z', owner, services });

describe('sleep store (real etcd)', () => {
  let etcd: EtcdServer;
  let n = 0;
  let prefix = '';
  let store: SleepStore;
  before(async () => (etcd = await startEtcd()));
  after(async () => await etcd?.destroy());
  const fresh = () => {
    prefix = `/sleep-store-${++n}/`;
    store = new SleepStore(etcd.client, prefix);
  };

  test('of 10 concurrent claims of an absent record exactly one wins, and its record is stored', async () => {
    fresh();
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => store.claim('feature-x', 'absent', record('sleeping', `replica-${i}`))));
    const winners = results.flatMap((r, i) => (r.won ? [i] : []));
    assert.equal(winners.length, 1, JSON.stringify(results));
    const stored = await store.read('feature-x');
    assert.equal(stored?.record?.owner, `replica-${winners[0]}`);
    const won = results[winners[0]!]!;
    assert.equal(won.won && won.modRevision, stored?.modRevision);
  });

  test('of 10 concurrent claims of one revision (asleep -> waking) exactly one wins; a stale revision loses', async () => {
    fresh();
    const first = await store.claim('feature-x', 'absent', record('asleep', 'cli'));
    assert.ok(first.won);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => store.claim('feature-x', first.modRevision, record('waking', `replica-${i}`))));
    assert.equal(results.filter((r) => r.won).length, 1);
    assert.deepEqual(await store.claim('feature-x', first.modRevision, record('waking', 'late')), { won: false });
    assert.deepEqual(await store.claim('feature-x', 'absent', record('sleeping', 'late')), { won: false });
    assert.equal((await store.read('feature-x'))?.record?.state, 'waking');
  });

  test('falling asleep replaces the claim and deletes every service key, keeping the deployment fields', async () => {
    fresh();
    for (const s of ['web', 'api']) {
      await etcd.client.put(serviceKey(prefix, 'feature-x', s, 'ip')).value('127.0.0.1').exec();
      await etcd.client.put(serviceKey(prefix, 'feature-x', s, 'port')).value('8000').exec();
    }
    await etcd.client.put(deploymentKey(prefix, 'feature-x', 'created')).value('2026-01-30T09:00:00.000Z').exec();
    await etcd.client.put(serviceKey(prefix, 'feature-xy', 'web', 'ip')).value('127.0.0.1').exec();
    const claim = await store.claim('feature-x', 'absent', record('sleeping', 'me', ['web', 'api']));
    assert.ok(claim.won);
    assert.deepEqual(await store.fallAsleep('feature-x', '1', record('asleep', 'me')), { won: false }, 'a wrong revision changes nothing');
    assert.equal((await etcd.client.getAll().prefix(`${prefix}feature-x/service/`).keys()).length, 4);
    const asleep = await store.fallAsleep('feature-x', claim.modRevision, record('asleep', 'me', ['web', 'api']));
    assert.ok(asleep.won);
    assert.deepEqual((await etcd.client.getAll().prefix(prefix).keys()).sort(), [
      `${prefix}feature-x/created`,
      `${prefix}feature-x/sleep`,
      `${prefix}feature-xy/service/web/ip`,
    ]);
    assert.equal((await store.read('feature-x'))?.record?.state, 'asleep');
  });

  test('remove by revision, with last-wake written in the same step', async () => {
    fresh();
    assert.equal(await store.readLastWake('feature-x'), undefined);
    const claim = await store.claim('feature-x', 'absent', record('waking', 'me'));
    assert.ok(claim.won);
    assert.equal(await store.remove('feature-x', String(Number(claim.modRevision) - 1), { ms: 1, at: '2026-01-30T10:00:00.000Z' }), false);
    assert.equal(await store.readLastWake('feature-x'), undefined, 'a lost removal writes no last-wake');
    assert.equal(await store.remove('feature-x', claim.modRevision, { ms: 41_000, at: '2026-01-30T10:01:00.000Z' }), true);
    assert.equal(await store.read('feature-x'), undefined);
    assert.deepEqual(await store.readLastWake('feature-x'), { ms: 41_000, at: '2026-01-30T10:01:00.000Z' });
    await store.writeLastWake('feature-x', { ms: 12, at: '2026-01-30T11:00:00.000Z' });
    assert.deepEqual(await store.readLastWake('feature-x'), { ms: 12, at: '2026-01-30T11:00:00.000Z' });
  });

  test('an invalid record reads as invalid with its revision, so it can be replaced', async () => {
    fresh();
    await etcd.client.put(sleepStateKey(prefix, 'feature-x', 'sleep')).value('{"state":"dozing"}').exec();
    await etcd.client.put(sleepStateKey(prefix, 'feature-x', 'last-wake')).value('garbage').exec();
    const stored = await store.read('feature-x');
    assert.ok(stored && stored.record === undefined && /state "dozing"/.test(stored.invalid));
    assert.ok((await store.claim('feature-x', stored.modRevision, record('sleeping', 'me'))).won);
    assert.equal(await store.readLastWake('feature-x'), undefined);
  });
});
