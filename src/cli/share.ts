import type { Command } from 'commander';
import { shareKey, mintShareToken } from '../access/share-token.ts';
import { SHARE_PARAM } from '../access/access-gate.ts';
import { parseSecret } from '../config/parsers.ts';
import { SHARE_SETTINGS } from '../config/settings.ts';
import { parseAge } from '../registration/prune-plan.ts';
import { addDeploymentOptions, deploymentRef } from './deployment-options.ts';
import { addSettingOptions, settingValues } from './settings-options.ts';
import { urlOf } from './url.ts';
import { UsageError } from './usage-error.ts';

/** Longest a share link may live: a year. Shorter is better; links cannot be revoked one by one. */
const MAX_EXPIRY_MS = 366 * 24 * 3600_000;

export function registerShare(program: Command): void {
  const command = addDeploymentOptions(
    program
      .command('share')
      .description('Print a signed, expiring link that lets someone without an account see one deployment (needs SHARE_SECRET, as the proxy has).'),
  )
    .option('--service <name>', "link to this service's host instead of the deployment's default one")
    .option('--expires <duration>', 'how long the link works, e.g. 7d, 12h', '7d');
  addSettingOptions(command, SHARE_SETTINGS).action(async () => {
    const opts = command.opts<{ branch?: string; deployment?: string; service?: string; expires: string }>();
    const { deployment } = deploymentRef(opts);
    const values = settingValues(command, SHARE_SETTINGS);
    const secret = parseSecret('SHARE_SECRET', values.SHARE_SECRET, 32);
    if (!secret) throw new UsageError('SHARE_SECRET is not set: share links are signed with the same secret the proxy has');
    const ms = parseAge(opts.expires);
    if (ms === undefined || ms > MAX_EXPIRY_MS) throw new UsageError(`--expires must be a duration such as 7d or 12h, at most 366d; got ${JSON.stringify(opts.expires)}`);
    const expiresAt = new Date(Date.now() + ms);
    const token = await mintShareToken(shareKey(secret), deployment, expiresAt);
    const url = new URL(urlOf(values, deployment, opts.service));
    url.searchParams.set(SHARE_PARAM, token);
    process.stdout.write(`${url.href}\n`);
    process.stderr.write(`valid for ${deployment} until ${expiresAt.toISOString()}\n`);
  });
}
