import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import type { Backend } from '../helpers/backend.ts';
import { startBackend } from '../helpers/backend.ts';
import type { Certificates } from '../helpers/certs.ts';
import { makeCertificates } from '../helpers/certs.ts';
import { SUITE } from '../helpers/temp-dir.ts';
import type { EtcdServer } from '../helpers/etcd.ts';
import { startEtcd } from '../helpers/etcd.ts';
import type { TestProxy } from '../helpers/proxy.ts';
import { startProxy } from '../helpers/proxy.ts';
import { register } from '../helpers/registry.ts';
import { tlsClient } from '../helpers/tls-clients.ts';
import { waitFor } from '../helpers/wait.ts';
import { heapAfterGcMiB } from './lib/process.ts';

/**
 * HTTP/2-specific abuse against the TLS listener (src/listeners/public-server.ts), produced
 * with raw frames on loopback in bounded loops. Each attack must end with the abusive
 * connection cut or its streams refused, other clients served meanwhile, and memory back
 * to where it was.
 */
const HOST = 'app.dev.localhost';
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const TYPE = { HEADERS: 0x1, RST_STREAM: 0x3, SETTINGS: 0x4, PING: 0x6, GOAWAY: 0x7, CONTINUATION: 0x9 } as const;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;

function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(stream, 5);
  return Buffer.concat([header, payload]);
}

/** HPACK for GET https://app.dev.localhost<path>: static-table entries plus literal :authority and :path. */
function requestBlock(path: string): Buffer {
  const literal = (index: number, value: string) => Buffer.concat([Buffer.from([index, value.length]), Buffer.from(value)]);
  return Buffer.concat([Buffer.from([0x82, 0x87]), literal(0x01, HOST), literal(0x04, path)]);
}

/** What the server sent on a raw connection, and whether it closed it. */
interface RawSession {
  readonly socket: TLSSocket;
  readonly received: { goaway: boolean; rstStreams: number; bytes: number };
  readonly closed: Promise<void>;
}

function rawSession(port: number, ca: Buffer, { read = true } = {}): Promise<RawSession> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost', ALPNProtocols: ['h2'] }, () => {
      if (socket.alpnProtocol !== 'h2') return reject(new Error(`ALPN chose ${String(socket.alpnProtocol)}`));
      socket.write(Buffer.concat([PREFACE, frame(TYPE.SETTINGS, 0, 0)]));
      if (!read) socket.pause();
      resolve({ socket, received, closed });
    });
    const received = { goaway: false, rstStreams: 0, bytes: 0 };
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      received.bytes += chunk.length;
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 9) {
        const length = pending.readUIntBE(0, 3);
        if (pending.length < 9 + length) break;
        if (pending[3] === TYPE.GOAWAY) received.goaway = true;
        if (pending[3] === TYPE.RST_STREAM) received.rstStreams++;
        pending = pending.subarray(9 + length);
      }
    });
    socket.on('error', () => undefined);
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.once('error', reject);
  });
}

/** Writes frames in batches, waiting for the socket to drain, until done or the server closes. */
async function flood(session: RawSession, count: number, make: (i: number) => Buffer): Promise<number> {
  let sent = 0;
  for (; sent < count && !session.socket.destroyed; sent++) {
    if (!session.socket.write(make(sent))) {
      const drained = await Promise.race([new Promise<boolean>((r) => session.socket.once('drain', () => r(true))), session.closed.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
      if (!drained) break;
    }
  }
  return sent;
}

describe('HTTP/2 abuse is bounded', () => {
  let etcd: EtcdServer;
  let backend: Backend;
  const certs: Certificates = makeCertificates(SUITE);
  let ca: Buffer;
  let proxy: TestProxy;
  let baselineHeapMiB: number;

  /** A well-behaved HTTP/2 client and an HTTP/1.1 one, each fetching a page. */
  async function othersServed(): Promise<void> {
    for (const protocol of ['h2', 'http/1.1'] as const) {
      const client = tlsClient(protocol, proxy.port, ca);
      try {
        assert.equal((await client.request(HOST, '/echo')).status, 200, `a ${protocol} bystander is served`);
      } finally {
        client.close();
      }
    }
  }

  before(async () => {
    etcd = await startEtcd();
    backend = await startBackend('app');
    await register(etcd.client, 'app', 'web', backend.port);
    ca = readFileSync(certs.ca);
    proxy = await startProxy(etcd.endpoint, { TLS_CERT_FILE: certs.serverCert, TLS_KEY_FILE: certs.serverKey, LOG_LEVEL: 'warn' });
    await waitFor('routes', () => (proxy.registry.table.routeCount === 1 ? true : undefined));
    await othersServed();
    baselineHeapMiB = await heapAfterGcMiB();
  });
  after(async () => {
    await proxy?.close();
    await backend?.close();
    await etcd?.destroy();
    if (certs) rmSync(certs.dir, { recursive: true, force: true });
  });

  test('rapid reset (CVE-2023-44487): HEADERS then RST_STREAM, 20 000 times, ends with the connection cut', async (t) => {
    const session = await rawSession(proxy.port, ca);
    const block = requestBlock('/slow?ms=2000');
    const sent = await flood(session, 20_000, (i) => Buffer.concat([frame(TYPE.HEADERS, END_HEADERS | END_STREAM, 2 * i + 1, block), frame(TYPE.RST_STREAM, 0, 2 * i + 1, Buffer.from([0, 0, 0, 8]))]));
    const servedMeanwhile = othersServed();
    await Promise.race([session.closed, new Promise((r) => setTimeout(r, 10_000))]);
    t.diagnostic(`sent ${sent} reset streams; server sent GOAWAY: ${session.received.goaway}; connection closed: ${session.socket.destroyed}; backend saw ${backend.seen.filter((r) => r.url === '/slow?ms=2000').length}`);
    session.socket.destroy();
    await servedMeanwhile;
    assert.ok(session.received.goaway || sent < 20_000, 'the server stopped the resets rather than serving all of them');
  });

  test('PING and SETTINGS floods from a client that reads nothing: the server stops queueing replies', async (t) => {
    const session = await rawSession(proxy.port, ca, { read: false });
    const ping = frame(TYPE.PING, 0, 0, Buffer.alloc(8));
    const settings = frame(TYPE.SETTINGS, 0, 0, Buffer.from([0, 3, 0, 0, 0, 100]));
    const sent = await flood(session, 100_000, (i) => (i % 2 === 0 ? ping : settings));
    await othersServed();
    session.socket.resume();
    await Promise.race([session.closed, new Promise((r) => setTimeout(r, 10_000))]);
    t.diagnostic(`sent ${sent} PING/SETTINGS frames; GOAWAY: ${session.received.goaway}; closed: ${session.socket.destroyed}; ${session.received.bytes} bytes came back`);
    assert.ok(session.received.goaway || session.socket.destroyed, 'the flooding connection is cut');
    assert.ok(session.received.bytes < 17 * sent, 'not every PING and SETTINGS got its ACK queued');
    session.socket.destroy();
  });

  test('an oversized header block (1 MiB across CONTINUATION frames) is refused without buffering it', async (t) => {
    const session = await rawSession(proxy.port, ca);
    const field = Buffer.concat([Buffer.from([0x00, 3]), Buffer.from('x-a'), Buffer.from([100]), Buffer.alloc(100, 'a')]);
    const chunk = Buffer.concat(Array.from({ length: 150 }, () => field)); // ~16 KB per frame
    session.socket.write(frame(TYPE.HEADERS, 0, 1, requestBlock('/echo')));
    const sent = await flood(session, 64, () => frame(TYPE.CONTINUATION, 0, 1, chunk));
    await Promise.race([session.closed, new Promise((r) => setTimeout(r, 10_000))]);
    t.diagnostic(`sent ${sent} CONTINUATION frames of ${chunk.length} bytes; GOAWAY: ${session.received.goaway}; RST_STREAM: ${session.received.rstStreams}; closed: ${session.socket.destroyed}`);
    assert.ok(session.received.goaway || session.received.rstStreams > 0 || session.socket.destroyed, 'the block is refused');
    assert.ok(!backend.seen.some((r) => r.headers['x-a'] !== undefined), 'nothing of it reached the backend');
    session.socket.destroy();
    await othersServed();
  });

  test('too many concurrent streams: those beyond 128 are refused; the backend never sees more', async (t) => {
    const session = await rawSession(proxy.port, ca);
    const before = backend.seen.length;
    const block = requestBlock('/slow?ms=3000');
    // Open streams held open (no END_STREAM): each waits for a body that never comes.
    await flood(session, 400, (i) => frame(TYPE.HEADERS, END_HEADERS, 2 * i + 1, block));
    await waitFor('streams refused', () => (session.received.rstStreams > 0 || session.socket.destroyed ? true : undefined), 10_000);
    await othersServed();
    const reached = backend.seen.length - before;
    t.diagnostic(`400 streams opened; ${session.received.rstStreams} refused; ${reached} reached the backend; GOAWAY: ${session.received.goaway}`);
    assert.ok(reached <= 128 + 2, `at most 128 streams of the connection were forwarded (${reached})`);
    session.socket.destroy();
  });

  test('memory returns to its baseline', async (t) => {
    await othersServed();
    const { value: heap } = await waitFor('heap back near its baseline', async () => {
      const now = await heapAfterGcMiB();
      return now < baselineHeapMiB + 16 ? now : undefined;
    }, 20_000);
    t.diagnostic(`heap after GC: ${baselineHeapMiB.toFixed(1)} MiB before the attacks, ${heap.toFixed(1)} MiB after`);
  });
});
