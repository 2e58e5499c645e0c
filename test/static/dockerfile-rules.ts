/**
 * What `docker build` would trip over, checked without a Docker engine: syntax
 * (dockerfile-utils, the linter behind the VS Code Dockerfile extension), COPY
 * sources that are missing or left out of the build context by .dockerignore,
 * and the promises the image makes (Node 24, non-root, ports, health check,
 * `ENTRYPOINT ["branch-proxy"]` + `CMD ["serve"]`).
 */
import dockerignore from '@balena/dockerignore';
import { DockerfileParser, ModifiableInstruction } from 'dockerfile-ast';
import type { Dockerfile, Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVE_SETTINGS } from '../../src/config/settings.ts';

export interface BuildContext {
  readonly root: string;
  /** Paths relative to the context root, `/`-separated, of every file in it. */
  readonly files: readonly string[];
  /** Whether .dockerignore leaves a path out of the context. */
  ignores(path: string): boolean;
}

/** The files `docker build <dir>` would send, after .dockerignore. */
export function readBuildContext(dir: string): BuildContext {
  const ignorePath = join(dir, '.dockerignore');
  // A CommonJS module typed as an ES default export: `.default` is the factory for both.
  const ignore = dockerignore.default().add(existsSync(ignorePath) ? readFileSync(ignorePath, 'utf8') : '');
  const files: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      // Never sent and huge: skip without walking, whatever .dockerignore says (it is checked separately).
      if (entry.name === 'node_modules' || entry.name === '.git') continue;
      if (entry.isDirectory()) walk(path);
      else if (!ignore.ignores(path)) files.push(path);
    }
  };
  walk('');
  return { root: dir, files, ignores: (path) => ignore.ignores(path) };
}

const settingDefault = (env: string): string => SERVE_SETTINGS.find((s) => s.env === env)?.default ?? '';

function where(instruction: Instruction): string {
  return `Dockerfile:${(instruction.getRange()?.start.line ?? 0) + 1}`;
}

/** Syntax and instruction errors, as `docker build` would report them before running anything. */
export function syntaxProblems(text: string): string[] {
  return validate(text).map((d) => `Dockerfile:${d.range.start.line + 1}: ${d.message}`);
}

/** Global ARG defaults substituted into FROM lines: `FROM ${NODE_IMAGE}` -> `FROM node:24-alpine`. */
function resolveArgs(dockerfile: Dockerfile, value: string): string {
  const args = new Map(dockerfile.getInitialARGs().map((a) => [a.getProperty()?.getName() ?? '', a.getProperty()?.getValue() ?? '']));
  return value.replace(/\$\{?(\w+)\}?/g, (_, name: string) => args.get(name) ?? '');
}

/** Every COPY/ADD source from the context exists and is not left out by .dockerignore; every --from names an earlier stage. */
export function copyProblems(dockerfile: Dockerfile, context: BuildContext): string[] {
  const problems: string[] = [];
  const stages: string[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword();
    if (keyword === 'FROM') {
      const stage = dockerfile.getFROMs().find((f) => f.getRange()?.start.line === instruction.getRange()?.start.line)?.getBuildStage();
      if (stage) stages.push(stage);
      continue;
    }
    if (keyword !== 'COPY' && keyword !== 'ADD') continue;
    const from = instruction instanceof ModifiableInstruction ? instruction.getFlags().find((f) => f.getName() === 'from')?.getValue() ?? undefined : undefined;
    if (from !== undefined) {
      if (!stages.includes(from) && !/[:/]/.test(from)) {
        problems.push(`${where(instruction)}: ${keyword} --from=${from} names no earlier stage (stages so far: ${stages.join(', ') || 'none'})`);
      }
      continue;
    }
    const sources = instruction.getArguments().map((a) => a.getValue()).slice(0, -1);
    for (const source of sources) {
      const problem = sourceProblem(source, context);
      if (problem) problems.push(`${where(instruction)}: ${keyword} ${source}: ${problem}`);
    }
  }
  return problems;
}

function sourceProblem(source: string, context: BuildContext): string | undefined {
  if (/^https?:\/\//.test(source)) return undefined;
  const path = source.replace(/^\.\/?/, '').replace(/\/$/, '');
  if (path === '') return context.files.length > 0 ? undefined : 'the build context is empty';
  if (/[*?[]/.test(path)) {
    const pattern = new RegExp(`^${path.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}(/|$)`);
    return context.files.some((f) => pattern.test(f)) ? undefined : 'matches no file in the build context';
  }
  if (context.files.includes(path) || context.files.some((f) => f.startsWith(`${path}/`))) return undefined;
  if (!existsSync(join(context.root, path))) return 'no such file or directory';
  return context.ignores(path) ? 'exists but .dockerignore leaves it out of the build context' : 'is an empty directory';
}

/** Every stage starts from Node 24 (the current LTS) or from an earlier stage. */
export function baseImageProblems(dockerfile: Dockerfile): string[] {
  const problems: string[] = [];
  const earlier: string[] = [];
  for (const from of dockerfile.getFROMs()) {
    const image = resolveArgs(dockerfile, from.getImage() ?? '');
    const [name, tag = ''] = image.split('@')[0]!.split(':');
    if (!earlier.includes(image) && !(name === 'node' && /^24(\b|-|\.)/.test(tag))) {
      problems.push(`Dockerfile:${(from.getRange()?.start.line ?? 0) + 1}: FROM ${image} is not a Node 24 image (node:24-*)`);
    }
    const stage = from.getBuildStage();
    if (stage) earlier.push(stage);
  }
  return problems;
}

function finalStage(dockerfile: Dockerfile): Instruction[] {
  const all = dockerfile.getInstructions();
  const lastFrom = all.map((i) => i.getKeyword()).lastIndexOf('FROM');
  return all.slice(lastFrom + 1);
}

function jsonArgs(instruction: Instruction | undefined): string[] | undefined {
  if (!instruction) return undefined;
  try {
    const parsed: unknown = JSON.parse(instruction.getArgumentsContent() ?? '');
    return Array.isArray(parsed) ? parsed.map(String) : undefined;
  } catch {
    return undefined;
  }
}

/** What the runtime image promises: non-root, both ports, a /healthz check, the CLI as entrypoint serving by default. */
export function runtimeProblems(dockerfile: Dockerfile, bin: string): string[] {
  const stage = finalStage(dockerfile);
  const last = (keyword: string): Instruction | undefined => stage.filter((i) => i.getKeyword() === keyword).at(-1);
  const problems: string[] = [];

  const user = last('USER')?.getArgumentsContent()?.split(':')[0];
  if (user === undefined || user === 'root' || user === '0') problems.push('final stage: runs as root (add USER with an unprivileged user)');

  const exposed = stage.filter((i) => i.getKeyword() === 'EXPOSE').flatMap((i) => i.getArguments().map((a) => a.getValue().split('/')[0]));
  for (const env of ['PORT', 'ADMIN_PORT']) {
    if (!exposed.includes(settingDefault(env))) problems.push(`final stage: does not EXPOSE ${env}'s default ${settingDefault(env)}`);
  }

  const health = last('HEALTHCHECK')?.getArgumentsContent() ?? '';
  if (!/^(--\S+\s+)*CMD\b/.test(health) || !health.includes('/healthz')) problems.push('final stage: no HEALTHCHECK CMD probing /healthz');

  const entrypoint = jsonArgs(last('ENTRYPOINT'));
  if (JSON.stringify(entrypoint) !== '["branch-proxy"]') problems.push(`final stage: ENTRYPOINT must be ["branch-proxy"] (exec form), got ${JSON.stringify(entrypoint ?? null)}`);
  const cmd = jsonArgs(last('CMD'));
  if (JSON.stringify(cmd) !== '["serve"]') problems.push(`final stage: CMD must be ["serve"], got ${JSON.stringify(cmd ?? null)}`);

  // `branch-proxy` on PATH must be the package's bin, or ENTRYPOINT finds nothing.
  const runs = stage.filter((i) => i.getKeyword() === 'RUN').map((i) => i.getArgumentsContent() ?? '');
  if (!runs.some((r) => r.includes(bin) && /\/usr\/local\/bin\/branch-proxy\b/.test(r))) {
    problems.push(`final stage: no RUN links /usr/local/bin/branch-proxy to the package bin ${bin}`);
  }
  return problems;
}

/**
 * The build stage runs `npm pack`, so everything the package ships (package.json
 * "files", but for the build output it makes itself) and what the build reads
 * must be in the context; what must never be sent (host node_modules, a stale
 * build output, git history) must be left out.
 */
export function contextProblems(context: BuildContext, repoDir: string, packageFiles: readonly string[], buildOutput: string): string[] {
  const problems: string[] = [];
  const needed = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', ...packageFiles.filter((f) => f !== buildOutput)];
  for (const path of needed) {
    if (!existsSync(join(repoDir, path))) continue; // `npm pack` skips missing "files" entries (public/ before it exists).
    if (context.ignores(path)) problems.push(`.dockerignore leaves out ${path}, which the image build needs`);
  }
  for (const path of ['node_modules', buildOutput, '.git']) {
    if (!context.ignores(path)) problems.push(`.dockerignore lets ${path} into the build context`);
  }
  return problems;
}

export function parseDockerfile(text: string): Dockerfile {
  return DockerfileParser.parse(text);
}

/** The exec-form command of the final stage's HEALTHCHECK (`CMD ["node", "-e", ...]`), for running it outside Docker. */
export function healthcheckArgv(dockerfile: Dockerfile): string[] | undefined {
  const check = finalStage(dockerfile).filter((i) => i.getKeyword() === 'HEALTHCHECK').at(-1);
  const json = /CMD\s+(\[[\s\S]*\])\s*$/.exec(check?.getArgumentsContent() ?? '')?.[1];
  if (json === undefined) return undefined;
  const argv: unknown = JSON.parse(json);
  return Array.isArray(argv) ? argv.map(String) : undefined;
}
