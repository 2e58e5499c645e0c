import type { Command } from 'commander';
import { parseServiceName } from '../config/parsers.ts';
import { loadEtcdConfig } from '../config/serve-config.ts';
import { ETCD_SETTINGS } from '../config/settings.ts';
import { deploymentPrefix, serviceKey } from '../registry/keys.ts';
import { addDeploymentOptions, deploymentRef } from './deployment-options.ts';
import { runWithEtcd } from './etcd-command.ts';
import { addSettingOptions, settingValues } from './settings-options.ts';

export function registerDeregister(program: Command): void {
  const command = addDeploymentOptions(
    program.command('deregister').description('Remove one service of a deployment, or without --service the whole deployment (every key, created and branch included).'),
  ).option('--service <name>', 'remove only this service');
  addSettingOptions(command, ETCD_SETTINGS).action(async () => {
    const opts = command.opts<{ branch?: string; deployment?: string; service?: string }>();
    const { deployment } = deploymentRef(opts, command);
    const service = opts.service === undefined ? undefined : parseServiceName('--service', opts.service);
    const etcd = loadEtcdConfig(settingValues(command, ETCD_SETTINGS));
    const what = service === undefined ? `deployment ${deployment}` : `service ${service} of ${deployment}`;
    await runWithEtcd(etcd, async (client) => {
      let deleted: number;
      if (service === undefined) {
        deleted = Number((await client.delete().prefix(deploymentPrefix(etcd.prefix, deployment)).exec()).deleted);
      } else {
        const fields = (['ip', 'port'] as const).map((field) => ({ request_delete_range: { key: Buffer.from(serviceKey(etcd.prefix, deployment, service, field)) } }));
        const res = await client.kv.txn({ success: fields });
        deleted = res.responses.reduce((n, r) => n + Number(r.response_delete_range.deleted), 0);
      }
      // Idempotent on purpose: a CI job that runs on branch deletion must not fail when nothing was deployed.
      process.stdout.write(deleted === 0 ? `${what} was not registered; nothing removed\n` : `removed ${what} (${deleted} keys)\n`);
    });
  });
}
