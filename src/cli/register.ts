import { Option } from 'commander';
import type { Command } from 'commander';
import { isIP } from 'node:net';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { isHostname, LOG_LEVELS, parseLogLevel, parsePort, parseServiceName } from '../config/parsers.ts';
import { loadEtcdConfig } from '../config/serve-config.ts';
import { ETCD_SETTINGS } from '../config/settings.ts';
import { createLogger } from '../logging/logger.ts';
import { createEtcdClient } from '../registry/etcd-client.ts';
import type { ChildService } from '../registration/child-process.ts';
import { startChild } from '../registration/child-process.ts';
import { EC2_METADATA_DEFAULT_URL, ec2PrivateIp } from '../registration/ec2-metadata.ts';
import { ecsHostPort } from '../registration/ecs-metadata.ts';
import { firstExternalIpv4 } from '../registration/local-ip.ts';
import { MetadataError } from '../registration/metadata-http.ts';
import { waitUntilReady } from '../registration/readiness.ts';
import { Registration } from '../registration/registration.ts';
import type { RegistrationTarget } from '../registration/registration-write.ts';
import { SlugTakenError } from '../registration/registration-write.ts';
import { checkServiceName, SlugError } from '../registration/slug.ts';
import { addDeploymentOptions, deploymentRef } from './deployment-options.ts';
import { addSettingOptions, settingValues } from './settings-options.ts';
import { UsageError } from './usage-error.ts';

interface RegisterOptions {
  branch?: string;
  deployment?: string;
  service: string;
  port?: string;
  portFrom?: string;
  containerPort?: string;
  ip?: string;
  ttl: string;
  healthPath?: string;
  force?: boolean;
  default?: boolean;
  fallback?: string;
  logLevel: string;
}

/** Signals that only pass through to the wrapped command. */
const FORWARDED = ['SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'] as const;
const STOPPING = ['SIGTERM', 'SIGINT'] as const;

export function registerRegister(program: Command): void {
  const command = addDeploymentOptions(
    program
      .command('register')
      .description('Register a service in etcd under a lease kept alive while this runs; with -- <command>, run the service and register it once it is ready.')
      .argument('[command...]', 'after --: the service to run, register once ready, and deregister when it exits'),
  )
    .requiredOption('--service <name>', 'service name: <deployment>-<service>.<domain> routes to it')
    .option('--port <port>', 'port the service is reached on')
    .addOption(new Option('--port-from <source>', 'read the port from a metadata service instead: the host port ECS mapped to --container-port').choices(['ecs']))
    .option('--container-port <port>', 'with --port-from ecs: the port the service listens on inside its container')
    .option('--ip <address>', 'address the service is reached on; "ec2" reads the instance\'s private IPv4 from IMDSv2 (default: first non-internal IPv4)')
    .option('--ttl <seconds>', 'lease TTL: how long the route outlives a killed process', '15')
    .option('--health-path <path>', 'register only once GET <path> answers 2xx (otherwise once the port accepts TCP connections, with -- <command>)')
    .option('--default', 'also make this the service that <deployment>.<domain> opens')
    .option('--fallback <branch>', "the branch (slugged like --branch) whose services this deployment's missing ones come from, instead of the proxy's FALLBACK_DEPLOYMENT")
    .option('--force', 'take over a deployment name that belongs to another git branch with the same slug')
    .addOption(new Option('--log-level <level>', LOG_LEVELS.join(', ')).env('LOG_LEVEL').default('info'))
    .addHelpText(
      'after',
      '\nEnvironment: EC2_METADATA_URL (default http://169.254.169.254) and ECS_CONTAINER_METADATA_URI_V4 locate the metadata services.\n' +
        'Example: branch-proxy register --branch "$GIT_BRANCH" --service web --port 8080 -- node server.js',
    );
  addSettingOptions(command, ETCD_SETTINGS).action(async (args: string[]) => {
    const opts = command.opts<RegisterOptions>();
    const log = createLogger(parseLogLevel('LOG_LEVEL', opts.logLevel), { destination: pino.destination({ sync: true }) });
    const code = await runRegister(command, opts, args, log);
    log.flush();
    process.exit(code);
  });
}

async function runRegister(command: Command, opts: RegisterOptions, args: string[], log: Logger): Promise<number> {
  const { deployment, branch } = deploymentRef(opts, command);
  const service = serviceOf(deployment, opts.service);
  const fallback = fallbackOf(deployment, opts.fallback);
  const ttlSeconds = parseTtl(opts.ttl);
  const etcd = loadEtcdConfig(settingValues(command, ETCD_SETTINGS));
  const probePort = opts.containerPort !== undefined ? parsePort('--container-port', opts.containerPort) : undefined;
  if (opts.healthPath !== undefined && !opts.healthPath.startsWith('/')) throw new UsageError(`--health-path must start with /, got ${JSON.stringify(opts.healthPath)}`);
  const scoped = log.child({ deployment, service });

  let ip: string;
  let port: number;
  try {
    ip = await resolveIp(opts.ip);
    port = await resolvePort(opts, probePort);
  } catch (err) {
    if (!(err instanceof MetadataError)) throw err;
    scoped.fatal({ event: 'address-not-found', err: err.message }, 'cannot find the address to register');
    return 1;
  }

  const target: RegistrationTarget = { prefix: etcd.prefix, deployment, branch, service, ip, port, force: opts.force === true, makeDefault: opts.default === true, fallback };
  const client = await createEtcdClient(etcd, { callTimeoutMs: 3000 });
  const registration = new Registration(client, target, log, { ttlSeconds });
  const child: ChildService | undefined = args.length > 0 ? startChild(args[0]!, args.slice(1)) : undefined;
  scoped.info({ ip, port, branch, ttlSeconds, etcd: etcd.endpoints, command: args.length > 0 ? args : undefined, pid: child?.pid }, 'starting');

  // One controller ends everything that waits: a stop signal, or the child exiting.
  const stop = new AbortController();
  let stopSignal: NodeJS.Signals | undefined;
  for (const signal of STOPPING) {
    process.on(signal, () => {
      child?.signal(signal);
      if (stopSignal) return;
      stopSignal = signal;
      scoped.info({ signal }, 'stopping: deregistering');
      stop.abort();
    });
  }
  if (child) for (const signal of FORWARDED) process.on(signal, () => child.signal(signal));
  void child?.exited.then((code) => {
    scoped.info({ event: 'command-exited', code }, 'command exited; deregistering');
    stop.abort();
  });

  let refused = false;
  if (child || opts.healthPath !== undefined) {
    const probe = { host: '127.0.0.1', port: probePort ?? port, healthPath: opts.healthPath };
    scoped.info({ event: 'waiting-for-service', ...probe }, 'waiting for the service to be ready before registering');
    const started = performance.now();
    const ready = await waitUntilReady(probe, stop.signal).then(() => true, () => false);
    if (ready) scoped.info({ event: 'service-ready', readyMs: Math.round(performance.now() - started) }, 'service ready');
  }
  if (!stop.signal.aborted) {
    const running = registration.run().then(
      (end) => {
        if (end === 'superseded' && !child) stop.abort();
      },
      (err: unknown) => {
        if (!(err instanceof SlugTakenError)) throw err;
        scoped.error({ owner: err.owner }, err.message);
        refused = true;
        child?.signal('SIGTERM');
        stop.abort();
      },
    );
    await Promise.race([running, new Promise((resolve) => stop.signal.addEventListener('abort', resolve, { once: true }))]);
  }
  await registration.stop();
  client.close();
  const childCode = child ? await child.exited : 0;
  return refused ? 2 : childCode;
}

function serviceOf(deployment: string, service: string): string {
  try {
    return checkServiceName(deployment, parseServiceName('--service', service));
  } catch (err) {
    if (err instanceof SlugError) throw new UsageError(err.message);
    throw err;
  }
}

function parseTtl(raw: string): number {
  const ttl = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(ttl >= 1 && ttl <= 3600)) throw new UsageError(`--ttl must be a whole number of seconds from 1 to 3600, got ${JSON.stringify(raw)}`);
  return ttl;
}

async function resolveIp(raw: string | undefined): Promise<string> {
  if (raw === 'ec2') return ec2PrivateIp(process.env.EC2_METADATA_URL || EC2_METADATA_DEFAULT_URL);
  if (raw !== undefined) {
    if (isIP(raw) !== 0 || isHostname(raw.toLowerCase())) return raw;
    throw new UsageError(`--ip must be an IP address, a host name or "ec2", got ${JSON.stringify(raw)}`);
  }
  const found = firstExternalIpv4();
  if (!found) throw new UsageError('this machine has no non-internal IPv4 address: pass --ip <address>');
  return found;
}

async function resolvePort(opts: RegisterOptions, containerPort: number | undefined): Promise<number> {
  if (opts.portFrom === 'ecs') {
    if (opts.port !== undefined) throw new UsageError('give either --port or --port-from ecs, not both');
    if (containerPort === undefined) throw new UsageError('--port-from ecs needs --container-port <port>: the port the service listens on in its container');
    return ecsHostPort(process.env.ECS_CONTAINER_METADATA_URI_V4, containerPort);
  }
  if (opts.port === undefined) throw new UsageError('give --port <port> (or --port-from ecs --container-port <port>)');
  return parsePort('--port', opts.port);
}

/** `--fallback release/2.4` names deployment `release-2-4`, as `--branch` would. */
function fallbackOf(deployment: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const base = deploymentRef({ branch: raw }).deployment;
  if (base === deployment) throw new UsageError(`--fallback ${JSON.stringify(raw)} names this deployment itself; give the branch its missing services should come from, such as main`);
  return base;
}
