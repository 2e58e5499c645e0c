import type { SleepConfig } from '../config/sleep-config.ts';
import { CommandDriver } from './command-driver.ts';
import type { SleepDriver } from './driver.ts';

/**
 * The driver SLEEP_DRIVER names. The AWS SDK is loaded only for `ecs`, so
 * every other set-up starts without it.
 */
export async function createSleepDriver(config: SleepConfig, baseDomain: string, signal?: AbortSignal): Promise<SleepDriver> {
  const { driver } = config;
  if (driver.kind === 'ecs') {
    const { EcsDriver } = await import('./ecs-driver.ts');
    return new EcsDriver({ cluster: driver.cluster, serviceTemplate: driver.serviceTemplate });
  }
  return new CommandDriver({ sleepCommand: driver.sleepCommand, wakeCommand: driver.wakeCommand, timeoutMs: config.wakeTimeoutMs, baseDomain, ...(signal ? { signal } : {}) });
}
