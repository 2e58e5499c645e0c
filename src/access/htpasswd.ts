import { readFileSync } from 'node:fs';
import bcrypt from 'bcryptjs';
import { ConfigError } from '../config/config-error.ts';

/** user -> bcrypt hash, from an htpasswd file made with `htpasswd -B` (Apache) or any bcrypt tool. */
export type Credentials = ReadonlyMap<string, string>;

const BCRYPT = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;

/** Reads and checks the file once, at start-up; every problem names the line. */
export function loadHtpasswd(variable: string, path: string): Credentials {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(variable, path, `a readable htpasswd file (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
  const users = new Map<string, string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (colon <= 0 || !BCRYPT.test(hash)) {
      throw new ConfigError(variable, path, `user:bcrypt-hash lines (line ${i + 1} is not; create entries with \`htpasswd -B ${path} <user>\`)`);
    }
    users.set(user, hash);
  });
  if (users.size === 0) throw new ConfigError(variable, path, 'an htpasswd file with at least one user');
  return users;
}

/** bcrypt is slow on purpose (~50 ms); a verified Authorization value is remembered for a while. */
export function createBasicAuthVerifier(credentials: Credentials, { cacheMs = 5 * 60_000, maxCached = 1000 } = {}) {
  const verified = new Map<string, number>();
  return async (user: string, password: string, cacheKey: string): Promise<boolean> => {
    const until = verified.get(cacheKey);
    if (until !== undefined && until > Date.now()) return true;
    const hash = credentials.get(user);
    // Compare against a hash even for unknown users, so timing does not reveal which users exist.
    const ok = (await bcrypt.compare(password, hash ?? '$2b$10$invalidinvalidinvalidinvalidinvalidinvalidinvalidinv')) && hash !== undefined;
    if (ok) {
      if (verified.size >= maxCached) verified.delete(verified.keys().next().value!);
      verified.set(cacheKey, Date.now() + cacheMs);
    }
    return ok;
  };
}
