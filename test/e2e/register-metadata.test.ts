import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ec2PrivateIp } from '../../src/registration/ec2-metadata.ts';
import { ecsHostPort } from '../../src/registration/ecs-metadata.ts';
import { MetadataError } from '../../src/registration/metadata-http.ts';
import { serviceKey } from '../../src/registry/keys.ts';
import { spawnCli } from '../helpers/cli-process.ts';
import type { EtcdServer } from '../helpers/etcd.ts';
import { useEtcd } from '../helpers/etcd.ts';
import type { FakeMetadata } from '../helpers/fake-metadata.ts';
import { BRIDGE_TASK, fakeEc2Metadata, fakeEcsMetadata } from '../helpers/fake-metadata.ts';
import { freePort } from '../helpers/ports.ts';

describe('address discovery from cloud metadata', () => {
  let ec2: FakeMetadata;
  let ecs: FakeMetadata;
  before(async () => {
    ec2 = await fakeEc2Metadata('10.1.2.3');
    ecs = await fakeEcsMetadata(BRIDGE_TASK);
  });
  after(async () => {
    await ec2.close();
    await ecs.close();
  });

  test('EC2: IMDSv2 token, then local-ipv4 with it', async () => {
    assert.equal(await ec2PrivateIp(ec2.url), '10.1.2.3');
    const [put, get] = ec2.requests.slice(-2);
    assert.equal(put?.method, 'PUT');
    assert.equal(get?.headers['x-aws-ec2-metadata-token'], 'test-token-123');
  });

  test('ECS: the host port mapped to the tcp container port', async () => {
    assert.equal(await ecsHostPort(`${ecs.url}/v4/abc`, 8080), 32768);
    assert.equal(await ecsHostPort(`${ecs.url}/v4/abc/`, 9000), 32700);
    await assert.rejects(ecsHostPort(`${ecs.url}/v4/abc`, 1234), (err: Error) => err instanceof MetadataError && /no host port to container port 1234/.test(err.message));
    await assert.rejects(ecsHostPort(undefined, 8080), /ECS_CONTAINER_METADATA_URI_V4 is not set/);
  });

  test('ECS awsvpc: no mapping, the container port is the port', async () => {
    const awsvpc = await fakeEcsMetadata({ Containers: [{ Name: 'web', Networks: [{ NetworkMode: 'awsvpc', IPv4Addresses: ['10.0.5.6'] }] }] });
    try {
      assert.equal(await ecsHostPort(`${awsvpc.url}/v4/abc`, 8080), 8080);
    } finally {
      await awsvpc.close();
    }
  });

  test('an unreachable metadata service is a clear error, not a hang', async () => {
    const port = await freePort();
    await assert.rejects(ec2PrivateIp(`http://127.0.0.1:${port}`), (err: Error) => err instanceof MetadataError && err.message.includes(`127.0.0.1:${port}/latest/api/token`));
  });

  describe('register --ip ec2 --port-from ecs', () => {
    const etcd = useEtcd();

    test('registers the discovered address and host port', async () => {
      const p = spawnCli(['register', '--deployment', 'cloud', '--service', 'web', '--ip', 'ec2', '--port-from', 'ecs', '--container-port', '8080', '--ttl', '2'], {
        ETCD_ENDPOINTS: etcd.endpoint,
        EC2_METADATA_URL: ec2.url,
        ECS_CONTAINER_METADATA_URI_V4: `${ecs.url}/v4/abc`,
      });
      try {
        await p.waitForEvent('registered');
        assert.equal(await etcd.client.get(serviceKey('/deployment/', 'cloud', 'web', 'ip')).string(), '10.1.2.3');
        assert.equal(await etcd.client.get(serviceKey('/deployment/', 'cloud', 'web', 'port')).string(), '32768');
        p.kill('SIGTERM');
        assert.equal(await p.waitExit(), 0);
      } finally {
        p.kill('SIGKILL');
      }
    });

    test('no metadata service: exits 1 with the reason, registers nothing', async () => {
      const p = spawnCli(['register', '--deployment', 'nocloud', '--service', 'web', '--ip', 'ec2', '--port', '80'], {
        ETCD_ENDPOINTS: etcd.endpoint,
        EC2_METADATA_URL: `http://127.0.0.1:${await freePort()}`,
      });
      assert.equal(await p.waitExit(), 1, p.output());
      const fatal = p.logs.find((l) => l.event === 'address-not-found');
      assert.match(String(fatal?.err), /latest\/api\/token failed/);
    });
  });
});
