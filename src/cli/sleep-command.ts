import type { Command } from 'commander';
import type { Etcd3 } from 'etcd3';
import { loadEtcdConfig } from '../config/serve-config.ts';
import type { EtcdConfig } from '../config/serve-config.ts';
import { parseDomains } from '../config/parsers.ts';
import { SLEEP_CLI_SETTINGS } from '../config/settings.ts';
import { loadSleepConfig } from '../config/sleep-config.ts';
import type { SleepConfig } from '../config/sleep-config.ts';
import type { DeploymentSummary } from '../registration/deployment-summary.ts';
import { summarizeDeployments } from '../registration/deployment-summary.ts';
import { deploymentPrefix } from '../registry/keys.ts';
import { SleepStepError } from '../sleep/driver.ts';
import { addDeploymentOptions, deploymentRef } from './deployment-options.ts';
import { addSettingOptions, settingValues } from './settings-options.ts';
import { SleepStateError } from './sleep-state-error.ts';

/** What `sleep` and `wake` share: the deployment named by the flags and the validated settings. */
export interface SleepCommandContext {
  readonly deployment: string;
  readonly branch: string | undefined;
  readonly etcd: EtcdConfig;
  readonly sleep: SleepConfig;
  /** The primary base domain, as hooks see BASE_DOMAIN. */
  readonly baseDomain: string;
}

export function addSleepCommandOptions(command: Command): Command {
  return addSettingOptions(addDeploymentOptions(command), SLEEP_CLI_SETTINGS);
}

export function loadSleepCommand(command: Command): SleepCommandContext {
  const { deployment, branch } = deploymentRef(command.opts<{ branch?: string; deployment?: string }>(), command);
  const values = settingValues(command, SLEEP_CLI_SETTINGS);
  return { deployment, branch, etcd: loadEtcdConfig(values), sleep: loadSleepConfig(values), baseDomain: parseDomains('BASE_DOMAIN', values.BASE_DOMAIN)[0]! };
}

/** The deployment's keys as the proxy would read them, or undefined when it has none. */
export async function readDeployment(client: Etcd3, prefix: string, deployment: string): Promise<DeploymentSummary | undefined> {
  const res = await client.getAll().prefix(deploymentPrefix(prefix, deployment)).exec();
  return summarizeDeployments(prefix, res.kvs).find((d) => d.deployment === deployment);
}

/** A driver failure as the CLI reports it: the step, the reason, the hook's output below. */
export function stepFailure(err: unknown, deployment: string): unknown {
  if (!(err instanceof SleepStepError)) return err;
  return new SleepStateError(`${err.step} of ${deployment} failed: ${err.message}`, err.tail);
}
