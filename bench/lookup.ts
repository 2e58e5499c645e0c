/**
 * Route lookup microbenchmark (issue #14): what FALLBACK_DEPLOYMENT costs on the
 * request path at 100,000 routes. Pure CPU, no I/O; run it on an idle machine:
 *
 *   node --import tsx bench/lookup.ts [--routes 100000] [--rounds 9] [--lookups 1000000]
 *
 * Rounds alternate A and B on the same table and labels, so drift (CPU boost,
 * noisy neighbours) hits both alike; the medians of CPU time per lookup are compared.
 *   direct:   `<branch>-web` hosts the branch serves itself, fallback off vs on
 *   fallback: `<branch>-api` hosts main serves through the fallback, against the
 *             same hosts without fallback (a 404 resolution: the splits are scanned either way)
 */
import { parseArgs } from 'node:util';
import { RouteTable } from '../src/routing/route-table.ts';
import { median } from './lib/stats.ts';

const { values } = parseArgs({ options: { routes: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '15' }, lookups: { type: 'string', default: '500000' } } });
const ROUTES = Number(values.routes);
const ROUNDS = Number(values.rounds);
const LOOKUPS = Number(values.lookups);
const MAIN_SERVICES = ['web', 'api', 'auth', 'search', 'worker', 'docs', 'admin', 'billing'];

// Dash-heavy branch names, as slugs of `feature/<team>-<ticket>-<words>` look.
const table = new RouteTable();
for (const service of MAIN_SERVICES) {
  table.set({ deployment: 'main', service, field: 'ip' }, '10.0.0.1');
  table.set({ deployment: 'main', service, field: 'port' }, 8000 + MAIN_SERVICES.indexOf(service));
}
const branches: string[] = [];
for (let i = 0; branches.length * 1 + MAIN_SERVICES.length < ROUTES; i++) {
  const name = `feature-team${i % 97}-t${i}-login-page`;
  branches.push(name);
  table.set({ deployment: name, service: 'web', field: 'ip' }, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  table.set({ deployment: name, service: 'web', field: 'port' }, 8080);
}

/** A spread of labels, so Map lookups miss the CPU cache the way real traffic would. */
const SAMPLE = 4096;
const pick = (suffix: string): string[] => Array.from({ length: SAMPLE }, (_, k) => `${branches[(k * 7919) % branches.length]!}-${suffix}`);
const directLabels = pick('web');
const fallbackLabels = pick('api');

let sink = 0;
/** CPU time per lookup, in ns: on a shared machine, wall time mostly measures the neighbours. */
function run(labels: readonly string[], fallback: string | undefined): number {
  const start = process.cpuUsage();
  for (let n = 0; n < LOOKUPS; n++) {
    const r = table.resolve(labels[n & (SAMPLE - 1)]!, 'web', fallback);
    sink += r.kind === 'route' ? r.target.port : 1;
  }
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1000) / LOOKUPS;
}

function compare(what: string, labels: readonly string[]): { off: number; on: number } {
  const off: number[] = [];
  const on: number[] = [];
  for (let i = 0; i < 2; i++) run(labels, i ? 'main' : undefined); // warm-up: optimised code for both
  for (let i = 0; i < ROUNDS; i++) {
    // Alternate which goes first, so neither always runs on a warmer CPU.
    if (i % 2) {
      on.push(run(labels, 'main'));
      off.push(run(labels, undefined));
    } else {
      off.push(run(labels, undefined));
      on.push(run(labels, 'main'));
    }
  }
  const result = { off: median(off), on: median(on) };
  console.log(
    `${what.padEnd(9)} fallback off ${result.off.toFixed(1)} ns/lookup, on ${result.on.toFixed(1)} ns/lookup: ${(((result.on - result.off) / result.off) * 100).toFixed(1)}% ` +
      `(median of ${ROUNDS} rounds of ${LOOKUPS.toLocaleString('en')}; off runs ${off.map((v) => v.toFixed(0)).join('/')}, on ${on.map((v) => v.toFixed(0)).join('/')})`,
  );
  return result;
}

console.log(`${table.routeCount.toLocaleString('en')} routes in ${table.deployments.size.toLocaleString('en')} deployments; Node ${process.version}`);
const check = table.resolve(fallbackLabels[0]!, 'web', 'main');
if (check.kind !== 'route' || check.servedBy?.name !== 'main') throw new Error('fallback labels do not resolve through main: the benchmark measures the wrong thing');
compare('direct', directLabels);
compare('fallback', fallbackLabels);
if (sink === 0) console.log('');
