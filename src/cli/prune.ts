import type { Command } from 'commander';
import { idleDeployments } from '../activity/idle.ts';
import { loadEtcdConfig } from '../config/serve-config.ts';
import { ETCD_SETTINGS } from '../config/settings.ts';
import { formatAge, summarizeDeployments } from '../registration/deployment-summary.ts';
import { parseAge, planPrune, runningServices } from '../registration/prune-plan.ts';
import { parseIsoTime } from '../registry/iso-time.ts';
import { deploymentKey, deploymentPrefix } from '../registry/keys.ts';
import { runWithEtcd } from './etcd-command.ts';
import { addSettingOptions, settingValues } from './settings-options.ts';
import { UsageError } from './usage-error.ts';

export function registerPrune(program: Command): void {
  const command = program
    .command('prune')
    .description('Remove deployments created longer ago than --older-than, or that nobody has opened for --idle-for (both: only those that are both), e.g. after their branch was merged.')
    .option('--older-than <duration>', 'age such as 7d, 12h, 30m or 1h30m')
    .option('--idle-for <duration>', 'time since the last request through the proxy (or since created, if never opened), such as 14d')
    .option('--dry-run', 'only print what would be removed');
  addSettingOptions(command, ETCD_SETTINGS).action(async () => {
    const opts = command.opts<{ olderThan?: string; idleFor?: string; dryRun?: boolean }>();
    if (opts.olderThan === undefined && opts.idleFor === undefined) throw new UsageError('prune needs --older-than <duration>, --idle-for <duration> or both');
    const duration = (flag: string, text: string | undefined): number | undefined => {
      if (text === undefined) return undefined;
      const ms = parseAge(text);
      if (ms === undefined) throw new UsageError(`${flag} needs a duration with a unit, such as 7d, 12h or 30m; got ${JSON.stringify(text)}`);
      return ms;
    };
    const maxAgeMs = duration('--older-than', opts.olderThan);
    const idleForMs = duration('--idle-for', opts.idleFor);
    const etcd = loadEtcdConfig(settingValues(command, ETCD_SETTINGS));
    await runWithEtcd(etcd, async (client) => {
      const res = await client.getAll().prefix(etcd.prefix).exec();
      const now = Date.now();
      const all = summarizeDeployments(etcd.prefix, res.kvs);
      const aged = maxAgeMs === undefined ? { remove: all, undated: [] } : planPrune(all, maxAgeMs, now);
      const plan = idleForMs === undefined ? aged : { remove: idleDeployments(aged.remove, idleForMs, now), undated: all.filter((d) => d.created === undefined && d.lastRequest === undefined) };
      const revisions = new Map(res.kvs.map((kv) => [kv.key.toString(), kv.mod_revision]));
      let removed = 0;
      for (const d of plan.remove) {
        const age =
          idleForMs === undefined
            ? `created ${d.created}, ${ago(d.created, now)}`
            : `last opened ${ago(d.lastRequest, now) ?? 'never'}, created ${d.created ?? 'at an unknown time'}`;
        // Removing the keys of a deployment whose services run leaves them running without a route: say so.
        const running = runningServices(d);
        const stillRunning = (would: string): string => (running.length === 0 ? '' : ` — still has running services: ${running.join(', ')}; they ${would}keep running without a route`);
        if (opts.dryRun) {
          process.stdout.write(`would remove ${d.deployment} (${age})${stillRunning('would ')}\n`);
          continue;
        }
        // Only if `created` is unchanged: a deployment deregistered and registered again meanwhile is new, not old.
        const created = deploymentKey(etcd.prefix, d.deployment, 'created');
        // And, for --idle-for, only if nobody has opened it since it was read.
        const lastRequest = deploymentKey(etcd.prefix, d.deployment, 'last-request');
        let guard = client.if(created, 'Mod', '==', revisions.get(created) ?? 0);
        if (idleForMs !== undefined) guard = guard.and(lastRequest, 'Mod', '==', revisions.get(lastRequest) ?? 0);
        const txn = await guard.then(client.delete().prefix(deploymentPrefix(etcd.prefix, d.deployment))).commit();
        if (txn.succeeded) removed++;
        process.stdout.write(txn.succeeded ? `removed ${d.deployment} (${age})${stillRunning('')}\n` : `kept ${d.deployment}: registered again or opened meanwhile\n`);
      }
      if (plan.remove.length === 0) {
        const criteria = [opts.olderThan && `older than ${opts.olderThan}`, opts.idleFor && `idle for ${opts.idleFor}`].filter(Boolean).join(' and ');
        process.stdout.write(`no deployment is ${criteria}\n`);
      } else if (!opts.dryRun) process.stdout.write(`${removed} of ${plan.remove.length} removed\n`);
      if (plan.undated.length > 0) {
        process.stdout.write(`kept ${plan.undated.length} without a created time: ${plan.undated.map((d) => d.deployment).join(', ')}\n`);
      }
    });
  });
}

/** `3d ago`; undefined when the time is absent or invalid. */
function ago(time: string | undefined, now: number): string | undefined {
  const ms = parseIsoTime(time);
  return ms === undefined ? undefined : `${formatAge(now - ms)} ago`;
}
