import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, join } from 'node:path';
import type { TestContext } from 'node:test';

/** One measured number (or short fact) of one scenario, as it goes into docs/reliability.md. */
export interface Figure {
  readonly scenario: string;
  readonly name: string;
  readonly value: string;
}

interface FileFigures {
  readonly file: string;
  readonly finishedAt: string;
  readonly seconds: number;
  readonly figures: Figure[];
}

export const RESULTS_DIR = join(import.meta.dirname, '..', '..', '..', 'test-results', 'faults');
export const REPORT_PATH = join(import.meta.dirname, '..', '..', '..', 'docs', 'reliability.md');
const START = '<!-- figures:start (written by test/faults/lib/figures.ts; do not edit by hand) -->';
const END = '<!-- figures:end -->';

/**
 * Collects one test file's figures: each is printed as a test diagnostic at once
 * and kept in test-results/faults/<file>.json. Every file runs in its own
 * process, so `finish()` (called from `after`) rewrites the table in
 * docs/reliability.md from all files' JSON when FAULTS_REPORT=1.
 */
export function createFigures(testFile: string): {
  record(t: TestContext, scenario: string, name: string, value: number | string, unit?: string): void;
  finish(): void;
} {
  const file = basename(testFile);
  const started = performance.now();
  const figures: Figure[] = [];
  const save = (): void => {
    mkdirSync(RESULTS_DIR, { recursive: true });
    const data: FileFigures = { file, finishedAt: new Date().toISOString(), seconds: Math.round((performance.now() - started) / 100) / 10, figures };
    writeFileSync(join(RESULTS_DIR, `${file}.json`), `${JSON.stringify(data, null, 2)}\n`);
  };
  return {
    record(t, scenario, name, value, unit = '') {
      const text = typeof value === 'number' ? `${Number.isInteger(value) ? value : value.toFixed(1)}${unit ? ` ${unit}` : ''}` : value;
      t.diagnostic(`${name}: ${text}`);
      const existing = figures.findIndex((f) => f.scenario === scenario && f.name === name);
      if (existing === -1) figures.push({ scenario, name, value: text });
      else figures[existing] = { scenario, name, value: text };
      save();
    },
    finish() {
      save();
      if (process.env.FAULTS_REPORT === '1') writeReport();
    },
  };
}

/** Replaces the figures section of docs/reliability.md with the latest results of every fault test file. */
export function writeReport(): void {
  const files = readdirSync(RESULTS_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(RESULTS_DIR, f), 'utf8')) as FileFigures);
  const lines = [
    START,
    `Last run: ${files.map((f) => f.finishedAt).sort().at(-1) ?? 'never'}, Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'}), ` +
      `${files.reduce((s, f) => s + f.seconds, 0).toFixed(0)} s for ${files.length} files.`,
    '',
    '| File | Scenario | Measured | Value |',
    '|---|---|---|---|',
  ];
  for (const f of files) {
    let lastScenario = '';
    for (const [i, fig] of f.figures.entries()) {
      lines.push(`| ${i === 0 ? `\`${f.file}\`` : ''} | ${fig.scenario === lastScenario ? '' : fig.scenario} | ${fig.name} | ${fig.value} |`);
      lastScenario = fig.scenario;
    }
  }
  lines.push(END);
  const doc = readFileSync(REPORT_PATH, 'utf8');
  const from = doc.indexOf(START);
  const to = doc.indexOf(END);
  if (from === -1 || to === -1) throw new Error(`${REPORT_PATH} has no figures markers`);
  writeFileSync(REPORT_PATH, doc.slice(0, from) + lines.join('\n') + doc.slice(to + END.length));
}
