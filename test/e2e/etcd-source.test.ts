import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { EtcdSource } from '../../src/registry/etcd-source.ts';
import { rangePage, readRange, readSnapshot } from '../../src/registry/read-snapshot.ts';
import { Registry } from '../../src/registry/registry.ts';
import { etcdFor } from '../helpers/etcd.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';
import { PREFIX, register } from '../helpers/registry.ts';

describe('EtcdSource snapshot', () => {
  test('pages through the prefix at one revision: every key once, nothing outside it', async (t) => {
    const etcd = await etcdFor(t);
    const names = Array.from({ length: 11 }, (_, i) => `d${i}`);
    for (const [i, name] of names.entries()) await register(etcd.client, name, 'web', 3000 + i);
    // Just outside the prefix on either side: `/deployment0...` is where the range ends.
    await etcd.client.put('/deployment0/x/service/web/ip').value('127.0.0.1');
    await etcd.client.put('/deploymens/x/service/web/ip').value('127.0.0.1');
    const revision = Number((await etcd.client.get('none').exec()).header.revision);

    const { log, events } = memoryLogger();
    const registry = new Registry(PREFIX, log);
    const stop = new AbortController();
    // 22 keys in pages of 3: eight pages, each asked for while the one before is applied.
    const running = new EtcdSource(etcd.client, registry, log, { pageSize: 3 }).run(stop.signal);
    try {
      await once(registry, 'resync');
      assert.deepEqual(
        [...registry.table.routes()].map((r) => [r.deployment, r.service, r.target.port]),
        names.map((name, i) => [name, 'web', 3000 + i]).sort(),
      );
      assert.equal(registry.revision, revision);
      assert.deepEqual(events('registry-entry-ignored'), []);
    } finally {
      stop.abort();
      await running;
    }
  });
});

describe('readSnapshot and readRange', () => {
  test('pages read through the pooled call and decodeRangeResponse are the pages etcd3 reads, byte for byte', async (t) => {
    const etcd = await etcdFor(t);
    const values = [Buffer.from('127.0.0.1'), Buffer.from([0xff, 0x00, 0x0a, 0x80]), Buffer.alloc(0), Buffer.from('ü'), Buffer.alloc(3000, 'x')];
    for (let i = 0; i < 50; i++) await etcd.client.put(Buffer.concat([Buffer.from(`${PREFIX}d${i}/`), Buffer.from([0xc3, 0xbc, i])])).value(values[i % values.length]!);
    await etcd.client.put('/deployment0/outside').value('x');
    const revision = Number((await etcd.client.get('none').exec()).header.revision);

    // etcd3's own range is put out of reach: a page that came through it would fail the read.
    const library = await etcd.client.getAll().prefix(PREFIX).exec();
    const range = etcd.client.kv.range;
    etcd.client.kv.range = () => Promise.reject(new Error('etcd3 range used'));
    try {
      const pages: string[][] = [];
      const read = await readSnapshot(etcd.client, PREFIX, 7, (kvs) => pages.push([...kvs]));
      assert.equal(read, revision);
      assert.deepEqual(pages.map((p) => p.length), [14, 14, 14, 14, 14, 14, 14, 2]);
      assert.deepEqual(pages.flat(), rangePage(library).kvs);
      const one = await readRange(etcd.client, { key: Buffer.from(`${PREFIX}d1/`), range_end: Buffer.from(`${PREFIX}d10`) });
      assert.deepEqual(one, { revision, more: false, kvs: rangePage(library).kvs.slice(2, 4) });
    } finally {
      etcd.client.kv.range = range;
    }
  });
});
