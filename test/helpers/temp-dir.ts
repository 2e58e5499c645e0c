import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/** Whatever runs a function when it ends: a test's context (`t`), or `SUITE` in a describe body. */
export interface Owner {
  after(fn: () => void | Promise<void>): void;
}

/**
 * The enclosing suite, for helpers called in a describe body. (`after()` called
 * inside a `before` hook runs at once, so a suite's temp dirs are made in its body.)
 */
export const SUITE: Owner = { after: (fn) => void after(fn) };

/**
 * A fresh directory in the system temp dir, removed when `owner` ends, also
 * when it fails: some hold private keys, and none may outlive the test run.
 */
export function tempDir(owner: Owner, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  owner.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
