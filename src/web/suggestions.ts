import { distance } from 'fastest-levenshtein';
import { parseIsoTime } from '../registry/iso-time.ts';
import { slugOf } from '../registration/slug.ts';
import type { Deployment } from '../routing/route-table.ts';

/** A "did you mean" target: a deployment, and the service when the asked name carried one it has. */
export interface Suggestion {
  readonly deployment: Deployment;
  readonly service?: string;
}

/** Typos allowed for a name of this length: 1 up to 7 characters, then one more per 4. */
function allowedTypos(length: number): number {
  return Math.max(1, Math.floor(length / 4));
}

/**
 * The deployments closest to a host label that matched none, best first.
 * The label is tried whole and split at each dash (`feture-login-api` is
 * `feture-login` + service `api`), against each deployment's name and the slug
 * of its branch (as registration slugs it), scoring:
 *   - a few typos (Levenshtein distance, bounded by the name's length);
 *   - a name that starts with what was asked (a missing suffix, a renamed
 *     branch such as `feature-login` -> `feature-login-v2`);
 *   - a name that contains it.
 * A suffix that is not one of the deployment's services costs a little more.
 * Cost: a few cheap comparisons per deployment; Levenshtein only runs where the
 * lengths are close enough for it to pass.
 */
export function suggestDeployments(label: string, deployments: Iterable<Deployment>, limit = 5): Suggestion[] {
  const asked = label.slice(0, 63);
  const variants: { text: string; service?: string }[] = [{ text: asked }];
  for (let dash = asked.indexOf('-'); dash > 0; dash = asked.indexOf('-', dash + 1)) {
    variants.push({ text: asked.slice(0, dash), service: asked.slice(dash + 1) });
  }
  const scored: { suggestion: Suggestion; score: number; created: number }[] = [];
  for (const d of deployments) {
    const branchSlug = d.branch === undefined ? undefined : slugOf(d.branch);
    const names = branchSlug === undefined || branchSlug === d.name ? [d.name] : [d.name, branchSlug];
    let best: { score: number; service?: string } | undefined;
    for (const v of variants) {
      const hasService = v.service !== undefined && d.services.get(v.service)?.target !== undefined;
      const penalty = v.service === undefined || hasService ? 0 : 1;
      for (const name of names) {
        const score = nameScore(v.text, name);
        if (score === undefined) continue;
        const total = score + penalty;
        if (!best || total < best.score) best = hasService ? { score: total, service: v.service } : { score: total };
      }
    }
    if (best) {
      const suggestion: Suggestion = best.service === undefined ? { deployment: d } : { deployment: d, service: best.service };
      scored.push({ suggestion, score: best.score, created: parseIsoTime(d.created) ?? 0 });
    }
  }
  scored.sort((a, b) => a.score - b.score || b.created - a.created);
  // A close match makes the far-fetched ones noise.
  const worst = (scored[0]?.score ?? 0) + 1;
  return scored
    .filter((s) => s.score <= worst)
    .slice(0, limit)
    .map((s) => s.suggestion);
}

/** Lower is closer; undefined when the two names are not alike at all. */
function nameScore(asked: string, name: string): number | undefined {
  if (asked === '' || name === '') return undefined;
  if (asked === name) return 0;
  const typos = allowedTypos(Math.max(asked.length, name.length));
  if (Math.abs(asked.length - name.length) <= typos) {
    const d = distance(asked, name);
    if (d <= typos) return d;
  }
  if (swapsTwoLetters(asked, name)) return 1;
  if (asked.length >= 3 && name.startsWith(asked)) return 1.5;
  if (asked.length >= 4 && name.includes(asked)) return 2.5;
  if (name.length >= 4 && asked.startsWith(name)) return 2;
  return undefined;
}

/** `mian` for `main`: the commonest typo, which Levenshtein counts as two edits. */
function swapsTwoLetters(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return i < a.length - 1 && a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
}
