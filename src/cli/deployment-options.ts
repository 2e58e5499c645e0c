import { Option } from 'commander';
import type { Command } from 'commander';
import { checkDeploymentName, slugify, SlugError } from '../registration/slug.ts';
import { hasControlCharacter } from '../registry/control-characters.ts';
import { UsageError } from './usage-error.ts';

/** Which deployment a command is about: the slug, and the raw branch when one was given. */
export interface DeploymentRef {
  readonly deployment: string;
  readonly branch: string | undefined;
}

/**
 * `--branch <raw git branch>` or `--deployment <name>`: exactly one of them.
 * Both fall back to BRANCH / DEPLOYMENT (the variables scripts/register.sh
 * reads), so a container entrypoint can take the branch from its environment.
 */
export function addDeploymentOptions(command: Command): Command {
  return command
    .addOption(new Option('--branch <branch>', 'raw git branch name; the deployment is named after its slug').env('BRANCH'))
    .addOption(new Option('--deployment <name>', 'deployment name, instead of --branch').env('DEPLOYMENT'));
}

/** The deployment the options name; with `command`, a flag given on the command line wins over the other's variable. */
export function deploymentRef(opts: { branch?: string; deployment?: string }, command?: Command): DeploymentRef {
  if (command && opts.branch !== undefined && opts.deployment !== undefined) {
    if (command.getOptionValueSource('branch') === 'env' && command.getOptionValueSource('deployment') === 'cli') opts = { deployment: opts.deployment };
    else if (command.getOptionValueSource('deployment') === 'env' && command.getOptionValueSource('branch') === 'cli') opts = { branch: opts.branch };
  }
  if ((opts.branch === undefined) === (opts.deployment === undefined)) throw new UsageError('give either --branch <git branch> or --deployment <name>');
  try {
    if (opts.deployment !== undefined) return { deployment: checkDeploymentName(opts.deployment), branch: undefined };
    const branch = opts.branch!;
    if (hasControlCharacter(branch)) throw new SlugError(`branch ${JSON.stringify(branch)} has control characters`);
    return { deployment: slugify(branch), branch };
  } catch (err) {
    if (err instanceof SlugError) throw new UsageError(err.message);
    throw err;
  }
}
