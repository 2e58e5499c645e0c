import type { SleepRecord } from './sleep-record.ts';

/** The deployment a sleep or wake acts on. */
export interface SleepTarget {
  readonly deployment: string;
  /** The raw git branch, when the registry knows it. */
  readonly branch?: string | undefined;
  /** The services routed when it fell asleep (on wake: the record's list). */
  readonly services: readonly string[];
  readonly defaultService?: string | undefined;
}

/** What a sleep leaves for the wake, stored in the sleep record. */
export interface SleepOutcome {
  readonly ecs?: { readonly desiredCounts: Readonly<Record<string, number>> };
}

/**
 * Stops and starts a deployment's backends on its platform. `wake` only starts
 * them: whoever calls it waits for the services to be routed again.
 */
export interface SleepDriver {
  sleep(target: SleepTarget): Promise<SleepOutcome>;
  wake(target: SleepTarget, record: SleepRecord): Promise<void>;
}

/**
 * A sleep or wake step failed. `message` is for logs and the CLI (it may name
 * ARNs or exit statuses); `summary` is short and safe to keep in the record,
 * which visitors' waiting pages read.
 */
export class SleepStepError extends Error {
  override name = 'SleepStepError';
  constructor(
    readonly step: 'sleep' | 'wake',
    message: string,
    readonly summary: string,
    /** The last output of a failed hook, for the operator's log only. */
    readonly tail?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
