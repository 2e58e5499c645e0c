import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { serviceKey } from '../src/registry/keys.ts';
import type { EtcdServer } from '../test/helpers/etcd.ts';
import { freePort } from '../test/helpers/ports.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { median } from './lib/stats.ts';
import type { Running } from './lib/targets.ts';
import { startBranchProxy, startNginxProxy } from './lib/targets.ts';

export interface StreamRow {
  path: string;
  wsMessagesPerSecond: number;
  downloadMiBps: number;
  uploadMiBps: number;
}

const HOST = 'bench-ws.dev.localhost';

/** WebSocket echo round trips and large streamed downloads/uploads, per path, median of rounds. */
export async function streams(etcd: EtcdServer, o: { rounds: number; seconds: number; mib: number }, log: (line: string) => void): Promise<StreamRow[]> {
  const port = await freePort();
  const backend = spawn(process.execPath, [fileURLToPath(new URL('./ws-backend.mjs', import.meta.url))], { env: { ...process.env, PORT: String(port) }, stdio: 'ignore' });
  const started: Running[] = [];
  try {
    await waitFor('ws backend', async () => ((await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'x' })).ok ? true : undefined), 10_000);
    await etcd.client.put(serviceKey('/deployment/', 'bench-ws', 'web', 'ip')).value('127.0.0.1');
    await etcd.client.put(serviceKey('/deployment/', 'bench-ws', 'web', 'port')).value(String(port));
    started.push(await startNginxProxy({ [HOST]: port }), await startBranchProxy(etcd.endpoint, { name: 'branch-proxy (streams)' }));
    const paths: [string, number][] = [['direct', port], ['nginx-proxy', started[0]!.port], ['branch-proxy', started[1]!.port]];
    const samples = new Map<string, { ws: number[]; down: number[]; up: number[] }>();
    for (let round = 1; round <= o.rounds; round++) {
      for (const [path, p] of paths) {
        const s = samples.get(path) ?? { ws: [], down: [], up: [] };
        s.ws.push(await wsEcho(p, 16, o.seconds));
        s.down.push(await download(p, o.mib));
        s.up.push(await upload(p, o.mib));
        samples.set(path, s);
        log(`round ${round}/${o.rounds} ${path}: ${Math.round(s.ws.at(-1)!)} ws msg/s, download ${s.down.at(-1)!.toFixed(0)} MiB/s, upload ${s.up.at(-1)!.toFixed(0)} MiB/s`);
      }
    }
    return [...samples].map(([path, s]) => ({ path, wsMessagesPerSecond: median(s.ws), downloadMiBps: median(s.down), uploadMiBps: median(s.up) }));
  } finally {
    await Promise.all(started.map((s) => s.stop()));
    backend.kill();
  }
}

/** `connections` sockets each echoing one 128-byte message at a time; returns round trips per second. */
async function wsEcho(port: number, connections: number, seconds: number): Promise<number> {
  const payload = Buffer.alloc(128, 'm');
  const deadline = performance.now() + seconds * 1000;
  let count = 0;
  await Promise.all(
    Array.from({ length: connections }, () => new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { headers: { host: HOST } });
      ws.on('open', () => ws.send(payload));
      ws.on('message', () => {
        count++;
        if (performance.now() < deadline) ws.send(payload);
        else ws.close();
      });
      ws.on('close', () => resolve());
      ws.on('error', reject);
    })),
  );
  return count / seconds;
}

function download(port: number, mib: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    request({ port, host: '127.0.0.1', path: `/download?mb=${mib}`, headers: { host: HOST } }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => (bytes === mib * 2 ** 20 ? resolve(mib / ((performance.now() - start) / 1000)) : reject(new Error(`download: got ${bytes} bytes`))));
      res.on('error', reject);
    }).on('error', reject).end();
  });
}

function upload(port: number, mib: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(64 * 1024, 'u');
    const start = performance.now();
    const req = request({ port, host: '127.0.0.1', path: '/upload', method: 'POST', headers: { host: HOST, 'content-length': mib * 16 * chunk.length } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        // A proxy that refused the body (413) or cut it short must not look fast.
        const received = res.statusCode === 200 ? (JSON.parse(body) as { bytes: number }).bytes : -1;
        if (received !== mib * 16 * chunk.length) reject(new Error(`upload: status ${res.statusCode}, backend received ${received} bytes`));
        else resolve(mib / ((performance.now() - start) / 1000));
      });
    });
    req.on('error', reject);
    let left = mib * 16;
    const pump = (): void => {
      while (left > 0) {
        left--;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}
