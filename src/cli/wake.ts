import type { Command } from 'commander';
import type { Etcd3 } from 'etcd3';
import { setTimeout as delay } from 'node:timers/promises';
import { parseDurationMs } from '../config/parsers.ts';
import { probeOnce } from '../registration/readiness.ts';
import { createSleepDriver } from '../sleep/create-driver.ts';
import { ownerId } from '../sleep/owner-id.ts';
import type { SleepRecord } from '../sleep/sleep-record.ts';
import { SleepStore } from '../sleep/sleep-store.ts';
import { runWithEtcd } from './etcd-command.ts';
import type { SleepCommandContext } from './sleep-command.ts';
import { addSleepCommandOptions, loadSleepCommand, readDeployment, stepFailure } from './sleep-command.ts';
import { SleepStateError } from './sleep-state-error.ts';
import { UsageError } from './usage-error.ts';

const POLL_MS = 250;
const CONNECT_TIMEOUT_MS = 1000;
const ETCD_MARGIN_MS = 30_000;

export function registerWake(program: Command): void {
  const command = addSleepCommandOptions(
    program
      .command('wake')
      .description('Wake a sleeping deployment now: run WAKE_COMMAND (or the ECS driver); with --wait, return once every service it had is routed and accepts connections.')
      .option('--wait', 'wait until every service is routed and accepts TCP connections, then mark the deployment awake')
      .option('--timeout <duration>', 'with --wait: give up after this long (default: WAKE_TIMEOUT)'),
  );
  command.action(async () => {
    const ctx = loadSleepCommand(command);
    const opts = command.opts<{ wait?: boolean; timeout?: string }>();
    const timeoutMs = opts.timeout === undefined ? ctx.sleep.wakeTimeoutMs : parseDurationMs('--timeout', opts.timeout);
    await runWithEtcd(ctx.etcd, (client) => wake(client, ctx, opts.wait === true, timeoutMs), { deadlineMs: ctx.sleep.wakeTimeoutMs + timeoutMs + ETCD_MARGIN_MS });
  });
}

async function wake(client: Etcd3, ctx: SleepCommandContext, wait: boolean, timeoutMs: number): Promise<void> {
  const { deployment } = ctx;
  const store = new SleepStore(client, ctx.etcd.prefix);
  const stored = await store.read(deployment);
  if (!stored) {
    if (!(await readDeployment(client, ctx.etcd.prefix, deployment))) throw new UsageError(`no deployment named ${deployment} is registered (see branch-proxy ls)`);
    process.stdout.write(`${deployment} is awake; nothing to do\n`);
    return;
  }
  const { record } = stored;
  if (!record) throw new SleepStateError(`the sleep record of ${deployment} is invalid (${stored.invalid}); remove it with \`branch-proxy deregister\` or fix it in etcd`);
  const started = Date.now();
  const claimAge = started - Date.parse(record.since);
  // A claim older than WAKE_TIMEOUT belongs to a replica or command that died: it may be taken over.
  const stale = record.state !== 'asleep' && claimAge >= ctx.sleep.wakeTimeoutMs;
  if (record.state === 'sleeping' && !stale) throw new SleepStateError(`${deployment} is falling asleep (claimed by ${record.owner ?? 'unknown'} since ${record.since}); wake it once that is done`);

  let revision = stored.modRevision;
  let waking: SleepRecord = record;
  let claimedHere = false;
  if (record.state === 'waking' && !stale) {
    if (!wait) {
      process.stdout.write(`${deployment} is already waking (claimed by ${record.owner ?? 'unknown'} since ${record.since})\n`);
      return;
    }
    process.stdout.write(`${deployment} is already waking (claimed by ${record.owner ?? 'unknown'}); waiting for its services\n`);
  } else {
    waking = { ...record, state: 'waking', since: new Date(started).toISOString(), owner: ownerId() };
    const claim = await store.claim(deployment, stored.modRevision, waking);
    if (!claim.won) throw new SleepStateError(`${deployment} was claimed by another proxy or command meanwhile; nothing done`);
    revision = claim.modRevision;
    claimedHere = true;
    const branch = (await readDeployment(client, ctx.etcd.prefix, deployment))?.branch;
    const driver = await createSleepDriver(ctx.sleep, ctx.baseDomain);
    try {
      await driver.wake({ deployment, branch, services: record.services, defaultService: record.defaultService }, record);
    } catch (err) {
      const summary = (err as { summary?: string }).summary ?? 'wake failed';
      await backToSleep(store, deployment, revision, waking, summary);
      throw stepFailure(err, deployment);
    }
    if (!wait) {
      process.stdout.write(`${deployment} is waking: ${record.services.join(', ')} started; proxies mark it awake once every service is routed\n`);
      return;
    }
  }

  const pending = await waitForServices(client, ctx.etcd.prefix, deployment, record.services, started + timeoutMs);
  if (pending.length > 0) {
    // Someone else's wake is theirs to give up on.
    if (claimedHere) await backToSleep(store, deployment, revision, waking, `not routed within ${Math.round(timeoutMs / 1000)} s`);
    throw new SleepStateError(`${deployment} did not wake within ${Math.round(timeoutMs / 1000)} s: ${pending.join(', ')} not routed or not accepting connections`);
  }
  const ms = Date.now() - Date.parse(waking.since);
  await store.remove(deployment, revision, { ms, at: new Date().toISOString() });
  process.stdout.write(`${deployment} is awake after ${(ms / 1000).toFixed(1)} s: ${record.services.join(', ')}\n`);
}

/** Polls etcd until every service has ip and port and accepts a TCP connection; returns those still missing at the deadline. */
async function waitForServices(client: Etcd3, prefix: string, deployment: string, services: readonly string[], deadline: number): Promise<string[]> {
  for (;;) {
    const current = await readDeployment(client, prefix, deployment);
    const pending: string[] = [];
    for (const name of services) {
      const service = current?.services.find((s) => s.service === name);
      const up = service?.ip !== undefined && service.port !== undefined && (await probeOnce({ host: service.ip, port: service.port, timeoutMs: CONNECT_TIMEOUT_MS }));
      if (!up) pending.push(name);
    }
    if (pending.length === 0 || Date.now() >= deadline) return pending;
    await delay(POLL_MS);
  }
}

/** A failed wake leaves the deployment asleep, with the reason for the waiting page (no hook output: visitors see it). */
async function backToSleep(store: SleepStore, deployment: string, revision: string, waking: SleepRecord, error: string): Promise<void> {
  const { owner: _owner, ...rest } = waking;
  const now = new Date().toISOString();
  // The last successful wake's duration stays: the waiting page still shows it.
  const lastWake = { ...(waking.lastWake?.ms !== undefined ? { ms: waking.lastWake.ms } : {}), at: now, error };
  await store.claim(deployment, revision, { ...rest, state: 'asleep', since: now, lastWake }).catch(() => undefined);
}
