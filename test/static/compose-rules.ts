/**
 * What `docker compose up` would trip over, checked without a Docker engine:
 * references between services, volumes, networks and images, healthchecks that
 * `depends_on` waits for, published ports, and the shape of the demo services'
 * `branch-proxy register ... -- node demo/demo-service.mjs` commands.
 *
 * Each rule returns one line per problem, naming the service and what is wrong.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SERVE_SETTINGS } from '../../src/config/settings.ts';
import type { ComposeDoc } from './compose-file.ts';

type Service = Record<string, unknown>;

const settingDefault = (env: string): string => SERVE_SETTINGS.find((s) => s.env === env)?.default ?? '';

/** The command the demo containers run after `register ... --`. */
const DEMO_COMMAND = ['node', 'demo/demo-service.mjs'] as const;
/** Flags a demo's `register` command must give, in this order; `--ttl`/`--health-path` may follow. */
const DEMO_FLAGS = ['--branch', '--service', '--port', '--ip'] as const;
const OPTIONAL_DEMO_FLAGS = new Set(['--ttl', '--health-path']);
/** Oldest etcd the compose file may pin: 3.4 is end-of-life. */
const MIN_ETCD = [3, 5] as const;

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

export function services(doc: ComposeDoc): Map<string, Service> {
  return new Map(Object.entries(record(doc.services)).map(([name, s]) => [name, record(s)]));
}

/** `command` as an argv (compose's string form is split on whitespace, as the demo needs no quoting). */
function commandOf(service: Service): string[] {
  const { command } = service;
  if (Array.isArray(command)) return command.map(String);
  if (typeof command === 'string') return command.trim().split(/\s+/);
  return [];
}

/** `environment` as a map, from either the map or the `KEY=value` list form. */
export function environmentOf(service: Service): Map<string, string> {
  const env = service.environment;
  if (Array.isArray(env)) {
    return new Map(env.map(String).map((kv) => [kv.split('=')[0] ?? '', kv.includes('=') ? kv.slice(kv.indexOf('=') + 1) : '']));
  }
  return new Map(Object.entries(record(env)).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

function dependsOn(service: Service): Map<string, string> {
  const deps = service.depends_on;
  if (Array.isArray(deps)) return new Map(deps.map((d) => [String(d), 'service_started']));
  return new Map(Object.entries(record(deps)).map(([name, spec]) => [name, String(record(spec).condition ?? 'service_started')]));
}

function hasHealthcheck(service: Service): boolean {
  const check = record(service.healthcheck);
  return check.disable !== true && check.test !== undefined && !(Array.isArray(check.test) && check.test[0] === 'NONE');
}

/** Whether a service runs the proxy (`branch-proxy serve`, the image's default command). */
function runsServe(service: Service, ownImages: Set<string>): boolean {
  const argv = commandOf(service);
  return ownImages.has(String(service.image)) && (argv.length === 0 || argv[0] === 'serve');
}

/** Images some service in the file builds (`build:` with an `image:` name). */
function builtImages(doc: ComposeDoc): Set<string> {
  return new Set([...services(doc).values()].filter((s) => s.build !== undefined && s.image !== undefined).map((s) => String(s.image)));
}

export function dependencyProblems(doc: ComposeDoc): string[] {
  const all = services(doc);
  const problems: string[] = [];
  for (const [name, service] of all) {
    for (const [target, condition] of dependsOn(service)) {
      const dep = all.get(target);
      if (!dep) problems.push(`service ${name}: depends_on names "${target}", which is not a service in this file`);
      else if (condition === 'service_healthy' && !hasHealthcheck(dep)) {
        problems.push(`service ${name}: waits for ${target} to be healthy, but ${target} has no healthcheck`);
      }
    }
  }
  return problems;
}

/** A `CMD` healthcheck's argv (`test: ["CMD", "node", "-e", ...]`), for running it outside Docker. */
export function healthcheckArgv(service: Service): string[] | undefined {
  const test = record(service.healthcheck).test;
  return Array.isArray(test) && test[0] === 'CMD' ? test.slice(1).map(String) : undefined;
}

export function healthcheckProblems(doc: ComposeDoc): string[] {
  const own = builtImages(doc);
  const problems: string[] = [];
  for (const [name, service] of services(doc)) {
    if (!hasHealthcheck(service)) {
      problems.push(`service ${name}: no healthcheck, so nothing can wait for it and \`docker compose ps\` cannot tell it is up`);
      continue;
    }
    // A check that probes a port the service does not listen on never turns healthy.
    const test = JSON.stringify(record(service.healthcheck).test);
    const probed = /\/\/(?:127\.0\.0\.1|localhost):(\d+)(\/[\w/-]*)/.exec(test);
    if (!probed) continue;
    const env = environmentOf(service);
    const expected = runsServe(service, own) ? (env.get('ADMIN_PORT') ?? settingDefault('ADMIN_PORT')) : env.get('PORT');
    if (expected !== undefined && probed[1] !== expected) {
      problems.push(`service ${name}: healthcheck probes port ${probed[1]}, but the service listens on ${expected}`);
    }
  }
  return problems;
}

function isNamedVolume(source: string): boolean {
  return source !== '' && !/^[./~]/.test(source) && !source.includes('/');
}

export function volumeProblems(doc: ComposeDoc): string[] {
  const declared = new Set(Object.keys(record(doc.volumes)));
  const used = new Set<string>();
  const problems: string[] = [];
  for (const [name, service] of services(doc)) {
    for (const mount of Array.isArray(service.volumes) ? service.volumes : []) {
      const source = typeof mount === 'string' ? (mount.split(':')[0] ?? '') : String(record(mount).source ?? '');
      const type = typeof mount === 'string' ? 'volume' : String(record(mount).type ?? 'volume');
      if (type !== 'volume' || !isNamedVolume(source)) continue;
      used.add(source);
      if (!declared.has(source)) problems.push(`service ${name}: mounts volume "${source}", which the top-level volumes: does not declare`);
    }
  }
  for (const volume of declared) if (!used.has(volume)) problems.push(`volume ${volume}: declared but no service mounts it`);
  return problems;
}

export function networkProblems(doc: ComposeDoc): string[] {
  const declared = new Set(['default', ...Object.keys(record(doc.networks))]);
  const problems: string[] = [];
  for (const [name, service] of services(doc)) {
    const networks = Array.isArray(service.networks) ? service.networks.map(String) : Object.keys(record(service.networks));
    for (const network of networks) {
      if (!declared.has(network)) problems.push(`service ${name}: joins network "${network}", which the top-level networks: does not declare`);
    }
  }
  return problems;
}

/** `[registry/]name[:tag][@digest]` -> its tag (undefined when none). */
function imageTag(image: string): string | undefined {
  const withoutDigest = image.split('@')[0] ?? '';
  const lastPart = withoutDigest.slice(withoutDigest.lastIndexOf('/') + 1);
  return lastPart.includes(':') ? lastPart.slice(lastPart.indexOf(':') + 1) : undefined;
}

export function imageProblems(doc: ComposeDoc, composeDir: string): string[] {
  const built = builtImages(doc);
  const problems: string[] = [];
  for (const [name, service] of services(doc)) {
    const image = service.image === undefined ? undefined : String(service.image);
    if (service.build !== undefined) {
      const build = service.build;
      const context = typeof build === 'string' ? build : String(record(build).context ?? '.');
      const dockerfile = typeof build === 'string' ? 'Dockerfile' : String(record(build).dockerfile ?? 'Dockerfile');
      if (!existsSync(join(composeDir, context, dockerfile))) problems.push(`service ${name}: builds ${join(context, dockerfile)}, which does not exist`);
      if (image === undefined) problems.push(`service ${name}: builds an image without naming it (image:), so other services cannot reuse it`);
      continue;
    }
    if (image === undefined) {
      problems.push(`service ${name}: has neither image: nor build:`);
      continue;
    }
    if (built.has(image)) continue;
    const tag = imageTag(image);
    if (!image.includes('@') && (tag === undefined || tag === 'latest')) {
      problems.push(`service ${name}: image ${image} is not built in this file and not pinned to a version`);
    }
    if (/(^|\/)etcd$/.test(image.split(/[:@]/)[0] ?? '')) {
      const version = /^v?(\d+)\.(\d+)\./.exec(tag ?? '');
      const [major, minor] = version ? [Number(version[1]), Number(version[2])] : [0, 0];
      if (major < MIN_ETCD[0] || (major === MIN_ETCD[0] && minor < MIN_ETCD[1])) {
        problems.push(`service ${name}: ${image} is older than etcd ${MIN_ETCD.join('.')} (3.4 is end-of-life) or has no version tag`);
      }
    }
  }
  return problems;
}

/** etcd keeps its data on a named volume, or `docker compose down && up` starts from an empty registry. */
export function etcdProblems(doc: ComposeDoc): string[] {
  const problems: string[] = [];
  for (const [name, service] of services(doc)) {
    if (!/(^|\/)etcd$/.test(String(service.image ?? '').split(/[:@]/)[0] ?? '')) continue;
    const flag = commandOf(service).find((a) => a.startsWith('--data-dir='))?.slice('--data-dir='.length);
    const dataDir = flag ?? environmentOf(service).get('ETCD_DATA_DIR');
    if (dataDir === undefined) {
      problems.push(`service ${name}: sets no --data-dir / ETCD_DATA_DIR, so etcd writes into the container`);
      continue;
    }
    const mounts = (Array.isArray(service.volumes) ? service.volumes : []).map((m) =>
      typeof m === 'string' ? { source: m.split(':')[0] ?? '', target: m.split(':')[1] ?? '' } : { source: String(record(m).source ?? ''), target: String(record(m).target ?? '') },
    );
    const onVolume = mounts.some((m) => isNamedVolume(m.source) && (dataDir === m.target || dataDir.startsWith(`${m.target.replace(/\/$/, '')}/`)));
    if (!onVolume) problems.push(`service ${name}: data dir ${dataDir} is not on a named volume`);
  }
  return problems;
}

interface PublishedPort {
  readonly hostIp: string;
  readonly hostPorts: number[];
  readonly containerPort: number;
}

/** Short port syntax: `[ip:]host[-range]:container[/proto]`; long syntax maps; bare container ports publish nothing fixed. */
function publishedPorts(service: Service): PublishedPort[] {
  const result: PublishedPort[] = [];
  for (const entry of Array.isArray(service.ports) ? service.ports : []) {
    if (typeof entry === 'object' && entry !== null) {
      const spec = record(entry);
      if (spec.published === undefined) continue;
      const [from, to] = String(spec.published).split('-').map(Number);
      result.push({ hostIp: String(spec.host_ip ?? ''), hostPorts: range(from!, to ?? from!), containerPort: Number(spec.target) });
      continue;
    }
    const parts = String(entry).split('/')[0]!.split(':');
    if (parts.length < 2) continue;
    const container = Number(parts.at(-1));
    const [from, to] = parts.at(-2)!.split('-').map(Number);
    result.push({ hostIp: parts.slice(0, -2).join(':'), hostPorts: range(from!, to ?? from!), containerPort: container });
  }
  return result;
}

function range(from: number, to: number): number[] {
  return Number.isInteger(from) && Number.isInteger(to) && to >= from ? Array.from({ length: to - from + 1 }, (_, i) => from + i) : [NaN];
}

export function portProblems(doc: ComposeDoc): string[] {
  const problems: string[] = [];
  const taken = new Map<string, string>();
  for (const [name, service] of services(doc)) {
    const replicas = Number(record(service.deploy).replicas ?? 1);
    for (const port of publishedPorts(service)) {
      if (port.hostPorts.some((p) => !(p >= 1 && p <= 65535)) || !(port.containerPort >= 1 && port.containerPort <= 65535)) {
        problems.push(`service ${name}: port mapping ${port.hostIp}${port.hostPorts.join('-')}:${port.containerPort} is not valid`);
        continue;
      }
      if (port.hostPorts.length < replicas) {
        problems.push(`service ${name}: ${replicas} replicas cannot share ${port.hostPorts.length} host port(s) ${port.hostPorts.join(',')}`);
      }
      for (const p of port.hostPorts) {
        const key = `${port.hostIp}:${p}`;
        const other = taken.get(key);
        if (other) problems.push(`service ${name}: host port ${p} is already published by ${other}`);
        taken.set(key, name);
      }
    }
  }
  return problems;
}

/** The proxy: `serve` from the image built here, publishing host port 80, on dev.localhost, talking to this file's etcd. */
export function proxyProblems(doc: ComposeDoc): string[] {
  const own = builtImages(doc);
  const proxies = [...services(doc)].filter(([, s]) => runsServe(s, own));
  if (proxies.length === 0) return ['no service runs `branch-proxy serve` from the image built in this file'];
  const problems: string[] = [];
  for (const [name, service] of proxies) {
    const env = environmentOf(service);
    const port = Number(env.get('PORT') ?? settingDefault('PORT'));
    if (!publishedPorts(service).some((p) => p.containerPort === port && p.hostPorts.includes(80) && p.hostIp === '')) {
      problems.push(`service ${name}: does not publish host port 80 to the proxy port ${port}, so http://main.dev.localhost would not open`);
    }
    const domains = (env.get('BASE_DOMAIN') ?? settingDefault('BASE_DOMAIN')).split(',').map((d) => d.trim());
    if (!domains.includes('dev.localhost')) problems.push(`service ${name}: BASE_DOMAIN ${domains.join(',')} does not include dev.localhost`);
  }
  return problems;
}

/** Every ETCD_ENDPOINTS host is a service of this file. */
export function endpointProblems(doc: ComposeDoc): string[] {
  const all = services(doc);
  const problems: string[] = [];
  for (const [name, service] of all) {
    const endpoints = environmentOf(service).get('ETCD_ENDPOINTS');
    if (endpoints === undefined) continue;
    for (const endpoint of endpoints.split(',')) {
      let host: string;
      try {
        host = new URL(endpoint.trim()).hostname;
      } catch {
        problems.push(`service ${name}: ETCD_ENDPOINTS entry "${endpoint}" is not a URL`);
        continue;
      }
      if (!all.has(host)) problems.push(`service ${name}: ETCD_ENDPOINTS names host "${host}", which is not a service in this file`);
    }
  }
  return problems;
}

export interface DemoRegistration {
  readonly container: string;
  readonly branch: string;
  readonly service: string;
  readonly port: string;
  readonly ip: string;
  /** The whole argv after the image's ENTRYPOINT (`branch-proxy`). */
  readonly argv: readonly string[];
  readonly environment: ReadonlyMap<string, string>;
}

/** The services that run `branch-proxy register`, with the values their commands give. */
export function demoRegistrations(doc: ComposeDoc): DemoRegistration[] {
  return [...services(doc)]
    .filter(([, s]) => commandOf(s)[0] === 'register')
    .map(([container, s]) => {
      const argv = commandOf(s);
      const flag = (name: string): string => argv[argv.indexOf(name) + 1] ?? '';
      return { container, branch: flag('--branch'), service: flag('--service'), port: flag('--port'), ip: flag('--ip'), argv, environment: environmentOf(s) };
    });
}

/**
 * The demo services all run one command shape, the one test/e2e/compose-demo.test.ts runs:
 * `register --branch B --service S --port P --ip <own compose name> -- node demo/demo-service.mjs`,
 * with the demo's PORT/BRANCH/SERVICE environment agreeing with the flags.
 */
export function demoProblems(doc: ComposeDoc, repoDir: string): string[] {
  const problems: string[] = [];
  const demos = demoRegistrations(doc);
  if (demos.length === 0) return ['no demo service runs `branch-proxy register -- node demo/demo-service.mjs`'];
  const seen = new Map<string, string>();
  for (const demo of demos) {
    const { argv, container } = demo;
    const separator = argv.indexOf('--');
    const flags = argv.slice(1, separator < 0 ? argv.length : separator);
    const child = separator < 0 ? [] : argv.slice(separator + 1);
    const names = flags.filter((_, i) => i % 2 === 0);
    const required = names.slice(0, DEMO_FLAGS.length);
    if (required.join(' ') !== DEMO_FLAGS.join(' ') || flags.length % 2 !== 0 || names.slice(DEMO_FLAGS.length).some((n) => !OPTIONAL_DEMO_FLAGS.has(n))) {
      problems.push(`service ${container}: command must be \`register ${DEMO_FLAGS.map((f) => `${f} <value>`).join(' ')} -- ${DEMO_COMMAND.join(' ')}\`, got \`${argv.join(' ')}\``);
      continue;
    }
    if (child.join(' ') !== DEMO_COMMAND.join(' ')) problems.push(`service ${container}: runs \`${child.join(' ')}\` instead of \`${DEMO_COMMAND.join(' ')}\``);
    if (!existsSync(join(repoDir, DEMO_COMMAND[1]))) problems.push(`service ${container}: ${DEMO_COMMAND[1]} does not exist`);
    if (demo.ip !== container) problems.push(`service ${container}: registers --ip ${demo.ip}, but the proxy reaches it by its compose name ${container}`);
    const env = demo.environment;
    for (const [variable, value] of [['PORT', demo.port], ['BRANCH', demo.branch], ['SERVICE', demo.service]] as const) {
      if (env.get(variable) !== value) problems.push(`service ${container}: environment ${variable}=${env.get(variable) ?? '(unset)'} but register says ${value}`);
    }
    const key = `${demo.branch} ${demo.service}`;
    const twin = seen.get(key);
    if (twin) problems.push(`service ${container}: registers branch ${demo.branch} service ${demo.service} like ${twin}; one would replace the other`);
    seen.set(key, container);
  }
  return problems;
}
