/**
 * How a wake this process ran ended (the `result` label of
 * `branch_proxy_wakes_total`; a fixed set, so the label stays bounded):
 * - `ok`: the wake step ran and every listed service came back;
 * - `registered`: the services came back on their own (a new push), no wake step ran;
 * - `failed`: the wake step failed (non-zero exit, an ECS error);
 * - `timeout`: the services were not back within WAKE_TIMEOUT.
 */
export const WAKE_RESULTS = ['ok', 'registered', 'failed', 'timeout'] as const;
export type WakeResult = (typeof WAKE_RESULTS)[number];

/**
 * What the waker and the request path report to the metrics (issue #13).
 * Only the process that claimed a wake reports its end, so with several
 * replicas or workers each wake is counted once.
 */
export interface WakeObserver {
  /** A wake this process claimed ended; `seconds` from the claim to the end. */
  wakeEnded(result: WakeResult, seconds: number): void;
  /** A request to a deployment that is not awake began (+1) or stopped (-1) being held. */
  held(delta: 1 | -1): void;
}
