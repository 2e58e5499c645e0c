import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { EtcdSource } from '../../src/registry/etcd-source.ts';
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
