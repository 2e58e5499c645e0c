/**
 * `sleep`/`wake` cannot act on the deployment as it is (claimed by someone
 * else, no routed service) or a step failed (a hook's exit status): the
 * message, then any hook output, on stderr; exit code 1.
 */
export class SleepStateError extends Error {
  override name = 'SleepStateError';
  constructor(
    message: string,
    /** The failed hook's last output, printed below the message for the operator. */
    readonly tail?: string,
  ) {
    super(message);
  }
}
