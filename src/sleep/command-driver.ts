import type { SleepDriver, SleepOutcome, SleepTarget } from './driver.ts';
import { SleepStepError } from './driver.ts';
import type { HookResult } from './hook-runner.ts';
import { runHook } from './hook-runner.ts';

export interface CommandDriverOptions {
  /** Empty or undefined: nothing to run for that step (e.g. backends that stop on their own). */
  readonly sleepCommand?: string | undefined;
  readonly wakeCommand?: string | undefined;
  /** Each command's limit (WAKE_TIMEOUT); past it, its process group is killed. */
  readonly timeoutMs: number;
  /** BASE_DOMAIN as the hooks see it: the primary domain. */
  readonly baseDomain: string;
  /** Ends a running command (shutdown). */
  readonly signal?: AbortSignal;
}

/** SLEEP_DRIVER=command: SLEEP_COMMAND and WAKE_COMMAND, run through the hook runner. */
export class CommandDriver implements SleepDriver {
  constructor(private readonly options: CommandDriverOptions) {}

  async sleep(target: SleepTarget): Promise<SleepOutcome> {
    await this.#run('sleep', this.options.sleepCommand, target);
    return {};
  }

  async wake(target: SleepTarget): Promise<void> {
    await this.#run('wake', this.options.wakeCommand, target);
  }

  async #run(step: 'sleep' | 'wake', command: string | undefined, target: SleepTarget): Promise<void> {
    if (!command) return;
    const result = await runHook(command, { deployment: target.deployment, branch: target.branch, services: target.services, baseDomain: this.options.baseDomain }, {
      timeoutMs: this.options.timeoutMs,
      ...(this.options.signal ? { signal: this.options.signal } : {}),
    });
    if (result.ok) return;
    const summary = `${step} command ${describeFailure(result, this.options.timeoutMs)}`;
    throw new SleepStepError(step, `${summary} after ${result.ms} ms`, summary, result.tail);
  }
}

function describeFailure(result: HookResult, timeoutMs: number): string {
  if (result.timedOut) return `ran longer than ${timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`} and was stopped`;
  if (result.code !== null) return `exited with status ${result.code}`;
  return `was killed by ${result.signal}`;
}
