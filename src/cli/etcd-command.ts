import type { Etcd3 } from 'etcd3';
import type { EtcdConfig } from '../config/serve-config.ts';
import { createEtcdClient } from '../registry/etcd-client.ts';

/** etcd did not answer a one-shot command in time: printed as one line, exit code 1. */
export class EtcdUnavailableError extends Error {
  override name = 'EtcdUnavailableError';
}

/** The issue's promise: a one-shot command gives up within 15 s, whatever etcd does. */
const COMMAND_DEADLINE_MS = 10_000;
const CALL_TIMEOUT_MS = 4_000;

/**
 * Runs a one-shot command against etcd with a hard deadline, then closes the
 * client. Failures of etcd (refused, timed out, no leader) become one line on
 * stderr (ending with `unavailableHint`, when given) and exit code 1; anything
 * else (UsageError) is rethrown to main. `deadlineMs` is longer only for
 * commands that run a hook (sleep, wake), whose own timeout then ends first;
 * each etcd call keeps its short deadline.
 */
export async function runWithEtcd(
  config: EtcdConfig,
  work: (client: Etcd3) => Promise<void>,
  { deadlineMs = COMMAND_DEADLINE_MS, unavailableHint }: { deadlineMs?: number; unavailableHint?: string } = {},
): Promise<void> {
  const client = await createEtcdClient(config, { callTimeoutMs: CALL_TIMEOUT_MS });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new EtcdUnavailableError(`no answer within ${deadlineMs / 1000} s`)), deadlineMs);
  });
  try {
    await Promise.race([work(client), deadline]);
  } catch (err) {
    if (!isEtcdFailure(err)) throw err;
    process.stderr.write(`branch-proxy: etcd at ${config.endpoints.join(',')} unavailable: ${firstLine(err)}${unavailableHint ? `; ${unavailableHint}` : ''}\n`);
    process.exitCode = 1;
  } finally {
    clearTimeout(timer);
    client.close();
    // gRPC can keep a reconnect timer alive after close(); never let that hold the command open.
    setTimeout(() => process.exit(), 2000).unref();
  }
}

function isEtcdFailure(err: unknown): err is Error {
  // etcd3's and cockatiel's error classes leave `name` as 'Error'; their class names tell them apart.
  return err instanceof Error && /^(Etcd|GRPC|ClientRuntime|BrokenCircuit|IsolatedCircuit|TaskCancelled)/.test(err.constructor.name);
}

function firstLine(err: Error): string {
  return (err.message.split('\n')[0] ?? '').replace(/\s*Resolution note:.*$/, '').trim() || err.name;
}
