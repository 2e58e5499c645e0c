import type { Command } from 'commander';
import { SleepStore } from '../sleep/sleep-store.ts';
import { createSleepDriver } from '../sleep/create-driver.ts';
import { ownerId } from '../sleep/owner-id.ts';
import type { SleepRecord } from '../sleep/sleep-record.ts';
import { runWithEtcd } from './etcd-command.ts';
import { addSleepCommandOptions, loadSleepCommand, readDeployment, stepFailure } from './sleep-command.ts';
import { SleepStateError } from './sleep-state-error.ts';
import { UsageError } from './usage-error.ts';

/** Time beyond WAKE_TIMEOUT for the etcd calls around the hook. */
const ETCD_MARGIN_MS = 30_000;

export function registerSleep(program: Command): void {
  const command = addSleepCommandOptions(
    program
      .command('sleep')
      .description('Put a deployment to sleep now: run SLEEP_COMMAND (or the ECS driver), then keep it known as asleep until a visit or `wake` starts it again.'),
  );
  command.action(async () => {
    const ctx = loadSleepCommand(command);
    const { deployment } = ctx;
    await runWithEtcd(
      ctx.etcd,
      async (client) => {
        const store = new SleepStore(client, ctx.etcd.prefix);
        const stored = await store.read(deployment);
        if (stored?.record?.state === 'asleep') {
          // Idempotent on purpose, like deregister: a cron job may ask again.
          process.stdout.write(`${deployment} is already asleep (since ${stored.record.since}); nothing to do\n`);
          return;
        }
        if (stored?.record) throw new SleepStateError(`${deployment} is ${stored.record.state} (claimed by ${stored.record.owner ?? 'unknown'} since ${stored.record.since}); try again once that is done`);
        const current = await readDeployment(client, ctx.etcd.prefix, deployment);
        if (!current) throw new UsageError(`no deployment named ${deployment} is registered (see branch-proxy ls)`);
        const services = current.services.filter((s) => s.target !== undefined).map((s) => s.service);
        if (services.length === 0) throw new SleepStateError(`${deployment} has no routed service: nothing is running to put to sleep`);

        const lastWake = await store.readLastWake(deployment);
        const owner = ownerId();
        const claimed: SleepRecord = {
          state: 'sleeping',
          since: new Date().toISOString(),
          owner,
          services,
          ...(current.default ? { defaultService: current.default } : {}),
          ...(lastWake ? { lastWake } : {}),
        };
        const claim = await store.claim(deployment, stored?.modRevision ?? 'absent', claimed);
        if (!claim.won) throw new SleepStateError(`${deployment} was claimed by another proxy or command meanwhile; nothing done`);

        const driver = await createSleepDriver(ctx.sleep, ctx.baseDomain);
        let outcome;
        try {
          outcome = await driver.sleep({ deployment, branch: current.branch, services, defaultService: current.default });
        } catch (err) {
          // The deployment stays awake: its routes were never touched.
          await store.remove(deployment, claim.modRevision).catch(() => false);
          throw stepFailure(err, deployment);
        }
        const asleep = await store.fallAsleep(deployment, claim.modRevision, { ...claimed, state: 'asleep', since: new Date().toISOString(), ...outcome });
        if (!asleep.won) throw new SleepStateError(`the sleep record of ${deployment} was changed by someone else while its services were stopped; check \`branch-proxy wake --deployment ${deployment}\``);
        const stopped = ctx.sleep.driver.kind === 'command' && !ctx.sleep.driver.sleepCommand ? ' (no SLEEP_COMMAND set: nothing was stopped, only its routes removed)' : '';
        process.stdout.write(`${deployment} is asleep: ${services.join(', ')}${stopped}; a visit or \`branch-proxy wake\` wakes it\n`);
      },
      { deadlineMs: ctx.sleep.wakeTimeoutMs + ETCD_MARGIN_MS },
    );
  });
}
