import type { Command } from 'commander';
import cluster from 'node:cluster';
import { loadServeConfig } from '../config/serve-config.ts';
import { SERVE_SETTINGS } from '../config/settings.ts';
import { createLogger } from '../logging/logger.ts';
import { addSettingOptions, settingValues } from './settings-options.ts';

export function registerServe(program: Command): void {
  const command = program
    .command('serve')
    .description('Run the proxy: route <deployment>[-<service>].<domain> from the etcd registry.')
    .addHelpText('after', '\nEvery option can also be set by the environment variable shown; a flag wins over the variable.');
  addSettingOptions(command, SERVE_SETTINGS).action(async () => {
    const config = loadServeConfig(settingValues(command, SERVE_SETTINGS));
    const root = createLogger(config.logLevel, { sharedStdout: config.workers > 1 });
    const log = cluster.worker ? root.child({ worker: cluster.worker.id }) : root;
    // Aborted by the first signal; a start that may never finish (a replacement worker
    // waiting for etcd) gives up then, with nothing listening and everything closed.
    const stopping = new AbortController();
    // Imported on demand: a primary that does not proxy never loads the forwarding engines.
    const started = (
      config.workers === 1
        ? import('../server.ts').then((m) => m.startServer(config, log))
        : cluster.isPrimary
          ? import('../cluster/primary.ts').then((m) => m.startPrimary(config, log))
          : import('../cluster/worker.ts').then((m) => m.startWorker(config, log, stopping.signal))
    ).catch((err: unknown) => {
      if (stopping.signal.aborted && err instanceof Error && err.name === 'AbortError') return undefined;
      throw err;
    });
    // Listening from the start: a signal while starting (a primary waiting for its workers, say)
    // must still drain what is already being served, not kill the process mid-request.
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping.signal.aborted) return;
      stopping.abort();
      log.info({ event: 'shutting-down', signal, graceMs: config.shutdownGraceMs }, 'shutting down');
      started
        .then((server) => server?.close())
        .then(
          () => {
            log.info('stopped');
            root.flush();
            process.exit(0);
          },
          (err: unknown) => {
            log.error({ err }, 'shutdown failed');
            root.flush();
            process.exit(1);
          },
        );
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    await started;
  });
}
