import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { serviceKey } from '../../../src/registry/keys.ts';
import { Registry } from '../../../src/registry/registry.ts';
import type { RegistryEvent } from '../../../src/registry/registry.ts';
import { LiveFeed } from '../../../src/web/live-feed.ts';
import { memoryLogger } from '../../helpers/memory-logger.ts';
import { PREFIX } from '../../helpers/registry.ts';
import { waitFor } from '../../helpers/wait.ts';

/** A response that keeps what was written: the feed's side of a dashboard stream, without a socket. */
class RecordedResponse extends EventEmitter {
  status = 0;
  headers: Record<string, string> = {};
  text = '';
  ended = false;
  destroyed = false;
  writableLength = 0;
  writeHead(status: number, headers: Record<string, string>): this {
    this.status = status;
    this.headers = headers;
    return this;
  }
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
  end(chunk = ''): this {
    this.text += chunk;
    this.ended = true;
    return this;
  }
  destroy(): void {
    this.destroyed = true;
  }
  /** The `event:`/`data:` messages written so far. */
  messages(): { event: string; data: Record<string, unknown> }[] {
    return [...this.text.matchAll(/^event: (\S+)\ndata: (.*)$/gm)].map((m) => ({ event: m[1]!, data: JSON.parse(m[2]!) as Record<string, unknown> }));
  }
}

const request = (method = 'GET') => ({ method, socket: { setTimeout: () => undefined } }) as unknown as IncomingMessage;
const put = (d: string, s: string, field: 'ip' | 'port', value: string, revision: number): RegistryEvent => ({ type: 'put', key: Buffer.from(serviceKey(PREFIX, d, s, field)), value: Buffer.from(value), revision });
const BASE = { scheme: 'http', port: ':8080' };

describe('live feed', () => {
  const abort = new AbortController();
  let registry: Registry;
  let feed: LiveFeed;
  const memory = memoryLogger();

  function start(options: { maxClients?: number } = {}): void {
    registry = new Registry(PREFIX, memory.log);
    registry.replace(registry.newTable(), 1);
    registry.apply([put('main', 'web', 'ip', '127.0.0.1', 2), put('main', 'web', 'port', '8081', 2)]);
    feed = new LiveFeed({ registry, sources: { defaultService: 'web' }, log: memory.log, signal: abort.signal, coalesceMs: 5, ...options });
  }
  function attach(base = BASE, method = 'GET'): RecordedResponse {
    const res = new RecordedResponse();
    feed.attach(request(method), res as unknown as ServerResponse, base, 'dev.localhost');
    return res;
  }
  afterEach(() => feed.close());

  test('a viewer gets the stream headers and a snapshot of the table at once', () => {
    start();
    const res = attach();
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
    assert.match(res.text, /^retry: 2000\n/);
    const [snapshot] = res.messages();
    assert.equal(snapshot?.event, 'snapshot');
    const deployments = snapshot!.data.deployments as { name: string; url: string }[];
    assert.deepEqual(deployments.map((d) => [d.name, d.url]), [['main', 'http://main.dev.localhost:8080']]);
    assert.equal(snapshot!.data.revision, 2);
    assert.equal(feed.clients, 1);
  });

  test('several keys of one registration go out as one update; a removed deployment is named', async () => {
    start();
    const res = attach();
    registry.apply([put('feature', 'web', 'ip', '127.0.0.1', 3)]);
    registry.apply([put('feature', 'web', 'port', '8082', 4)]);
    const { value: update } = await waitFor('an update', () => res.messages().find((m) => m.event === 'update'));
    assert.deepEqual((update.data.changed as { name: string }[]).map((d) => d.name), ['feature']);
    assert.deepEqual(update.data.removed, []);
    assert.equal(update.data.revision, 4);
    assert.equal(res.messages().filter((m) => m.event === 'update').length, 1, 'coalesced into one message');
    registry.apply([{ type: 'delete', key: Buffer.from(serviceKey(PREFIX, 'feature', 'web', 'ip')), value: Buffer.alloc(0), revision: 5 }]);
    registry.apply([{ type: 'delete', key: Buffer.from(serviceKey(PREFIX, 'feature', 'web', 'port')), value: Buffer.alloc(0), revision: 6 }]);
    const { value: removal } = await waitFor('the removal', () => res.messages().filter((m) => m.event === 'update')[1]);
    assert.deepEqual(removal.data.removed, ['feature']);
  });

  test('viewers on different ports get links in their own port; a resync sends a fresh snapshot; connection changes go out as status', async () => {
    start();
    const a = attach();
    const b = attach({ scheme: 'https', port: '' });
    const next = registry.newTable();
    registry.replace(next, 10);
    await waitFor('two snapshots each', () => (a.messages().length === 2 && b.messages().length === 2 ? true : undefined));
    assert.deepEqual(a.messages()[1]!.data.deployments, []);
    registry.apply([put('x', 'web', 'ip', '127.0.0.1', 11), put('x', 'web', 'port', '80', 11)]);
    await waitFor('updates', () => (a.messages().length === 3 && b.messages().length === 3 ? true : undefined));
    assert.equal((a.messages()[2]!.data.changed as { url: string }[])[0]!.url, 'http://x.dev.localhost:8080');
    assert.equal((b.messages()[2]!.data.changed as { url: string }[])[0]!.url, 'https://x.dev.localhost');
    registry.setConnected(true);
    assert.deepEqual(a.messages().at(-1), { event: 'status', data: { connected: true } });
  });

  test('too many viewers get 503; HEAD gets headers only; a viewer that stops reading is dropped; close ends every stream', () => {
    start({ maxClients: 1 });
    const head = attach(BASE, 'HEAD');
    assert.deepEqual([head.status, head.ended, head.text], [200, true, '']);
    const first = attach();
    const second = attach();
    assert.equal(second.status, 503);
    assert.match(second.text, /Too many live dashboards/);
    first.writableLength = 2 << 20;
    registry.setConnected(true);
    assert.equal(first.destroyed, true);
    assert.equal(feed.clients, 0);
    const again = attach();
    feed.close();
    assert.equal(again.ended, true);
    assert.equal(feed.clients, 0);
  });
});
