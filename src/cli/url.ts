import type { Command } from 'commander';
import { parseDomains, parsePort, parseServiceName } from '../config/parsers.ts';
import { loadEtcdConfig } from '../config/serve-config.ts';
import { ETCD_SETTINGS, URL_SETTINGS } from '../config/settings.ts';
import type { SettingValues } from '../config/settings.ts';
import { summarizeDeployments } from '../registration/deployment-summary.ts';
import { deploymentPrefix } from '../registry/keys.ts';
import { deploymentUrl } from '../web/links.ts';
import { addDeploymentOptions, deploymentRef } from './deployment-options.ts';
import { runWithEtcd } from './etcd-command.ts';
import { addSettingOptions, settingValues } from './settings-options.ts';
import { UsageError } from './usage-error.ts';

export function registerUrl(program: Command): void {
  const command = addDeploymentOptions(
    program.command('url').description("Print a deployment's URL (or one service's), for CI jobs and chat messages."),
  )
    .option('--service <name>', "the service's own URL; without it, the URL of the deployment's default service")
    .option('--check', 'exit 1 unless the service (or, without --service, any service of the deployment) is registered right now');
  addSettingOptions(command, [...URL_SETTINGS, ...ETCD_SETTINGS]).action(async () => {
    const opts = command.opts<{ branch?: string; deployment?: string; service?: string; check?: boolean }>();
    const { deployment } = deploymentRef(opts, command);
    const service = opts.service === undefined ? undefined : parseServiceName('--service', opts.service);
    const url = urlOf(settingValues(command, URL_SETTINGS), deployment, service);
    if (!opts.check) {
      process.stdout.write(`${url}\n`);
      return;
    }
    const etcd = loadEtcdConfig(settingValues(command, ETCD_SETTINGS));
    await runWithEtcd(etcd, async (client) => {
      const res = await client.getAll().prefix(deploymentPrefix(etcd.prefix, deployment)).exec();
      const services = summarizeDeployments(etcd.prefix, res.kvs)[0]?.services ?? [];
      const live = services.some((s) => s.target !== undefined && (service === undefined || s.service === service));
      if (live) {
        process.stdout.write(`${url}\n`);
        return;
      }
      process.stderr.write(`branch-proxy: ${service === undefined ? deployment : `${deployment}-${service}`} is not registered\n`);
      process.exitCode = 1;
    });
  });
}

/** The URL of a deployment (or one service) as the proxy serves it. */
export function urlOf(v: SettingValues<typeof URL_SETTINGS>, deployment: string, service: string | undefined): string {
  const scheme = v.URL_SCHEME.toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') throw new UsageError(`--scheme must be http or https, got ${JSON.stringify(v.URL_SCHEME)}`);
  const domain = parseDomains('BASE_DOMAIN', v.BASE_DOMAIN)[0]!;
  const port = v.URL_PORT === '' ? '' : `:${parsePort('URL_PORT', v.URL_PORT)}`;
  return deploymentUrl({ scheme, port }, domain, deployment, service);
}
