/**
 * The pipeline examples in docs/examples/ and the commands in docs/*.md stay runnable:
 * the YAML parses, the pipeline structure refers only to jobs and stages that exist,
 * and every `branch-proxy <command> --flag` they show is a command and flag the CLI has.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseCompose } from './compose-file.ts';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const docs = join(repo, 'docs');
const read = (path: string): string => readFileSync(join(repo, path), 'utf8');
type Doc = Record<string, unknown>;
const record = (v: unknown): Doc => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Doc) : {});

/**
 * `branch-proxy <command> ...` as written in shell, YAML or JSON-array form; also through
 * the image (`"$BRANCH_PROXY_IMAGE" deregister ...`) or the examples' `bp` shell function.
 */
function cliInvocations(text: string): { command: string; flags: string[]; line: string }[] {
  const flat = text.replace(/"\s*,\s*"/g, ' ').replace(/\\\n\s*/g, ' ');
  const found: { command: string; flags: string[]; line: string }[] = [];
  const pattern = /(?:\bbranch-proxy|\bbp|\$BRANCH_PROXY_IMAGE"?)\s+(register|url|ls|deregister|prune|serve|share|sleep|wake)\b([^\n|;&)`]*)/g;
  for (const m of flat.matchAll(pattern)) {
    const args = (m[2] ?? '').split(/\s--\s/)[0] ?? ''; // after `--` comes the wrapped command's own flags
    found.push({ command: m[1]!, flags: [...args.matchAll(/(?<![\w-])--[a-z][a-z-]*/g)].map((f) => f[0]), line: m[0].trim() });
  }
  return found;
}

const helpCache = new Map<string, { help: string; error?: string }>();
/** `branch-proxy <command> --help`, run from the sources; `error` when the command is unknown or the CLI does not start. */
function helpOf(command: string): { help: string; error?: string } {
  let result = helpCache.get(command);
  if (result === undefined) {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', command, '--help'], { cwd: repo, encoding: 'utf8', timeout: 30_000 });
    const firstError = run.stderr.split('\n').find((l) => l.trim() !== '') ?? `exit ${run.status}`;
    // For an unknown command commander prints the program's help instead of the command's.
    if (run.status === 0) result = run.stdout.startsWith(`Usage: branch-proxy ${command} `) ? { help: run.stdout } : { help: '', error: `branch-proxy has no command "${command}"` };
    else result = { help: '', error: `\`branch-proxy ${command} --help\` failed: ${firstError}` };
    helpCache.set(command, result);
  }
  return result;
}

function cliProblems(label: string, text: string): string[] {
  const problems: string[] = [];
  for (const { command, flags, line } of cliInvocations(text)) {
    const { help, error } = helpOf(command);
    if (error !== undefined) {
      problems.push(`${label}: \`${line}\`: ${error}`);
      continue;
    }
    for (const flag of flags) {
      if (!new RegExp(`(^|[\\s,])${flag}\\b`, 'm').test(help)) problems.push(`${label}: \`${line}\`: ${command} has no option ${flag}`);
    }
  }
  return problems;
}

function yamlOf(path: string): Doc {
  const parsed = parseCompose(read(path), path);
  assert.deepEqual(parsed.problems, []);
  return parsed.doc;
}

describe('docs/examples/github-actions.yml', () => {
  const doc = yamlOf('docs/examples/github-actions.yml');
  const jobs = record(doc.jobs);

  test('parses, and every job has runs-on and steps that run or use something', () => {
    assert.ok(Object.keys(jobs).length > 0, 'no jobs');
    for (const [name, job] of Object.entries(jobs).map(([n, j]) => [n, record(j)] as const)) {
      assert.ok(job['runs-on'], `job ${name}: no runs-on`);
      assert.ok(Array.isArray(job.steps) && job.steps.length > 0, `job ${name}: no steps`);
      for (const step of job.steps as unknown[]) assert.ok(record(step).run || record(step).uses, `job ${name}: a step neither runs nor uses anything`);
    }
  });

  test('needs names jobs of the workflow', () => {
    for (const [name, job] of Object.entries(jobs)) {
      const needs = record(job).needs;
      for (const need of Array.isArray(needs) ? needs : needs === undefined ? [] : [needs]) assert.ok(String(need) in jobs, `job ${name}: needs unknown job ${String(need)}`);
    }
  });

  test('runs on push, branch deletion and a schedule', () => {
    assert.deepEqual(Object.keys(record(doc.on)).filter((e) => ['push', 'delete', 'schedule'].includes(e)).sort(), ['delete', 'push', 'schedule']);
  });
});

describe('docs/examples/gitlab-ci.yml', () => {
  const doc = yamlOf('docs/examples/gitlab-ci.yml');
  const reserved = new Set(['variables', 'stages', 'workflow', 'default', 'include', 'image', 'services', 'cache', 'before_script', 'after_script']);
  const jobs = Object.fromEntries(Object.entries(doc).filter(([k]) => !reserved.has(k)).map(([k, v]) => [k, record(v)]));
  const stages = (doc.stages as string[] | undefined) ?? ['build', 'test', 'deploy'];

  test('parses, and every job has a script (itself or through extends) in a declared stage', () => {
    for (const [name, job] of Object.entries(jobs)) {
      if (name.startsWith('.')) continue;
      const base = job.extends === undefined ? {} : (jobs[String(job.extends)] ?? {});
      assert.ok(job.script ?? base.script, `job ${name}: no script`);
      assert.ok(stages.includes(String(job.stage ?? base.stage ?? 'test')), `job ${name}: stage ${String(job.stage)} is not in stages`);
    }
  });

  test('extends, needs and on_stop name jobs of the file', () => {
    for (const [name, job] of Object.entries(jobs)) {
      if (job.extends !== undefined) assert.ok(String(job.extends) in jobs, `job ${name}: extends unknown ${String(job.extends)}`);
      for (const need of (job.needs as unknown[] | undefined) ?? []) assert.ok(String(need) in jobs, `job ${name}: needs unknown job ${String(need)}`);
      const onStop = record(job.environment).on_stop;
      if (onStop !== undefined) assert.equal(record(record(jobs[String(onStop)]).environment).action, 'stop', `job ${name}: on_stop ${String(onStop)} is not a stop job`);
    }
  });
});

/** GitHub's heading anchors: lowercase, punctuation dropped, spaces to dashes. */
function anchorsOf(markdown: string): Set<string> {
  const headings = [...markdown.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => m[1]!);
  return new Set(headings.map((h) => h.toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-')));
}

describe('links between the docs', () => {
  test('anchors are made the way GitHub makes them', () => {
    assert.deepEqual([...anchorsOf('# Try it\n## TLS: on the proxy, or `behind` it\n### Who can open it?\n')], ['try-it', 'tls-on-the-proxy-or-behind-it', 'who-can-open-it']);
  });

  const pages = readdirSync(docs).filter((f) => f.endsWith('.md'));
  for (const page of pages) {
    test(`docs/${page}: relative links lead to files and headings that exist`, () => {
      const text = read(`docs/${page}`);
      const problems: string[] = [];
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue; // http:, https:, mailto:
        const [path, anchor] = target!.split('#') as [string, string | undefined];
        const file = path === '' ? `docs/${page}` : join('docs', path);
        let content: string;
        try {
          content = read(file);
        } catch {
          problems.push(`${target}: no file ${file}`);
          continue;
        }
        if (anchor !== undefined && file.endsWith('.md') && !anchorsOf(content).has(anchor)) problems.push(`${target}: no heading #${anchor} in ${file}`);
      }
      assert.deepEqual(problems, [], `\n  ${problems.join('\n  ')}\n`);
    });
  }
});

describe('branch-proxy commands shown in the docs', () => {
  const files = [
    ...readdirSync(docs).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`),
    ...readdirSync(join(docs, 'examples')).map((f) => `docs/examples/${f}`),
  ];
  for (const file of files) {
    test(`${file}: every command and option exists`, () => {
      const problems = cliProblems(file, read(file));
      assert.deepEqual(problems, [], `\n  ${problems.join('\n  ')}\n`);
    });
  }

  test('the docs show the whole lifecycle: register, url, ls, deregister, prune', () => {
    const commands = new Set(files.flatMap((f) => cliInvocations(read(f)).map((i) => i.command)));
    for (const command of ['register', 'url', 'ls', 'deregister', 'prune']) assert.ok(commands.has(command), `no doc shows branch-proxy ${command}`);
  });

  test('a misspelt option is caught', () => {
    assert.match(cliProblems('fixture', 'branch-proxy url --brnach main').join('\n'), /url has no option --brnach/);
  });

  test('the pattern finds commands in shell, YAML and JSON-array form, and stops at --', () => {
    const found = cliInvocations('run: branch-proxy url --branch "$B" --service api\n["branch-proxy", "register", "--port", "3", "--", "node", "--inspect"]\nbp prune --older-than 1d');
    assert.deepEqual(found.map((f) => [f.command, f.flags]), [['url', ['--branch', '--service']], ['register', ['--port']], ['prune', ['--older-than']]]);
  });
});
