import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A local stand-in for a cloud metadata service, on a free loopback port. */
export interface FakeMetadata {
  readonly url: string;
  readonly requests: { method: string; url: string; headers: IncomingMessage['headers'] }[];
  close(): Promise<void>;
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<FakeMetadata> {
  const requests: FakeMetadata['requests'] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** EC2 IMDSv2: a token from `PUT /latest/api/token`, required by every GET (401 without it, as with IMDSv1 switched off). */
export function fakeEc2Metadata(localIpv4: string): Promise<FakeMetadata> {
  const token = 'test-token-123';
  return serve((req, res) => {
    if (req.method === 'PUT' && req.url === '/latest/api/token' && req.headers['x-aws-ec2-metadata-token-ttl-seconds']) {
      res.end(token);
    } else if (req.headers['x-aws-ec2-metadata-token'] !== token) {
      res.writeHead(401).end();
    } else if (req.method === 'GET' && req.url === '/latest/meta-data/local-ipv4') {
      res.end(localIpv4);
    } else {
      res.writeHead(404).end();
    }
  });
}

/** ECS task metadata v4: `GET <base>/task` answers the given task document. */
export function fakeEcsMetadata(task: unknown): Promise<FakeMetadata> {
  return serve((req, res) => {
    if (req.url === '/v4/abc/task') res.setHeader('content-type', 'application/json').end(JSON.stringify(task));
    else res.writeHead(404).end();
  });
}

/** A bridge-mode task as the ECS agent describes it: container port 8080 published on host port 32768. */
export const BRIDGE_TASK = {
  Cluster: 'devtest',
  TaskARN: 'arn:aws:ecs:eu-west-1:123456789012:task/devtest/abc',
  Containers: [
    { Name: 'sidecar', Ports: [{ ContainerPort: 9000, Protocol: 'tcp', HostPort: 32700, HostIp: '0.0.0.0' }], Networks: [{ NetworkMode: 'bridge', IPv4Addresses: ['172.17.0.3'] }] },
    {
      Name: 'web',
      Ports: [
        { ContainerPort: 8080, Protocol: 'udp', HostPort: 40000, HostIp: '0.0.0.0' },
        { ContainerPort: 8080, Protocol: 'tcp', HostPort: 32768, HostIp: '0.0.0.0' },
      ],
      Networks: [{ NetworkMode: 'bridge', IPv4Addresses: ['172.17.0.2'] }],
    },
  ],
};
