import type { SleepRecord, SleepState } from './sleep-record.ts';

/** What the dashboard, the API, `ls` and the metrics show: a deployment without a sleep record is awake. */
export type DeploymentState = 'awake' | SleepState;

export const DEPLOYMENT_STATES: readonly DeploymentState[] = ['awake', 'sleeping', 'asleep', 'waking'];

/** Takes any deployment-like value that may carry the route table's decoded sleep record. */
export function deploymentState(d: { readonly name: string; readonly sleep?: SleepRecord | undefined }): DeploymentState {
  return d.sleep?.state ?? 'awake';
}
