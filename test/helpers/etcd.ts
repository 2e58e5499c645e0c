import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import type { Certificates } from './certs.ts';
import { freePort } from './ports.ts';
import { suiteResource } from './suite-resource.ts';
import type { Owner } from './temp-dir.ts';
import { waitFor } from './wait.ts';

/** A real etcd server on random loopback ports with its own temp data dir. */
export interface EtcdServer {
  readonly endpoint: string;
  readonly client: Etcd3;
  /** Stops the process (SIGTERM, or SIGKILL with `kill`), keeping its data. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same ports with the same data. */
  start(): Promise<void>;
  /** Compacts history up to the current revision. */
  compact(): Promise<number>;
  /** Stops it and deletes its data. */
  destroy(): Promise<void>;
}

export function etcdBinary(): string {
  const found = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).stdout.trim();
  if (!found) throw new Error('etcd is not installed: run `apt-get install etcd-server` (Debian) or put an etcd binary on PATH');
  return found;
}

export interface EtcdOptions {
  /** Serve https only and require client certificates signed by the same CA. */
  readonly tls?: Certificates;
}

export async function startEtcd(options: EtcdOptions = {}): Promise<EtcdServer> {
  const binary = etcdBinary();
  const dir = mkdtempSync(join(tmpdir(), 'branch-proxy-etcd-'));
  const { tls } = options;
  // Chosen again if etcd finds one taken: a port freePort saw free can be another socket's by the time etcd binds it.
  let endpoint = '';
  let peer = '';
  const choosePorts = async (): Promise<void> => {
    const clientPort = await freePort();
    let peerPort = await freePort();
    while (peerPort === clientPort) peerPort = await freePort();
    endpoint = `${tls ? 'https' : 'http'}://127.0.0.1:${clientPort}`;
    peer = `http://127.0.0.1:${peerPort}`;
  };
  await choosePorts();
  const tlsArgs = tls ? ['--cert-file', tls.serverCert, '--key-file', tls.serverKey, '--trusted-ca-file', tls.ca, '--client-cert-auth'] : [];
  const credentials = tls
    ? { credentials: { rootCertificate: readFileSync(tls.ca), certChain: readFileSync(tls.clientCert), privateKey: readFileSync(tls.clientKey) } }
    : {};
  let child: ChildProcess | undefined;
  let output = '';

  const start = async (): Promise<void> => {
    output = '';
    child = spawn(
      binary,
      [
        '--name', 'test',
        '--data-dir', join(dir, 'data'),
        '--listen-client-urls', endpoint,
        '--advertise-client-urls', endpoint,
        '--listen-peer-urls', peer,
        '--initial-advertise-peer-urls', peer,
        '--initial-cluster', `test=${peer}`,
        '--log-level', 'error',
        ...tlsArgs,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    // After 'close', all of its output has been read.
    const closed = new Promise((resolve) => child!.once('close', resolve));
    const probe = new Etcd3({ hosts: endpoint, dialTimeout: 1000, ...credentials });
    try {
      const { value } = await waitFor(`etcd at ${endpoint} (output: ${output.slice(-500)})`, async () => {
        if (child?.exitCode !== null) return 'exited';
        await probe.get('health').options({ deadline: Date.now() + 500 });
        return 'up';
      }, 15_000);
      if (value === 'exited') {
        await closed;
        throw new Error(`etcd exited: ${output.slice(-500)}`);
      }
    } finally {
      probe.close();
    }
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    c.kill(signal);
    await exited;
  };

  for (let attempt = 1; ; attempt++) {
    try {
      await start();
      break;
    } catch (err) {
      await stop('SIGKILL');
      if (attempt < 3 && output.includes('address already in use')) {
        // A member written with the old peer address would not start on the new one.
        rmSync(join(dir, 'data'), { recursive: true, force: true });
        await choosePorts();
        continue;
      }
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }
  const client = new Etcd3({ hosts: endpoint, ...credentials });
  return {
    endpoint,
    client,
    stop,
    start,
    async compact() {
      const res = await client.kv.range({ key: Buffer.from('\0'), limit: 1 });
      const revision = Number(res.header.revision);
      await client.kv.compact({ revision, physical: true });
      return revision;
    },
    async destroy() {
      client.close();
      await stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An etcd that is destroyed (data included) when `owner` (a test's `t`) ends, also when it fails. */
export async function etcdFor(owner: Owner, options: EtcdOptions = {}): Promise<EtcdServer> {
  const etcd = await startEtcd(options);
  owner.after(() => etcd.destroy());
  return etcd;
}

/** For a describe body: an etcd started in `before` and destroyed in `after`. */
export function useEtcd(options: EtcdOptions = {}): EtcdServer {
  return suiteResource('etcd', () => startEtcd(options), (etcd) => etcd.destroy());
}
