import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EcsDriver } from '../../src/sleep/ecs-driver.ts';
import { SleepStepError } from '../../src/sleep/driver.ts';
import type { FakeEcs } from '../helpers/fake-ecs.ts';
import { startFakeEcs } from '../helpers/fake-ecs.ts';

/** The calls without their headers, for exact comparison. */
const calls = (ecs: FakeEcs) => ecs.calls.map(({ action, input }) => ({ action, input }));

describe('ECS driver against an endpoint speaking ECS JSON (awsJson1_1)', () => {
  let ecs: FakeEcs;
  const saved = { ...process.env };
  before(async () => {
    ecs = await startFakeEcs({ 'feature-x-web': 2, 'feature-x-api': 1, 'feature-x': 3 });
    // The way it runs in production: region, credentials and endpoint from the environment.
    Object.assign(process.env, { AWS_ENDPOINT_URL_ECS: ecs.url, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIDEXAMPLETEST', AWS_SECRET_ACCESS_KEY: 'dummy-secret' });
    delete process.env.AWS_PROFILE;
  });
  after(async () => {
    for (const key of ['AWS_ENDPOINT_URL_ECS', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_PROFILE']) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
    await ecs?.close();
  });

  test('sleep reads the desired counts and sets them to 0; wake restores them', async () => {
    ecs.calls.length = 0;
    const driver = new EcsDriver({ cluster: 'dev', serviceTemplate: '{deployment}-{service}' });
    const target = { deployment: 'feature-x', services: ['web', 'api'] };
    const outcome = await driver.sleep(target);
    assert.deepEqual(outcome, { ecs: { desiredCounts: { 'feature-x-web': 2, 'feature-x-api': 1 } } });
    assert.deepEqual(calls(ecs), [
      { action: 'DescribeServices', input: { cluster: 'dev', services: ['feature-x-web', 'feature-x-api'] } },
      { action: 'UpdateService', input: { cluster: 'dev', service: 'feature-x-web', desiredCount: 0 } },
      { action: 'UpdateService', input: { cluster: 'dev', service: 'feature-x-api', desiredCount: 0 } },
    ]);
    const { headers } = ecs.calls[0]!;
    assert.equal(headers['content-type'], 'application/x-amz-json-1.1');
    assert.match(String(headers.authorization), /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLETEST\/\d{8}\/us-east-1\/ecs\/aws4_request/);
    assert.deepEqual(Object.fromEntries(ecs.services), { 'feature-x-web': 0, 'feature-x-api': 0, 'feature-x': 3 });

    ecs.calls.length = 0;
    await driver.wake(target, { state: 'waking', since: '2026-01-30T10:00:00Z', services: ['web', 'api'], ...outcome });
    assert.deepEqual(calls(ecs), [
      { action: 'UpdateService', input: { cluster: 'dev', service: 'feature-x-web', desiredCount: 2 } },
      { action: 'UpdateService', input: { cluster: 'dev', service: 'feature-x-api', desiredCount: 1 } },
    ]);
    assert.deepEqual(Object.fromEntries(ecs.services), { 'feature-x-web': 2, 'feature-x-api': 1, 'feature-x': 3 });
  });

  test('a template without {service} names one ECS service for the whole deployment; unknown counts wake to 1', async () => {
    ecs.calls.length = 0;
    const driver = new EcsDriver({ cluster: 'arn:aws:ecs:us-east-1:123456789012:cluster/dev', serviceTemplate: '{deployment}' });
    const target = { deployment: 'feature-x', services: ['web', 'api'] };
    assert.deepEqual(await driver.sleep(target), { ecs: { desiredCounts: { 'feature-x': 3 } } });
    ecs.calls.length = 0;
    await driver.wake(target, { state: 'waking', since: '2026-01-30T10:00:00Z', services: ['web', 'api'] });
    assert.deepEqual(calls(ecs), [{ action: 'UpdateService', input: { cluster: 'arn:aws:ecs:us-east-1:123456789012:cluster/dev', service: 'feature-x', desiredCount: 1 } }]);
  });

  test('a missing service fails the sleep before anything is scaled down', async () => {
    ecs.calls.length = 0;
    const driver = new EcsDriver({ cluster: 'dev', serviceTemplate: '{deployment}-{service}' });
    await assert.rejects(driver.sleep({ deployment: 'feature-x', services: ['web', 'worker'] }), (err: unknown) => {
      assert.ok(err instanceof SleepStepError);
      assert.match(err.message, /feature-x-worker in cluster dev: MISSING \(check ECS_CLUSTER and ECS_SERVICE_TEMPLATE\)/);
      assert.equal(err.summary, 'ECS DescribeServices failed (MISSING)');
      return true;
    });
    assert.deepEqual(ecs.calls.map((c) => c.action), ['DescribeServices']);
  });

  test('an AWS error (missing IAM permission) fails the step, named in the message', async () => {
    const driver = new EcsDriver({ cluster: 'dev', serviceTemplate: '{deployment}-{service}' });
    ecs.failNext('UpdateService', 'AccessDeniedException');
    await assert.rejects(driver.wake({ deployment: 'feature-x', services: ['web'] }, { state: 'waking', since: '2026-01-30T10:00:00Z', services: ['web'] }), (err: unknown) => {
      assert.ok(err instanceof SleepStepError);
      assert.equal(err.step, 'wake');
      assert.match(err.message, /^ECS UpdateService of feature-x-web in cluster dev failed: AccessDeniedException/);
      assert.equal(err.summary, 'ECS UpdateService failed (AccessDeniedException)');
      return true;
    });
  });
});
