/**
 * Runs the test files given as arguments with a temp dir of their own, and
 * fails when anything is left in it: tests create certificates, private keys
 * and etcd data dirs, and every one of them must remove what it made, also
 * when it fails. The dedicated TMPDIR keeps other processes' files out of the
 * check; it is removed at the end either way.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Caches of the tools the suite runs (not files a test made): tsx keeps its compile cache in `tsx-<uid>`. */
const TOOL_CACHES = [/^tsx-\d+$/];

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node --import tsx test/run-suite.ts <test files…>');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'branch-proxy-test-run-'));
const env = { ...process.env, TMPDIR: dir, TMP: dir, TEMP: dir };
const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], { stdio: 'inherit', env });
const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
process.on('SIGINT', forward).on('SIGTERM', forward);
const code: number = await new Promise((resolve) => child.on('exit', (status, signal) => resolve(status ?? (signal ? 1 : 0))));

const leftovers = readdirSync(dir).filter((name) => !TOOL_CACHES.some((cache) => cache.test(name)));
rmSync(dir, { recursive: true, force: true });
if (leftovers.length > 0) {
  console.error(`\nThe tests left ${leftovers.length} entr${leftovers.length === 1 ? 'y' : 'ies'} in their temp dir: ${leftovers.join(', ')}.`);
  console.error('Every test removes what it creates (see test/helpers/temp-dir.ts); find the one that made these and register its cleanup.');
  process.exit(code || 1);
}
process.exit(code);
