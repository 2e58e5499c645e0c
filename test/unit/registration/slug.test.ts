import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DNS_LABEL } from '../../../src/config/parsers.ts';
import { checkDeploymentName, checkServiceName, MAX_SLUG_LENGTH, slugify, SlugError } from '../../../src/registration/slug.ts';

describe('slugify', () => {
  test('lowercases, turns every run outside [a-z0-9] into one dash, trims dashes', () => {
    assert.equal(slugify('__Foo..Bar__'), 'foo-bar');
    assert.equal(slugify('main'), 'main');
    assert.equal(slugify('feature/JIRA-123_Login page'), 'feature-jira-123-login-page');
    assert.equal(slugify('release/2026.11'), 'release-2026-11');
    assert.equal(slugify('--a//b--'), 'a-b');
    assert.equal(slugify('Ünïcode/Bräнch'), 'n-code-br-ch');
  });

  test('only ASCII letters are lowercased, as in the shell script', () => {
    assert.equal(slugify('\u212Aelvin'), 'elvin', 'the Kelvin sign is not a k');
    assert.equal(slugify('İstanbul'), 'stanbul');
  });

  test('no letters or digits is an error that names the branch', () => {
    for (const branch of ['', '---', '__/__', '😀']) {
      assert.throws(() => slugify(branch), (err: Error) => err instanceof SlugError && err.message.includes(JSON.stringify(branch)));
    }
  });

  test('40 characters stay as they are; longer ones end with a hash of the raw name', () => {
    assert.equal(slugify('a'.repeat(40)), 'a'.repeat(40));
    const long = slugify('a'.repeat(41));
    assert.equal(long.length, MAX_SLUG_LENGTH);
    assert.match(long, /^a{31}-[0-9a-f]{8}$/);
  });

  test('shortening is deterministic and keeps distinct long branches distinct', () => {
    const a = 'feature/a-very-long-branch-name-that-goes-on-and-on-forever';
    assert.equal(slugify(a), slugify(a));
    assert.notEqual(slugify(a), slugify(`${a}-2`));
    // same slug before shortening, different raw names: still different
    assert.notEqual(slugify(`${a}/X`), slugify(`${a}_x`));
  });

  test('a dash at the cut is dropped, and every result is a DNS label', () => {
    const slug = slugify(`${'x'.repeat(30)}--${'y'.repeat(20)}`);
    assert.match(slug, /^x{30}-[0-9a-f]{8}$/);
    for (const branch of ['a'.repeat(100), `${'ab-'.repeat(30)}`, 'Z9'.repeat(33)]) assert.match(slugify(branch), DNS_LABEL);
  });
});

describe('deployment and service names', () => {
  test('--deployment must already be a slug', () => {
    assert.equal(checkDeploymentName('feature-x'), 'feature-x');
    for (const bad of ['Feature', 'a_b', '-a', 'a-', 'a'.repeat(41), '']) assert.throws(() => checkDeploymentName(bad), SlugError, bad);
  });

  test('<deployment>-<service> must fit one 63-character DNS label', () => {
    assert.equal(checkServiceName('d'.repeat(40), 's'.repeat(22)), 's'.repeat(22));
    assert.throws(() => checkServiceName('d'.repeat(40), 's'.repeat(23)), /longer than a DNS label/);
    assert.throws(() => checkServiceName('main', 'Web'), /not a service name/);
  });
});
