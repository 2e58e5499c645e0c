import type { Command } from 'commander';
import { loadEtcdConfig } from '../config/serve-config.ts';
import { ETCD_SETTINGS } from '../config/settings.ts';
import { formatAge, summarizeDeployments } from '../registration/deployment-summary.ts';
import { parseAge, planPrune } from '../registration/prune-plan.ts';
import { deploymentKey, deploymentPrefix } from '../registry/keys.ts';
import { runWithEtcd } from './etcd-command.ts';
import { addSettingOptions, settingValues } from './settings-options.ts';
import { UsageError } from './usage-error.ts';

export function registerPrune(program: Command): void {
  const command = program
    .command('prune')
    .description('Remove every deployment whose created time is older than a duration, e.g. after its branch was merged.')
    .requiredOption('--older-than <duration>', 'age such as 7d, 12h, 30m or 1h30m')
    .option('--dry-run', 'only print what would be removed');
  addSettingOptions(command, ETCD_SETTINGS).action(async () => {
    const opts = command.opts<{ olderThan: string; dryRun?: boolean }>();
    const maxAgeMs = parseAge(opts.olderThan);
    if (maxAgeMs === undefined) throw new UsageError(`--older-than needs a duration with a unit, such as 7d, 12h or 30m; got ${JSON.stringify(opts.olderThan)}`);
    const etcd = loadEtcdConfig(settingValues(command, ETCD_SETTINGS));
    await runWithEtcd(etcd, async (client) => {
      const res = await client.getAll().prefix(etcd.prefix).exec();
      const now = Date.now();
      const plan = planPrune(summarizeDeployments(etcd.prefix, res.kvs), maxAgeMs, now);
      const revisions = new Map(res.kvs.map((kv) => [kv.key.toString(), kv.mod_revision]));
      let removed = 0;
      for (const d of plan.remove) {
        const age = `created ${d.created}, ${formatAge(now - Date.parse(d.created!))} ago`;
        if (opts.dryRun) {
          process.stdout.write(`would remove ${d.deployment} (${age})\n`);
          continue;
        }
        // Only if `created` is unchanged: a deployment deregistered and registered again meanwhile is new, not old.
        const created = deploymentKey(etcd.prefix, d.deployment, 'created');
        const txn = await client.if(created, 'Mod', '==', revisions.get(created) ?? 0).then(client.delete().prefix(deploymentPrefix(etcd.prefix, d.deployment))).commit();
        if (txn.succeeded) removed++;
        process.stdout.write(txn.succeeded ? `removed ${d.deployment} (${age})\n` : `kept ${d.deployment}: registered again meanwhile\n`);
      }
      if (plan.remove.length === 0) process.stdout.write(`no deployment is older than ${opts.olderThan}\n`);
      else if (!opts.dryRun) process.stdout.write(`${removed} of ${plan.remove.length} removed\n`);
      if (plan.undated.length > 0) {
        process.stdout.write(`kept ${plan.undated.length} without a created time: ${plan.undated.map((d) => d.deployment).join(', ')}\n`);
      }
    });
  });
}
