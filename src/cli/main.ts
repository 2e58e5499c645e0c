#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { ConfigError } from '../config/config-error.ts';
import { StartupError } from '../startup-error.ts';
import { registerDeregister } from './deregister.ts';
import { registerLs } from './ls.ts';
import { registerPrune } from './prune.ts';
import { registerRegister } from './register.ts';
import { registerServe } from './serve.ts';
import { registerShare } from './share.ts';
import { registerSleep } from './sleep.ts';
import { SleepStateError } from './sleep-state-error.ts';
import { registerUrl } from './url.ts';
import { registerWake } from './wake.ts';
import { UsageError } from './usage-error.ts';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

const program = new Command('branch-proxy')
  .description('Routes <deployment>[-<service>].<domain> to live devtest deployments registered in etcd.')
  .version(version)
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

registerServe(program);
registerRegister(program);
registerUrl(program);
registerLs(program);
registerDeregister(program);
registerPrune(program);
registerShare(program);
registerSleep(program);
registerWake(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  // Mistakes in what was asked exit 2; a start that failed for outside reasons exits 1.
  const code = err instanceof ConfigError || err instanceof UsageError ? 2 : err instanceof StartupError || err instanceof SleepStateError ? 1 : undefined;
  if (code === undefined) throw err;
  process.stderr.write(`branch-proxy: ${(err as Error).message}\n`);
  // A failed hook's output, for the operator running the command.
  if (err instanceof SleepStateError && err.tail) process.stderr.write(`${err.tail.trimEnd().replace(/^/gm, '  | ')}\n`);
  process.exit(code);
}
