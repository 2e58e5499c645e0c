import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { etcdBinary } from './etcd.ts';
import { freePort } from './ports.ts';
import { waitFor } from './wait.ts';

/** One member of a local etcd cluster. */
export interface EtcdMember {
  readonly name: string;
  readonly endpoint: string;
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Kills the process (SIGKILL by default), keeping its data. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again as a member of the existing cluster, with its data. */
  start(): Promise<void>;
  /** SIGSTOP: the process stops, but the kernel still accepts TCP connections on its ports. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** A gauge from the member's own /metrics (e.g. `etcd_debugging_mvcc_watch_stream_total`). */
  metric(name: string): Promise<number>;
}

/** A cluster of real etcd processes on random loopback ports, each with its own temp data dir. */
export interface EtcdCluster {
  readonly members: readonly EtcdMember[];
  readonly endpoints: readonly string[];
  /** A client for the given members (all by default). The caller closes it. */
  client(members?: readonly EtcdMember[]): Etcd3;
  /** Kills every member and deletes the data. */
  destroy(): Promise<void>;
}

export async function startEtcdCluster(size = 3): Promise<EtcdCluster> {
  const binary = etcdBinary();
  const dir = mkdtempSync(join(tmpdir(), 'branch-proxy-etcd-cluster-'));
  const specs: { name: string; client: string; peer: string }[] = [];
  for (let i = 0; i < size; i++) {
    specs.push({ name: `m${i}`, client: `http://127.0.0.1:${await freePort()}`, peer: `http://127.0.0.1:${await freePort()}` });
  }
  const initialCluster = specs.map((s) => `${s.name}=${s.peer}`).join(',');
  const clients: Etcd3[] = [];

  const members = specs.map((spec): EtcdMember => {
    let child: ChildProcess | undefined;
    let output = '';
    let started = false;
    const alive = (): boolean => child !== undefined && child.exitCode === null && child.signalCode === null;
    const spawnMember = (): void => {
      output = '';
      child = spawn(
        binary,
        [
          '--name', spec.name,
          '--data-dir', join(dir, spec.name),
          '--listen-client-urls', spec.client,
          '--advertise-client-urls', spec.client,
          '--listen-peer-urls', spec.peer,
          '--initial-advertise-peer-urls', spec.peer,
          '--initial-cluster', initialCluster,
          '--initial-cluster-state', started ? 'existing' : 'new',
          '--initial-cluster-token', 'branch-proxy-faults',
          '--log-level', 'error',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      started = true;
      child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
      child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    };
    const member: EtcdMember = {
      name: spec.name,
      endpoint: spec.client,
      get pid() {
        return child?.pid;
      },
      get running() {
        return alive();
      },
      async stop(signal = 'SIGKILL') {
        const c = child;
        if (!c || !alive()) return;
        const exited = new Promise((resolve) => c.once('exit', resolve));
        if (signal !== 'SIGKILL') c.kill('SIGCONT');
        c.kill(signal);
        await exited;
      },
      async start() {
        spawnMember();
        await healthy(member, () => output);
      },
      pause() {
        child?.kill('SIGSTOP');
      },
      resume() {
        child?.kill('SIGCONT');
      },
      async metric(name) {
        const text = await (await fetch(`${spec.client}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
        const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
        if (!line) throw new Error(`etcd ${spec.name} has no metric ${name}`);
        return Number(line.slice(line.lastIndexOf(' ') + 1));
      },
    };
    return member;
  });

  // Members of a new cluster wait for each other, so they must start together.
  const outputs: string[] = [];
  await Promise.all(members.map((m) => m.start().catch((err: Error) => outputs.push(err.message))));
  if (outputs.length) {
    await Promise.all(members.map((m) => m.stop()));
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`etcd cluster did not start: ${outputs.join('; ')}`);
  }
  return {
    members,
    endpoints: members.map((m) => m.endpoint),
    client(subset = members) {
      const c = new Etcd3({ hosts: subset.map((m) => m.endpoint), dialTimeout: 2000, defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 3000 }) });
      clients.push(c);
      return c;
    },
    async destroy() {
      for (const c of clients) c.close();
      await Promise.all(members.map((m) => m.stop('SIGKILL')));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until the member answers a linearizable read, i.e. it has joined a cluster with a quorum. */
async function healthy(member: EtcdMember, output: () => string): Promise<void> {
  const probe = new Etcd3({ hosts: member.endpoint, dialTimeout: 1000 });
  try {
    await waitFor(
      `etcd member ${member.name} at ${member.endpoint}`,
      async () => {
        if (!member.running) throw new Error(`etcd ${member.name} exited: ${output().slice(-500)}`);
        await probe.get('health').options({ deadline: Date.now() + 1000 });
        return true;
      },
      20_000,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; output: ${output().slice(-500)}`);
  } finally {
    probe.close();
  }
}
