import { spawnSync } from 'node:child_process';

/** A command a scenario runs, and the Debian package that provides it. */
export type Tools = Readonly<Record<string, string>>;

/** The commands of `tools` that are not on PATH. */
export function missingTools(tools: Tools): string[] {
  return Object.keys(tools).filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
}

/** Says which Debian packages to install when a tool is missing, before a scenario starts rather than half-way through it. */
export function requireTools(scenario: string, tools: Tools): void {
  const missing = missingTools(tools);
  if (missing.length > 0) {
    throw new Error(`the ${scenario} scenario needs ${missing.join(', ')}: apt-get install -y ${[...new Set(missing.map((t) => tools[t]!))].join(' ')}`);
  }
}
