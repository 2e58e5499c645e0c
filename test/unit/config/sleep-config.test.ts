import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../../src/config/config-error.ts';
import { describeConfig } from '../../../src/config/describe-config.ts';
import { loadServeConfig } from '../../../src/config/serve-config.ts';
import { loadSleepConfig } from '../../../src/config/sleep-config.ts';
import { SERVE_SETTINGS, SLEEP_SETTINGS } from '../../../src/config/settings.ts';
import type { SettingValues } from '../../../src/config/settings.ts';

const defaults = Object.fromEntries(SLEEP_SETTINGS.map((s) => [s.env, s.default])) as SettingValues<typeof SLEEP_SETTINGS>;
const load = (overrides: Partial<typeof defaults>) => loadSleepConfig({ ...defaults, ...overrides });
const refusal = (overrides: Partial<typeof defaults>, variable: string, pattern: RegExp) =>
  assert.throws(
    () => load(overrides),
    (err: unknown) => err instanceof ConfigError && err.variable === variable && pattern.test(err.message),
    JSON.stringify(overrides),
  );

describe('sleep settings', () => {
  test('defaults: never sleeps automatically; documented limits', () => {
    const c = load({});
    assert.equal(c.sleepAfterMs, undefined);
    assert.deepEqual(c.driver, { kind: 'command', sleepCommand: undefined, wakeCommand: undefined });
    assert.deepEqual([c.wakeTimeoutMs, c.wakeHoldMs, c.wakeHoldMaxBodyBytes], [300_000, 30_000, 1024 * 1024]);
    assert.deepEqual(c.robotsAllow, []);
    assert.ok(Object.isFrozen(c));
  });

  test('the default ignored user agents cover crawlers, unfurlers and uptime checkers, not curl or browsers', () => {
    const re = load({}).ignoreUserAgents!;
    for (const ua of ['Googlebot/2.1 (+http://www.google.com/bot.html)', 'Slackbot-LinkExpanding 1.0', 'facebookexternalhit/1.1', 'Mozilla/5.0 (compatible; UptimeRobot/2.0)', 'WhatsApp/2.23']) assert.ok(re.test(ua), ua);
    for (const ua of ['curl/8.5.0', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36', 'python-requests/2.31']) assert.ok(!re.test(ua), ua);
    assert.equal(load({ WAKE_IGNORE_USER_AGENTS: '' }).ignoreUserAgents, undefined);
  });

  test('durations and sizes with units', () => {
    const c = load({ SLEEP_AFTER: '1h30m', SLEEP_COMMAND: 'docker stop x', WAKE_COMMAND: 'docker start x', WAKE_TIMEOUT: '90s', WAKE_HOLD: '10s', WAKE_HOLD_MAX_BODY: '512k' });
    assert.deepEqual([c.sleepAfterMs, c.wakeTimeoutMs, c.wakeHoldMs, c.wakeHoldMaxBodyBytes], [5_400_000, 90_000, 10_000, 524_288]);
    assert.equal(load({ WAKE_HOLD_MAX_BODY: '0' }).wakeHoldMaxBodyBytes, 0);
    assert.equal(load({ WAKE_HOLD_MAX_BODY: '2MiB' }).wakeHoldMaxBodyBytes, 2 * 1024 * 1024);
  });

  test('each bad value names its variable and what it accepts', () => {
    refusal({ SLEEP_AFTER: '30' }, 'SLEEP_AFTER', /a duration with a unit/);
    refusal({ SLEEP_AFTER: 'soon' }, 'SLEEP_AFTER', /a duration with a unit/);
    refusal({ WAKE_TIMEOUT: '0s' }, 'WAKE_TIMEOUT', /duration/);
    refusal({ WAKE_HOLD: '-5s' }, 'WAKE_HOLD', /duration/);
    refusal({ WAKE_HOLD_MAX_BODY: '1 GiB' }, 'WAKE_HOLD_MAX_BODY', /at most 64 MiB/);
    refusal({ WAKE_HOLD_MAX_BODY: 'lots' }, 'WAKE_HOLD_MAX_BODY', /size in bytes/);
    refusal({ WAKE_IGNORE_USER_AGENTS: 'bot|(' }, 'WAKE_IGNORE_USER_AGENTS', /valid regular expression/);
    refusal({ SLEEP_DRIVER: 'k8s' }, 'SLEEP_DRIVER', /command or ecs/);
    refusal({ ROBOTS_ALLOW: 'main,Docs!' }, 'ROBOTS_ALLOW', /deployment names/);
  });

  test('SLEEP_AFTER with the command driver needs both commands', () => {
    refusal({ SLEEP_AFTER: '2h' }, 'SLEEP_COMMAND', /both SLEEP_COMMAND and WAKE_COMMAND when SLEEP_AFTER is set/);
    refusal({ SLEEP_AFTER: '2h', SLEEP_COMMAND: 'x' }, 'WAKE_COMMAND', /both/);
    assert.equal(load({ SLEEP_AFTER: '2h', SLEEP_DRIVER: 'ecs', ECS_CLUSTER: 'dev' }).sleepAfterMs, 7_200_000);
  });

  test('ECS: a cluster is required; the template must name each deployment', () => {
    refusal({ SLEEP_DRIVER: 'ecs' }, 'ECS_CLUSTER', /cluster name or ARN when SLEEP_DRIVER=ecs/);
    assert.deepEqual(load({ SLEEP_DRIVER: 'ecs', ECS_CLUSTER: 'dev' }).driver, { kind: 'ecs', cluster: 'dev', serviceTemplate: '{deployment}-{service}' });
    assert.equal(load({ SLEEP_DRIVER: 'ecs', ECS_CLUSTER: 'dev', ECS_SERVICE_TEMPLATE: 'preview_{deployment}' }).driver.kind, 'ecs');
    for (const template of ['{service}', 'shared', '{deployment}-{branch}', '{deployment}.{service}', '{deployment} {service}']) {
      refusal({ SLEEP_DRIVER: 'ecs', ECS_CLUSTER: 'dev', ECS_SERVICE_TEMPLATE: template }, 'ECS_SERVICE_TEMPLATE', /containing \{deployment\}/);
    }
  });

  test('ROBOTS_ALLOW: names or *', () => {
    assert.deepEqual(load({ ROBOTS_ALLOW: 'main, docs' }).robotsAllow, ['main', 'docs']);
    assert.equal(load({ ROBOTS_ALLOW: '*' }).robotsAllow, '*');
  });

  test('serve includes the sleep settings; the start log shows whether commands are set, never their text', () => {
    const serveDefaults = Object.fromEntries(SERVE_SETTINGS.map((s) => [s.env, s.default])) as SettingValues<typeof SERVE_SETTINGS>;
    const config = loadServeConfig({ ...serveDefaults, SLEEP_AFTER: '2h', SLEEP_COMMAND: 'curl -H "Authorization: Bearer s3cr3t-token" https://hooks.example/sleep', WAKE_COMMAND: 'true' });
    assert.equal(config.sleep.sleepAfterMs, 7_200_000);
    const logged = JSON.stringify(describeConfig(config, 8080, 8081));
    assert.ok(!logged.includes('s3cr3t'), logged);
    assert.match(logged, /"sleep":\{"sleepAfterMs":7200000,"driver":\{"kind":"command","sleepCommand":"set","wakeCommand":"set"\}/);
    assert.match(logged, /"ignoreUserAgents":"bot\|crawl/);
  });
});
