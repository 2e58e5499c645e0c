import { Agent, request } from 'node:http';
import { serviceKey } from '../src/registry/keys.ts';
import type { EtcdServer } from '../test/helpers/etcd.ts';
import { median, percentile } from './lib/stats.ts';
import { startBranchProxy, startNodeBackend } from './lib/targets.ts';

export interface PropagationResult {
  samples: number;
  medianMs: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function status(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ port, host: '127.0.0.1', path: '/', headers: { host, accept: 'application/json' }, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** etcd put acknowledged -> first 200 through the proxy, for brand-new deployments. */
export async function propagation(etcd: EtcdServer, o: { samples: number }, log: (line: string) => void): Promise<PropagationResult> {
  const backend = await startNodeBackend();
  const proxy = await startBranchProxy(etcd.endpoint, { name: 'branch-proxy (propagation)' });
  try {
    const times: number[] = [];
    for (let i = 0; i < o.samples; i++) {
      const deployment = `prop-${Date.now().toString(36)}-${i}`;
      const host = `${deployment}.dev.localhost`;
      await etcd.client
        .if(serviceKey('/deployment/', deployment, 'web', 'ip'), 'Create', '==', 0)
        .then(
          etcd.client.put(serviceKey('/deployment/', deployment, 'web', 'ip')).value('127.0.0.1'),
          etcd.client.put(serviceKey('/deployment/', deployment, 'web', 'port')).value(String(backend.port)),
        )
        .commit();
      const acked = performance.now();
      while ((await status(proxy.port, host)) !== 200) {
        if (performance.now() - acked > 5000) throw new Error(`${host} not routed 5 s after the put (last status ${await status(proxy.port, host)})`);
      }
      times.push(performance.now() - acked);
    }
    const result = { samples: times.length, medianMs: median(times), p90Ms: percentile(times, 90), p99Ms: percentile(times, 99), maxMs: Math.max(...times) };
    log(`put -> first 200: median ${result.medianMs.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, max ${result.maxMs.toFixed(2)} ms over ${times.length}`);
    return result;
  } finally {
    await proxy.stop();
    await backend.stop();
  }
}
