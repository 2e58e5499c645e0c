/**
 * Loading a compose file the way `docker compose` reads it (YAML 1.1 merge keys,
 * no duplicate keys), and its commented cluster variant: the lines starting with
 * "#| ", extracted exactly as the file's own `sed -n 's/^#| \{0,1\}//p'` does.
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';

export type ComposeDoc = Record<string, unknown>;

export interface LoadedCompose {
  readonly doc: ComposeDoc;
  /** Parse errors and warnings with line:column, empty when the YAML is clean. */
  readonly problems: string[];
}

const VARIANT_LINE = /^#\|(?: |$)/;

export function parseCompose(text: string, label: string): LoadedCompose {
  const parsed = parseDocument(text, { merge: true, uniqueKeys: true, prettyErrors: true });
  const problems = [...parsed.errors, ...parsed.warnings].map((e) => `${label}: ${e.message.split('\n')[0]}`);
  const doc: unknown = parsed.toJS({ maxAliasCount: 1000 });
  if (problems.length === 0 && (typeof doc !== 'object' || doc === null || Array.isArray(doc))) {
    problems.push(`${label}: the top level is not a mapping`);
  }
  return { doc: (doc ?? {}) as ComposeDoc, problems };
}

/** The "#| " lines of a compose file, uncommented: the commented variant as a file of its own. */
function extractVariant(text: string): string {
  return text
    .split('\n')
    .filter((line) => VARIANT_LINE.test(line))
    .map((line) => line.replace(VARIANT_LINE, ''))
    .join('\n');
}

export function loadComposeFile(path: string): { main: LoadedCompose; variant: LoadedCompose } {
  const text = readFileSync(path, 'utf8');
  return { main: parseCompose(text, path), variant: parseCompose(extractVariant(text), `${path} (commented "#| " variant)`) };
}
