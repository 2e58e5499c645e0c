import { createHash } from 'node:crypto';
import { DNS_LABEL } from '../config/parsers.ts';

/** Longest deployment name: leaves room for `-<service>` (up to 22 characters) in a 63-character DNS label. */
export const MAX_SLUG_LENGTH = 40;
/** Hex digits of sha256(raw branch) that end a shortened slug. */
const HASH_LENGTH = 8;

/** A branch name that yields no usable deployment name. */
export class SlugError extends Error {
  override name = 'SlugError';
}

/**
 * The deployment name of a raw git branch: ASCII-lowercased, every run of
 * characters outside [a-z0-9] turned into one `-`, leading and trailing `-`
 * dropped (`__Foo..Bar__` -> `foo-bar`); undefined when nothing is left.
 *
 * Longer than 40 characters, it keeps its first 31 characters and ends with
 * `-` and 8 hex digits of sha256(raw branch), so distinct long branches stay
 * distinct and the result never changes between runs.
 *
 * Only ASCII letters are lowercased, on purpose: scripts/register.sh does the
 * same with `tr` in the C locale, and both must agree on every input
 * (JavaScript would map e.g. the Kelvin sign to `k`, `tr` to `-`).
 *
 * The one slug function: registration names deployments with it, and the
 * 404 page's "did you mean" matches branches through it, so it only suggests
 * names a registration can produce. Pure (no I/O).
 */
export function slugOf(branch: string): string | undefined {
  const slug = branch
    .replace(/[A-Z]/g, (c) => c.toLowerCase())
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (slug === '') return undefined;
  if (slug.length <= MAX_SLUG_LENGTH) return slug;
  const hash = createHash('sha256').update(branch, 'utf8').digest('hex').slice(0, HASH_LENGTH);
  const head = slug.slice(0, MAX_SLUG_LENGTH - HASH_LENGTH - 1).replace(/-+$/, '');
  return `${head}-${hash}`;
}

/** {@link slugOf}, for naming a deployment: a branch with no letters or digits is an error. */
export function slugify(branch: string): string {
  const slug = slugOf(branch);
  if (slug === undefined) throw new SlugError(`branch ${JSON.stringify(branch)} has no letters or digits to name a deployment after`);
  return slug;
}

/** `--deployment` is taken as given, but it must already be a slug. */
export function checkDeploymentName(name: string): string {
  if (!DNS_LABEL.test(name) || name.length > MAX_SLUG_LENGTH) {
    throw new SlugError(`deployment ${JSON.stringify(name)} is not a deployment name: lowercase letters, digits and dashes, at most ${MAX_SLUG_LENGTH} characters, no dash at either end`);
  }
  return name;
}

/** `<deployment>-<service>` is one DNS label, so it must fit in 63 characters. */
export function checkServiceName(deployment: string, service: string): string {
  if (!DNS_LABEL.test(service)) throw new SlugError(`service ${JSON.stringify(service)} is not a service name: lowercase letters, digits and dashes`);
  if (deployment.length + 1 + service.length > 63) {
    throw new SlugError(`${deployment}-${service} is longer than a DNS label (63 characters); use a shorter service name`);
  }
  return service;
}
