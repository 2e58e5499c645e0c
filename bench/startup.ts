/**
 * Start-up A/B: time from spawn to /readyz with N routes (default WORKERS), starts
 * alternating between built checkouts, medians printed. For changes to the start-up
 * path, which `npm run bench -- --only scale` measures only for this checkout:
 *   node --import tsx bench/startup.ts <routes> <starts> <checkout> [<checkout> ...]
 */
import { startEtcd } from '../test/helpers/etcd.ts';
import { writeRoutes } from './scale.ts';
import { startBranchProxy, startNodeBackend } from './lib/targets.ts';
import { median } from './lib/stats.ts';

const routes = Number(process.argv[2] ?? 100_000);
const starts = Number(process.argv[3] ?? 3);
const checkouts = process.argv.slice(4);
if (checkouts.length === 0) checkouts.push(process.cwd());
const etcd = await startEtcd();
const backend = await startNodeBackend();
await writeRoutes(etcd, '/startup/', routes, backend.port);
const ready = checkouts.map(() => [] as number[]);
for (let i = 0; i < starts; i++) {
  for (const [c, checkout] of checkouts.entries()) {
    const began = performance.now();
    const p = await startBranchProxy(etcd.endpoint, { name: `probe-${c}-${i}`, checkout, env: { REGISTRY_PREFIX: '/startup/', WORKERS: 'auto' } });
    ready[c]!.push(performance.now() - began);
    await p.stop();
  }
}
for (const [c, checkout] of checkouts.entries()) console.log(`${checkout}: ready median ${median(ready[c]!).toFixed(0)} ms (${ready[c]!.map((r) => r.toFixed(0)).join(' ')})`);
await backend.stop();
await etcd.destroy();
