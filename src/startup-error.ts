/** `serve` cannot start for a reason outside its configuration (a port in use, say): one line, exit code 1. */
export class StartupError extends Error {
  override name = 'StartupError';
}
