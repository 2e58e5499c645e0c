import type { Command } from 'commander';
import { checkDeploymentName, slugify, SlugError } from '../registration/slug.ts';
import { UsageError } from './usage-error.ts';

/** Which deployment a command is about: the slug, and the raw branch when one was given. */
export interface DeploymentRef {
  readonly deployment: string;
  readonly branch: string | undefined;
}

/** `--branch <raw git branch>` or `--deployment <name>`: exactly one of them. */
export function addDeploymentOptions(command: Command): Command {
  return command
    .option('--branch <branch>', 'raw git branch name; the deployment is named after its slug')
    .option('--deployment <name>', 'deployment name, instead of --branch');
}

export function deploymentRef(opts: { branch?: string; deployment?: string }): DeploymentRef {
  if ((opts.branch === undefined) === (opts.deployment === undefined)) throw new UsageError('give either --branch <git branch> or --deployment <name>');
  try {
    if (opts.deployment !== undefined) return { deployment: checkDeploymentName(opts.deployment), branch: undefined };
    const branch = opts.branch!;
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(branch)) throw new SlugError(`branch ${JSON.stringify(branch)} has control characters`);
    return { deployment: slugify(branch), branch };
  } catch (err) {
    if (err instanceof SlugError) throw new UsageError(err.message);
    throw err;
  }
}
