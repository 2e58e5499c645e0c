import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One call the fake received: the action from X-Amz-Target and the JSON input. */
export interface EcsCall {
  readonly action: string;
  readonly input: Record<string, unknown>;
  readonly headers: IncomingHttpHeaders;
}

export interface FakeEcs {
  readonly url: string;
  readonly calls: EcsCall[];
  /** Desired count per ECS service name; unknown names are MISSING. */
  readonly services: Map<string, number>;
  /** Makes the next calls of an action fail with this AWS error type (e.g. AccessDeniedException). */
  failNext(action: string, type: string): void;
  close(): Promise<void>;
}

const TARGET_PREFIX = 'AmazonEC2ContainerServiceV20141113.';

/**
 * A local endpoint that speaks the ECS API's JSON protocol (awsJson1_1: POST /,
 * `X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Action>`), for the two
 * actions the ECS driver uses. The SDK reaches it through its endpoint override.
 */
export async function startFakeEcs(services: Record<string, number>): Promise<FakeEcs> {
  const calls: EcsCall[] = [];
  const state = new Map(Object.entries(services));
  const failures = new Map<string, string>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const action = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : target;
      const input = JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown>;
      calls.push({ action, input, headers: req.headers });
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': `req-${calls.length}` });
        res.end(JSON.stringify(body));
      };
      const failure = failures.get(action);
      if (req.method !== 'POST' || req.url !== '/') return send(404, { __type: 'UnknownOperationException' });
      if (failure) return send(400, { __type: failure, message: `${failure} for ${action}` });
      const cluster = String(input.cluster);
      const arn = (name: string) => `arn:aws:ecs:us-east-1:123456789012:service/${cluster}/${name}`;
      if (action === 'DescribeServices') {
        const names = input.services as string[];
        return send(200, {
          services: names.filter((n) => state.has(n)).map((n) => ({ serviceName: n, serviceArn: arn(n), clusterArn: cluster, desiredCount: state.get(n), status: 'ACTIVE' })),
          failures: names.filter((n) => !state.has(n)).map((n) => ({ arn: arn(n), reason: 'MISSING' })),
        });
      }
      if (action === 'UpdateService') {
        const name = String(input.service);
        if (!state.has(name)) return send(400, { __type: 'ServiceNotFoundException', message: 'Service not found.' });
        state.set(name, Number(input.desiredCount));
        return send(200, { service: { serviceName: name, serviceArn: arn(name), desiredCount: state.get(name), status: 'ACTIVE' } });
      }
      send(400, { __type: 'UnknownOperationException', message: action });
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    services: state,
    failNext: (action, type) => failures.set(action, type),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
