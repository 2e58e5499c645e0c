import type { Command } from 'commander';
import { loadServeConfig } from '../config/serve-config.ts';
import { SERVE_SETTINGS } from '../config/settings.ts';
import { createLogger } from '../logging/logger.ts';
import { startServer } from '../server.ts';
import { addSettingOptions, settingValues } from './settings-options.ts';

export function registerServe(program: Command): void {
  const command = program
    .command('serve')
    .description('Run the proxy: route <deployment>[-<service>].<domain> from the etcd registry.')
    .addHelpText('after', '\nEvery option can also be set by the environment variable shown; a flag wins over the variable.');
  addSettingOptions(command, SERVE_SETTINGS).action(async () => {
    const config = loadServeConfig(settingValues(command, SERVE_SETTINGS));
    const log = createLogger(config.logLevel);
    const server = await startServer(config, log);
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      log.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down');
      server.close().then(
        () => {
          log.info('stopped');
          log.flush();
          process.exit(0);
        },
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          log.flush();
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
