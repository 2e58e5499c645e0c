import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import type { SleepDriver, SleepOutcome, SleepTarget } from './driver.ts';
import { SleepStepError } from './driver.ts';
import type { SleepRecord } from './sleep-record.ts';
import { ECS_SERVICE_NAME, ecsServiceName } from './ecs-service-name.ts';

export interface EcsDriverOptions {
  /** ECS_CLUSTER: name or ARN. */
  readonly cluster: string;
  /** ECS_SERVICE_TEMPLATE, e.g. `{deployment}-{service}`. */
  readonly serviceTemplate: string;
  /** Defaults to one built from the environment: region, credentials chain, AWS_ENDPOINT_URL_ECS. */
  readonly client?: ECSClient;
}

/** DescribeServices takes at most 10 services per call. */
const DESCRIBE_BATCH = 10;

/**
 * SLEEP_DRIVER=ecs: sleeping sets the desired count of each of the
 * deployment's ECS services to 0, after reading the counts they had; waking
 * puts those counts back. Needs only ecs:DescribeServices and
 * ecs:UpdateService (see docs/sleep.md for the IAM policy).
 */
export class EcsDriver implements SleepDriver {
  readonly #client: ECSClient;

  constructor(private readonly options: EcsDriverOptions) {
    this.#client = options.client ?? new ECSClient({});
  }

  async sleep(target: SleepTarget): Promise<SleepOutcome> {
    const names = this.#names(target);
    const desiredCounts: Record<string, number> = {};
    for (let i = 0; i < names.length; i += DESCRIBE_BATCH) {
      const batch = names.slice(i, i + DESCRIBE_BATCH);
      const res = await this.#call('sleep', 'DescribeServices', batch.join(', '), () => this.#client.send(new DescribeServicesCommand({ cluster: this.options.cluster, services: batch })));
      const failure = res.failures?.[0];
      if (failure) {
        const what = `ECS service ${failure.arn ?? '?'} in cluster ${this.options.cluster}: ${failure.reason ?? 'failed'}`;
        throw new SleepStepError('sleep', `${what} (check ECS_CLUSTER and ECS_SERVICE_TEMPLATE)`, `ECS DescribeServices failed (${failure.reason ?? 'failure'})`);
      }
      for (const service of res.services ?? []) if (service.serviceName) desiredCounts[service.serviceName] = service.desiredCount ?? 0;
    }
    for (const name of names) {
      await this.#call('sleep', 'UpdateService', name, () => this.#client.send(new UpdateServiceCommand({ cluster: this.options.cluster, service: name, desiredCount: 0 })));
    }
    return { ecs: { desiredCounts } };
  }

  /**
   * Restores the counts stored at sleep time (under the names used then, even
   * if the template changed since). A count of 0 becomes 1: a wake that starts
   * nothing could never finish.
   */
  async wake(target: SleepTarget, record: SleepRecord): Promise<void> {
    const stored = record.ecs?.desiredCounts;
    const names = stored && Object.keys(stored).length > 0 ? Object.keys(stored) : this.#names(target);
    for (const name of names) {
      const desiredCount = Math.max(1, stored?.[name] ?? 1);
      await this.#call('wake', 'UpdateService', name, () => this.#client.send(new UpdateServiceCommand({ cluster: this.options.cluster, service: name, desiredCount })));
    }
  }

  /** The deployment's ECS services, once each (a template without {service} names one for all). */
  #names(target: SleepTarget): string[] {
    const names = [...new Set(target.services.map((s) => ecsServiceName(this.options.serviceTemplate, target.deployment, s)))];
    const bad = names.find((n) => !ECS_SERVICE_NAME.test(n));
    if (bad !== undefined) {
      throw new SleepStepError('sleep', `ECS_SERVICE_TEMPLATE gives ${JSON.stringify(bad)}, not an ECS service name (letters, digits, - and _)`, 'invalid ECS service name');
    }
    return names;
  }

  async #call<T>(step: 'sleep' | 'wake', action: string, services: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (err) {
      const name = (err as Error).name || 'Error';
      const message = `ECS ${action} of ${services} in cluster ${this.options.cluster} failed: ${name}: ${(err as Error).message}`;
      throw new SleepStepError(step, message, `ECS ${action} failed (${name})`, undefined, { cause: err });
    }
  }
}
