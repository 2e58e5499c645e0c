import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';

/**
 * Where browser tests keep their screenshots, so a broken page can be looked
 * at after the run: TEST_SCREENSHOTS_DIR, else test-results/screenshots/ at
 * the repository root (git-ignored).
 */
export const SCREENSHOTS_DIR = resolve(process.env.TEST_SCREENSHOTS_DIR || join(import.meta.dirname, '..', '..', 'test-results', 'screenshots'));

/** Saves the whole page as `<name>.png` (name made file-safe) and returns the file's path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  const file = join(SCREENSHOTS_DIR, `${name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 80)}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
