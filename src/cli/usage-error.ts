/** A mistake the user can fix (bad flag, unknown branch): printed as one line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
