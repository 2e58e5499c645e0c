import { Agent, request } from 'node:http';
import { loadavg } from 'node:os';
import { deploymentKey, serviceKey, sleepStateKey } from '../src/registry/keys.ts';
import type { EtcdServer } from '../test/helpers/etcd.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { rssMiB } from './lib/proc.ts';
import { median, percentile } from './lib/stats.ts';
import { startBranchProxy, startNodeBackend } from './lib/targets.ts';

export interface WakeResult {
  /** One held request at a time: from the service's keys written (backend already listening) to the held response. */
  singleOverheadMs: { p50: number; p99: number; samples: number };
  /** `held` requests on one waking deployment, released together; `holds` times in a row (each its own deployment). */
  held: number;
  holds: number;
  /** Over all holds. */
  answered: number;
  ok: number;
  /** From the service's keys written to each held response, over all holds. */
  releaseMs: { p50: number; p99: number; max: number };
  /** Before the first hold, during the first hold, and the most during any hold (later ones include what earlier releases left to collect). */
  rssMiB: { before: number; holding: number; holdingMax: number };
  /**
   * Requests to an awake deployment: a window without a wake, then one during the hold, in each round.
   * `baseline` and `duringHold` are medians over the rounds, `ratio` the median of each round's ratio
   * (a slow phase of the machine lifts both windows of a round alike).
   */
  awakeP99Ms: { baseline: number; duringHold: number; ratio: number; rounds: { baseline: number; duringHold: number }[] };
  /**
   * The awake deployment with no other deployment in the table, then with `sleeping` asleep ones, in
   * alternating windows; ratios (with / without) are medians of each round's ratio.
   */
  sleepingFleet: { sleeping: number; rpsRatio: number; p99Ratio: number; rounds: { without: AwakeWindow; with: AwakeWindow }[] };
  loadAverage: number[];
}

export interface AwakeWindow {
  readonly rps: number;
  readonly p99Ms: number;
}

const PREFIX = '/deployment/';
const DOMAIN = 'dev.localhost';

/**
 * Issue #13's measurements: the overhead between a woken service being routed
 * and accepting connections and the held request's response, and 1,000 held
 * requests on one waking deployment while an awake one keeps its latency
 * (rounds of a window without a wake then one during a hold, compared round by round).
 * The wake command does nothing: the bench itself brings the service back by
 * writing its keys at a known moment, the backend already listening.
 */
export async function wake(etcd: EtcdServer, o: { held: number; samples: number; seconds: number; holds: number; fleet: number }, log: (line: string) => void): Promise<WakeResult> {
  const backend = await startNodeBackend();
  const proxy = await startBranchProxy(etcd.endpoint, { name: 'branch-proxy (wake)', env: { WAKE_COMMAND: 'true', WAKE_HOLD: '120s', WAKE_TIMEOUT: '10m' } });
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  try {
    await put(etcd, serviceKey(PREFIX, 'awake', 'web', 'ip'), '127.0.0.1');
    await put(etcd, serviceKey(PREFIX, 'awake', 'web', 'port'), String(backend.port));
    await waitFor('awake routed', async () => ((await get(proxy.port, `awake.${DOMAIN}`, agent)).status === 200 ? true : undefined), 10_000);

    // Sleeping deployments must cost awake ones nothing: the same load without and with a sleeping fleet, alternated.
    const fleetRounds: { without: AwakeWindow; with: AwakeWindow }[] = [];
    const lastOfFleet = `fleet-${o.fleet - 1}.${DOMAIN}`;
    for (let round = 0; round < 3; round++) {
      const without = await awakeLoad(proxy.port, agent, o.seconds);
      await sleepFleet(etcd, o.fleet);
      await waitFor('the sleeping fleet in the table', async () => ((await get(proxy.port, lastOfFleet, agent, { 'user-agent': 'bot' })).status === 503 ? true : undefined), 30_000);
      const withFleet = await awakeLoad(proxy.port, agent, o.seconds);
      await etcd.client.delete().prefix(`${PREFIX}fleet-`).exec();
      await waitFor('the sleeping fleet gone', async () => ((await get(proxy.port, lastOfFleet, agent, { 'user-agent': 'bot' })).status === 404 ? true : undefined), 30_000);
      fleetRounds.push({ without, with: withFleet });
      log(`sleeping fleet ${round + 1}/3: awake ${without.rps.toFixed(0)} req/s p99 ${without.p99Ms.toFixed(2)} ms alone, ${withFleet.rps.toFixed(0)} req/s p99 ${withFleet.p99Ms.toFixed(2)} ms beside ${o.fleet} asleep`);
    }

    const single: number[] = [];
    for (let i = 0; i < o.samples; i++) {
      const name = `single-${i}`;
      await sleep(etcd, name);
      await waitFor(`${name} asleep`, async () => ((await get(proxy.port, `${name}.${DOMAIN}`, agent, { 'user-agent': 'bot' })).status === 503 ? true : undefined), 10_000);
      const held = get(proxy.port, `${name}.${DOMAIN}`, agent);
      await delay(200);
      const t0 = performance.now();
      await routeTo(etcd, name, backend.port);
      const reply = await held;
      if (reply.status !== 200) throw new Error(`held request to ${name} answered ${reply.status}`);
      single.push(reply.at - t0);
    }
    log(`single held request: p50 ${percentile(single, 50).toFixed(1)} ms, p99 ${percentile(single, 99).toFixed(1)} ms`);

    const rssBefore = rssMiB(proxy.pid);
    const rssHolding: number[] = [];
    const rounds: { baseline: number; duringHold: number }[] = [];
    const release: number[] = [];
    let answered = 0;
    let ok = 0;
    for (let round = 0; round < o.holds; round++) {
      const baseline = (await awakeLoad(proxy.port, agent, o.seconds)).p99Ms;
      const name = `sleepy-${round}`;
      await sleep(etcd, name);
      await waitFor(`${name} asleep`, async () => ((await get(proxy.port, `${name}.${DOMAIN}`, agent, { 'user-agent': 'bot' })).status === 503 ? true : undefined), 10_000);
      const heldAgent = new Agent({ keepAlive: false, maxSockets: Infinity });
      const heldReplies = Array.from({ length: o.held }, (_, i) => get(proxy.port, `${name}.${DOMAIN}`, heldAgent, {}, `/held/${i}`).catch(() => ({ status: 0, at: performance.now() })));
      const duringHold = (await awakeLoad(proxy.port, agent, o.seconds)).p99Ms;
      rssHolding.push(rssMiB(proxy.pid));
      rounds.push({ baseline, duringHold });
      log(`hold ${round + 1}/${o.holds}: awake p99 ${baseline.toFixed(2)} ms without a wake, ${duringHold.toFixed(2)} ms while ${o.held} requests are held`);
      const t0 = performance.now();
      await routeTo(etcd, name, backend.port);
      const replies = await Promise.all(heldReplies);
      heldAgent.destroy();
      release.push(...replies.map((r) => r.at - t0));
      answered += replies.filter((r) => r.status !== 0).length;
      ok += replies.filter((r) => r.status === 200).length;
      // Let the release's connections close before the next baseline window.
      await delay(500);
    }
    log(`proxy RSS ${rssBefore.toFixed(0)} MiB before, ${rssHolding.map((r) => r.toFixed(0)).join(', ')} MiB while holding`);
    const result: WakeResult = {
      singleOverheadMs: { p50: percentile(single, 50), p99: percentile(single, 99), samples: single.length },
      held: o.held,
      holds: o.holds,
      answered,
      ok,
      releaseMs: { p50: percentile(release, 50), p99: percentile(release, 99), max: Math.max(...release) },
      rssMiB: { before: rssBefore, holding: rssHolding[0]!, holdingMax: Math.max(...rssHolding) },
      awakeP99Ms: { baseline: median(rounds.map((r) => r.baseline)), duringHold: median(rounds.map((r) => r.duringHold)), ratio: median(rounds.map((r) => r.duringHold / r.baseline)), rounds },
      sleepingFleet: {
        sleeping: o.fleet,
        rpsRatio: median(fleetRounds.map((r) => r.with.rps / r.without.rps)),
        p99Ratio: median(fleetRounds.map((r) => r.with.p99Ms / r.without.p99Ms)),
        rounds: fleetRounds,
      },
      loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    };
    log(`${ok}/${o.held * o.holds} held requests answered 200; released in p50 ${result.releaseMs.p50.toFixed(1)} ms, p99 ${result.releaseMs.p99.toFixed(1)} ms`);
    log(`awake p99 (medians of ${o.holds} rounds): ${result.awakeP99Ms.baseline.toFixed(2)} ms without, ${result.awakeP99Ms.duringHold.toFixed(2)} ms during a hold; ratio ${result.awakeP99Ms.ratio.toFixed(3)}`);
    return result;
  } finally {
    agent.destroy();
    await proxy.stop();
    await backend.stop();
  }
}

function put(etcd: EtcdServer, key: string, value: string): Promise<unknown> {
  return etcd.client.put(key).value(value).exec();
}

async function sleep(etcd: EtcdServer, deployment: string): Promise<void> {
  await put(etcd, deploymentKey(PREFIX, deployment, 'created'), new Date().toISOString());
  await put(etcd, sleepStateKey(PREFIX, deployment, 'sleep'), JSON.stringify({ state: 'asleep', since: new Date().toISOString(), services: ['web'] }));
}

/** `count` deployments asleep (created and sleep record), written 100 keys at a time. */
async function sleepFleet(etcd: EtcdServer, count: number): Promise<void> {
  const record = JSON.stringify({ state: 'asleep', since: new Date().toISOString(), services: ['web'] });
  for (let first = 0; first < count; first += 50) {
    const writes: Promise<unknown>[] = [];
    for (let i = first; i < Math.min(count, first + 50); i++) {
      writes.push(put(etcd, deploymentKey(PREFIX, `fleet-${i}`, 'created'), new Date().toISOString()));
      writes.push(put(etcd, sleepStateKey(PREFIX, `fleet-${i}`, 'sleep'), record));
    }
    await Promise.all(writes);
  }
}

/** The woken service registers: ip and port in one transaction, as `register` writes them. */
async function routeTo(etcd: EtcdServer, deployment: string, port: number): Promise<void> {
  await etcd.client
    .if(serviceKey(PREFIX, deployment, 'web', 'port'), 'Create', '==', 0)
    .then(etcd.client.put(serviceKey(PREFIX, deployment, 'web', 'ip')).value('127.0.0.1'), etcd.client.put(serviceKey(PREFIX, deployment, 'web', 'port')).value(String(port)))
    .commit();
}

function get(port: number, host: string, agent: Agent, headers: Record<string, string> = {}, path = '/'): Promise<{ status: number; at: number }> {
  return new Promise((resolve, reject) => {
    const req = request({ port, host: '127.0.0.1', path, headers: { host, accept: 'application/json', ...headers }, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, at: performance.now() }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** 16 keep-alive loops against the awake deployment for `seconds`: requests per second and p99 latency. */
async function awakeLoad(port: number, agent: Agent, seconds: number): Promise<AwakeWindow> {
  const latencies: number[] = [];
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (performance.now() < end) {
        const start = performance.now();
        const r = await get(port, `awake.${DOMAIN}`, agent);
        if (r.status === 200) latencies.push(r.at - start);
      }
    }),
  );
  return { rps: latencies.length / ((performance.now() - start) / 1000), p99Ms: percentile(latencies, 99) };
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
