import { after, before } from 'node:test';

/**
 * For a describe body: starts a resource in `before` and closes it in `after` (also when a test
 * failed). The returned object forwards to the started resource, so the suite's tests and hooks
 * use it directly; using it before the suite has started it throws, saying so.
 */
export function suiteResource<T extends object>(what: string, start: () => Promise<T>, close: (resource: T) => Promise<void>): T {
  let started: T | undefined;
  before(async () => {
    started = await start();
  });
  after(async () => {
    if (started) await close(started);
  });
  const current = (): T => {
    if (!started) throw new Error(`${what} is used before its suite started it: use it inside tests and hooks`);
    return started;
  };
  return new Proxy({} as T, {
    get: (_target, key) => Reflect.get(current(), key),
    set: (_target, key, value) => Reflect.set(current(), key, value),
  });
}
