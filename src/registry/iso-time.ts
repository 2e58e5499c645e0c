/**
 * Milliseconds since the epoch of a time as the registry stores it (`created`,
 * `last-request`: ISO-8601, as `new Date().toISOString()` writes it); undefined
 * when the field is absent or not a time, so callers cannot mistake NaN for one.
 */
export function parseIsoTime(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}
