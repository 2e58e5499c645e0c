import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

// semver ships no types; these are the two calls used.
const semver = createRequire(import.meta.url)('semver') as {
  minVersion(range: string): { version: string } | null;
  satisfies(version: string, range: string): boolean;
};

interface LockEntry {
  version?: string;
  engines?: { node?: string } | string[];
  hasInstallScript?: boolean;
}
const read = <T>(file: string): T => JSON.parse(readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8')) as T;
const pkg = read<{ engines: { node: string }; allowScripts?: Record<string, boolean> }>('package.json');
const lock = read<{ packages: Record<string, LockEntry> }>('package-lock.json');
const installed = Object.entries(lock.packages)
  .filter(([path]) => path !== '')
  .map(([path, entry]) => ({ name: path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length), entry }));

// Regression: `npm install` on Node 20 printed EBADENGINE (cookie@2 through fastify's
// light-my-request) and install-script notices (esbuild, protobufjs) to a newcomer.
describe('npm install prints no warnings', () => {
  test('every locked package accepts the oldest Node that package.json allows', () => {
    const oldest = semver.minVersion(pkg.engines.node)!.version;
    const refusing = installed
      .filter(({ entry }) => !Array.isArray(entry.engines) && entry.engines?.node !== undefined && !semver.satisfies(oldest, entry.engines.node))
      .map(({ name, entry }) => `${name}@${entry.version} (node ${(entry.engines as { node: string }).node})`);
    assert.deepEqual(refusing, [], `these refuse Node ${oldest}: pin a version that accepts it in package.json "overrides"`);
  });

  test('every locked package with an install script is reviewed in allowScripts', () => {
    const reviewed = pkg.allowScripts ?? {};
    const unreviewed = installed
      .filter(({ name, entry }) => entry.hasInstallScript && reviewed[name] === undefined && reviewed[`${name}@${entry.version}`] === undefined)
      .map(({ name, entry }) => `${name}@${entry.version}`);
    assert.deepEqual(unreviewed, [], 'review their scripts, then `npm install-scripts approve <pkg>` (or `deny`)');
  });
});
