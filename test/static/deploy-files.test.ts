/**
 * Static checks of the Dockerfile and k8s-free-compose.yml (no Docker engine on CI):
 * `npm run check:deploy`. Each case names the file and the rule; a failure lists
 * every problem found, one per line. The last cases feed the rules known mistakes,
 * so a rule that stopped finding anything fails here too.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadComposeFile, parseCompose } from './compose-file.ts';
import type { ComposeDoc } from './compose-file.ts';
import * as compose from './compose-rules.ts';
import { schemaProblems } from './compose-schema.ts';
import * as docker from './dockerfile-rules.ts';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { files: string[]; bin: Record<string, string> };
const composePath = join(repo, 'k8s-free-compose.yml');
const loaded = loadComposeFile(composePath);
const dockerfileText = readFileSync(join(repo, 'Dockerfile'), 'utf8');
const dockerfile = docker.parseDockerfile(dockerfileText);
const context = docker.readBuildContext(repo);

function noProblems(problems: string[]): void {
  assert.deepEqual(problems, [], `\n  ${problems.join('\n  ')}\n`);
}

for (const [variant, file] of [['k8s-free-compose.yml', loaded.main], ['k8s-free-compose.yml, commented cluster variant', loaded.variant]] as const) {
  describe(variant, () => {
    test('parses as YAML (merge keys, no duplicate keys)', () => noProblems(file.problems));
    test('follows the Compose Specification schema', () => noProblems(schemaProblems(file.doc, variant)));
    test('depends_on names services, and waits for health only where a healthcheck exists', () => noProblems(compose.dependencyProblems(file.doc)));
    test('mounts only declared named volumes, and declares none it does not use', () => noProblems(compose.volumeProblems(file.doc)));
    test('joins only declared networks', () => noProblems(compose.networkProblems(file.doc)));
    test('uses only images it builds or pinned external ones (etcd 3.5 or newer)', () => noProblems(compose.imageProblems(file.doc, repo)));
    test("etcd's data dir is on a named volume", () => noProblems(compose.etcdProblems(file.doc)));
    test('every service has a healthcheck on a port it listens on', () => noProblems(compose.healthcheckProblems(file.doc)));
    test('published host ports are valid and not taken twice', () => noProblems(compose.portProblems(file.doc)));
    test('the proxy serves dev.localhost on host port 80', () => noProblems(compose.proxyProblems(file.doc)));
    test('ETCD_ENDPOINTS name etcd services of this file', () => noProblems(compose.endpointProblems(file.doc)));
    test('demo services register themselves with the one command shape the e2e test runs', () => noProblems(compose.demoProblems(file.doc, repo)));
    test('two branch deployments, main and feature/login, each with web and api', () => {
      const pairs = compose.demoRegistrations(file.doc).map((d) => `${d.branch} ${d.service}`).sort();
      assert.deepEqual(pairs, ['feature/login api', 'feature/login web', 'main api', 'main web']);
    });
  });
}

describe('Dockerfile', () => {
  test('has no syntax or instruction errors', () => noProblems(docker.syntaxProblems(dockerfileText)));
  test('every COPY source exists in the build context; every --from names an earlier stage', () => noProblems(docker.copyProblems(dockerfile, context)));
  test('builds on Node 24', () => noProblems(docker.baseImageProblems(dockerfile)));
  test('runtime: non-root, EXPOSE 8080 8081, HEALTHCHECK /healthz, ENTRYPOINT branch-proxy, CMD serve', () => {
    noProblems(docker.runtimeProblems(dockerfile, pkg.bin['branch-proxy']!));
  });
  test('.dockerignore sends what `npm pack` needs and nothing of node_modules, dist or .git', () => {
    const { outDir } = (JSON.parse(readFileSync(join(repo, 'tsconfig.build.json'), 'utf8')) as { compilerOptions: { outDir: string } }).compilerOptions;
    noProblems(docker.contextProblems(context, repo, pkg.files, outDir));
  });
});

describe('the rules catch known mistakes', () => {
  const broken = (yaml: string): ComposeDoc => {
    const parsed = parseCompose(yaml, 'fixture');
    assert.deepEqual(parsed.problems, []);
    return parsed.doc;
  };

  test('a misspelt key and an unknown depends_on condition', () => {
    const doc = broken('services:\n  a:\n    image: x:1\n    healthcheck: {test: [CMD, "true"], intervall: 5s}\n    depends_on: {b: {condition: service_healty}}\n  b: {image: y:1}\n');
    const problems = schemaProblems(doc, 'fixture').join('\n');
    assert.match(problems, /unknown key "intervall"/);
    assert.match(problems, /condition: must be one of/);
  });

  test('a duplicate key is a parse error', () => {
    assert.match(parseCompose('services:\n  a: {image: x:1}\n  a: {image: y:1}\n', 'fixture').problems.join('\n'), /unique|duplicate/i);
  });

  test('missing services, volumes, healthchecks and unpinned images', () => {
    const doc = broken(
      'services:\n  a:\n    image: redis\n    volumes: [data:/d]\n    depends_on: {b: {condition: service_healthy}, c: {condition: service_started}}\n' +
        '  b: {image: quay.io/coreos/etcd:v3.4.30}\nvolumes:\n  unused: {}\n',
    );
    assert.deepEqual(compose.dependencyProblems(doc), [
      'service a: waits for b to be healthy, but b has no healthcheck',
      'service a: depends_on names "c", which is not a service in this file',
    ]);
    assert.deepEqual(compose.volumeProblems(doc), [
      'service a: mounts volume "data", which the top-level volumes: does not declare',
      'volume unused: declared but no service mounts it',
    ]);
    assert.match(compose.imageProblems(doc, repo).join('\n'), /image redis is not built in this file and not pinned/);
    assert.match(compose.imageProblems(doc, repo).join('\n'), /older than etcd 3\.5/);
    assert.equal(compose.healthcheckProblems(doc).length, 2);
    assert.deepEqual(compose.etcdProblems(broken('services:\n  e:\n    image: quay.io/coreos/etcd:v3.6.1\n    command: [etcd, --data-dir=/data]\n    volumes: [d:/var/lib/etcd]\n')), [
      'service e: data dir /data is not on a named volume',
    ]);
  });

  test('a demo whose flags, address or environment disagree', () => {
    const doc = broken(
      'services:\n  main-web:\n    image: i:1\n    command: [register, --branch, main, --service, web, --port, "3000", --ip, other, --, node, demo/demo-service.mjs]\n' +
        '    environment: {PORT: "3001", BRANCH: main, SERVICE: web}\n' +
        '  main-api:\n    image: i:1\n    command: [register, --service, api, --branch, main, --port, "3000", --ip, main-api, --, node, demo/demo-service.mjs]\n',
    );
    const problems = compose.demoProblems(doc, repo).join('\n');
    assert.match(problems, /main-web: registers --ip other, but the proxy reaches it by its compose name main-web/);
    assert.match(problems, /main-web: environment PORT=3001 but register says 3000/);
    assert.match(problems, /main-api: command must be `register --branch <value> --service <value> --port <value> --ip <value> -- node demo\/demo-service.mjs`/);
  });

  test('a proxy not on port 80 and a port taken twice', () => {
    const doc = broken(
      'services:\n  proxy:\n    build: .\n    image: bp:local\n    ports: ["8080:8080"]\n    environment: {BASE_DOMAIN: dev.example.com}\n' +
        '  other:\n    image: bp:local\n    command: [register]\n    ports: ["8080:3000"]\n',
    );
    assert.match(compose.proxyProblems(doc).join('\n'), /does not publish host port 80/);
    assert.match(compose.proxyProblems(doc).join('\n'), /does not include dev\.localhost/);
    assert.deepEqual(compose.portProblems(doc), ['service other: host port 8080 is already published by proxy']);
  });

  test('a Dockerfile with a missing COPY source, an unknown stage, root user and the wrong entrypoint', () => {
    const text = 'FROM node:22-slim AS build\nCOPY nothing-here ./\nCOPY node_modules ./\nFROM node:24-slim\nCOPY --from=bild /x /x\nENTRYPOINT node dist/cli/main.js\n';
    const df = docker.parseDockerfile(text);
    const problems = docker.copyProblems(df, context);
    assert.match(problems.join('\n'), /Dockerfile:2: COPY nothing-here: no such file or directory/);
    assert.match(problems.join('\n'), /Dockerfile:3: COPY node_modules: exists but \.dockerignore leaves it out/);
    assert.match(problems.join('\n'), /Dockerfile:5: COPY --from=bild names no earlier stage/);
    assert.match(docker.baseImageProblems(df).join('\n'), /FROM node:22-slim is not a Node 24 image/);
    const runtime = docker.runtimeProblems(df, pkg.bin['branch-proxy']!).join('\n');
    for (const expected of [/runs as root/, /EXPOSE PORT/, /HEALTHCHECK/, /ENTRYPOINT must be/, /CMD must be/]) assert.match(runtime, expected);
  });

  test('a syntax error', () => {
    assert.match(docker.syntaxProblems('FROM node:24-alpine\nCOPPY a b\n').join('\n'), /Dockerfile:2/);
  });
});
