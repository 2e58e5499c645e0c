import type { Command } from 'commander';
import { shareKey, mintShareToken } from '../access/share-token.ts';
import { SHARE_PARAM } from '../access/access-gate.ts';
import { parseSecret, parseServiceName } from '../config/parsers.ts';
import { loadEtcdConfig } from '../config/serve-config.ts';
import { ETCD_SETTINGS, SHARE_SETTINGS } from '../config/settings.ts';
import { summarizeDeployments } from '../registration/deployment-summary.ts';
import { parseAge } from '../registration/prune-plan.ts';
import { deploymentPrefix } from '../registry/keys.ts';
import { addDeploymentOptions, deploymentRef } from './deployment-options.ts';
import type { DeploymentRef } from './deployment-options.ts';
import { runWithEtcd } from './etcd-command.ts';
import { addSettingOptions, settingValues } from './settings-options.ts';
import { urlOf } from './url.ts';
import { UsageError } from './usage-error.ts';

/** Longest a share link may live: a year. Shorter is better; links cannot be revoked one by one. */
const MAX_EXPIRY_MS = 366 * 24 * 3600_000;

export function registerShare(program: Command): void {
  const command = addDeploymentOptions(
    program
      .command('share')
      .description(
        'Print a signed, expiring link that lets someone without an account see one deployment (needs SHARE_SECRET, as the proxy has). ' +
          'Refuses a deployment (or --service) that is not registered in etcd, unless --force.',
      ),
  )
    .option('--service <name>', "link to this service's host instead of the deployment's default one")
    .option('--expires <duration>', 'how long the link works, e.g. 7d, 12h', '7d')
    .option('--force', 'make the link without asking etcd whether the deployment is registered (e.g. for a branch not deployed yet)');
  addSettingOptions(command, [...SHARE_SETTINGS, ...ETCD_SETTINGS]).action(async () => {
    const opts = command.opts<{ branch?: string; deployment?: string; service?: string; expires: string; force?: boolean }>();
    const ref = deploymentRef(opts, command);
    const service = opts.service === undefined ? undefined : parseServiceName('--service', opts.service);
    const values = settingValues(command, SHARE_SETTINGS);
    const secret = parseSecret('SHARE_SECRET', values.SHARE_SECRET, 32);
    if (!secret) throw new UsageError('SHARE_SECRET is not set: share links are signed with the same secret the proxy has');
    const ms = parseAge(opts.expires);
    if (ms === undefined || ms > MAX_EXPIRY_MS) throw new UsageError(`--expires must be a duration such as 7d or 12h, at most 366d; got ${JSON.stringify(opts.expires)}`);
    const url = new URL(urlOf(values, ref.deployment, service));
    const mint = async (): Promise<void> => {
      const expiresAt = new Date(Date.now() + ms);
      url.searchParams.set(SHARE_PARAM, await mintShareToken(shareKey(secret), ref.deployment, expiresAt));
      process.stdout.write(`${url.href}\n`);
      process.stderr.write(`valid for ${ref.deployment} until ${expiresAt.toISOString()}\n`);
    };
    if (opts.force) return mint();
    // A link to a misspelt branch would look fine and open a 404 page: check the name first.
    const etcd = loadEtcdConfig(settingValues(command, ETCD_SETTINGS));
    await runWithEtcd(
      etcd,
      async (client) => {
        const res = await client.getAll().prefix(deploymentPrefix(etcd.prefix, ref.deployment)).exec();
        const registered = summarizeDeployments(etcd.prefix, res.kvs)[0];
        const problem = !registered ? notRegistered(ref) : service !== undefined && !registered.services.some((s) => s.service === service) ? noSuchService(ref, service, registered.services.map((s) => s.service)) : undefined;
        if (problem === undefined) return mint();
        process.stderr.write(`branch-proxy: ${problem}; add --force to make the link anyway (e.g. for a branch not deployed yet)\n`);
        process.exitCode = 1;
      },
      { unavailableHint: 'could not check that the deployment is registered; add --force to make the link without checking' },
    );
  });
}

function named(ref: DeploymentRef): string {
  return ref.branch === undefined ? `deployment ${ref.deployment}` : `branch ${JSON.stringify(ref.branch)} (deployment ${ref.deployment})`;
}

function notRegistered(ref: DeploymentRef): string {
  return `${named(ref)} is not registered in etcd; check the name with branch-proxy ls`;
}

function noSuchService(ref: DeploymentRef, service: string, services: readonly string[]): string {
  return `${named(ref)} has no service ${service} (${services.length === 0 ? 'none is registered' : `it has ${services.join(', ')}`})`;
}
