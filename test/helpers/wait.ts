import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls until `check` returns a value other than undefined, for at most
 * `timeoutMs`. Returns the value and how long it took, so tests can report
 * latency without asserting on it.
 */
export async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 5000): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  let lastError: unknown;
  while (performance.now() - start < timeoutMs) {
    try {
      const value = await check();
      if (value !== undefined) return { value, ms: performance.now() - start };
    } catch (err) {
      lastError = err;
    }
    await sleep(5);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
}
