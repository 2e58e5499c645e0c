import type { Etcd3, IRangeRequest, IRangeResponse } from 'etcd3';
import { setImmediate } from 'node:timers/promises';
import type { Latin1Page, RangePage } from './range-response.ts';
import { decodeRangeResponse, latin1Page, RangeDecodeError } from './range-response.ts';

/**
 * Pages through the keys under `prefix` at the first page's revision, handing each
 * page to `onPage`, and resolves with that revision. The next page is asked for as
 * soon as a page arrives, so etcd reads it while this one is applied. Pages are large
 * because etcd (3.4) walks the rest of the range for every page: 5,000-key pages took
 * longer than 20,000-key ones at 100,000 routes.
 */
export async function readSnapshot(client: Etcd3, prefix: string, pageSize: number, onPage: (kvs: Latin1Page) => void): Promise<number> {
  const start = Buffer.from(prefix);
  const rangeEnd = prefixEnd(start);
  let revision = 0;
  let pending = readRange(client, { key: start, range_end: rangeEnd, limit: pageSize });
  for (;;) {
    const page = await pending;
    if (revision === 0) revision = page.revision;
    const more = page.more && page.kvs.length > 0;
    if (more) {
      const last = page.kvs[page.kvs.length - 2]!;
      pending = readRange(client, { key: Buffer.from(`${last}\0`, 'latin1'), range_end: rangeEnd, limit: pageSize, revision });
      // Handled here too: if applying this page threw, the next page's failure must not go unhandled.
      pending.catch(() => undefined);
      // The client sends the request only after a few promise hops: let it go out before applying.
      await setImmediate();
    }
    onPage(page.kvs);
    if (!more) return revision;
  }
}

/** The part of etcd3's connection pool (its ICallable) a raw call goes through. */
interface Pool {
  withConnection<R>(service: 'KV', fn: (args: { client: GrpcClient; metadata: unknown }) => Promise<R>): Promise<R>;
  readonly callOptionsFactory?: unknown;
}

/** The grpc-js Client method etcd3's generated ones call, with a deserializer of our choosing. */
interface GrpcClient {
  makeUnaryRequest(
    path: string,
    serialize: (request: IRangeRequest) => Buffer,
    deserialize: (bytes: Buffer) => Buffer,
    request: IRangeRequest,
    metadata: unknown,
    options: object,
    callback: (err: Error | null, response?: Buffer) => void,
  ): unknown;
  readonly range?: { readonly path?: unknown; readonly requestSerialize?: unknown };
}

/**
 * One Range call through etcd3's own connection pool (its endpoints, TLS, auth token,
 * failover and circuit breakers), with the response's bytes decoded by
 * decodeRangeResponse instead of protobufjs. etcd3 does the call itself, as every
 * other call, when it has to: an auth token to renew (only its `exec` does that), a
 * response the decoder does not take, or a pool that no longer looks as expected.
 */
export async function readRange(client: Etcd3, request: IRangeRequest): Promise<RangePage> {
  const pool = (client as unknown as { pool?: Partial<Pool> }).pool;
  if (typeof pool?.withConnection !== 'function') return viaEtcd3(client, request);
  try {
    const bytes = await pool.withConnection('KV', ({ client: grpc, metadata }) => {
      const path = grpc.range?.path;
      const serialize = grpc.range?.requestSerialize;
      if (typeof path !== 'string' || typeof serialize !== 'function' || typeof grpc.makeUnaryRequest !== 'function') throw new UnexpectedPool();
      const options = callOptions(pool.callOptionsFactory, request);
      return new Promise<Buffer>((resolve, reject) => {
        grpc.makeUnaryRequest(path, serialize as (request: IRangeRequest) => Buffer, (b) => b, request, metadata, options, (err, response) => (err || !response ? reject(err ?? new Error('etcd sent no Range response')) : resolve(response)));
      });
    });
    return decodeRangeResponse(bytes);
  } catch (err) {
    const { EtcdInvalidAuthTokenError } = await import('etcd3');
    if (err instanceof RangeDecodeError || err instanceof UnexpectedPool || err instanceof EtcdInvalidAuthTokenError) return viaEtcd3(client, request);
    throw err;
  }
}

class UnexpectedPool extends Error {}

/** The deadline etcd3 would give the call (createEtcdClient's defaultCallOptions). */
function callOptions(factory: unknown, request: IRangeRequest): object {
  if (typeof factory === 'function') return (factory as (context: object) => object)({ service: 'KV', method: 'range', params: request, isStream: false });
  return typeof factory === 'object' && factory !== null ? factory : {};
}

async function viaEtcd3(client: Etcd3, request: IRangeRequest): Promise<RangePage> {
  return rangePage(await client.kv.range(request));
}

/** etcd3's decoded response in the shape decodeRangeResponse gives. */
export function rangePage(response: IRangeResponse): RangePage {
  // protobufjs leaves an absent header null; etcd always sends one.
  const header = response.header as IRangeResponse['header'] | null;
  return { revision: Number(header?.revision ?? 0), more: response.more, kvs: latin1Page(response.kvs) };
}

/** The smallest key greater than every key that starts with `prefix`. */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}
