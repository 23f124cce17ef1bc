import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const fixtures = join(repoRoot, 'test', 'fixtures');

/**
 * `../shared` beside the checkout, or null on a user's fresh clone (then those checks skip).
 * `OSTEON_SHARED=none npm test` shows what a fresh clone's run counts as skipped.
 */
export function sharedDir(): string | null {
  if (process.env.OSTEON_SHARED === 'none') return null;
  const p = resolve(repoRoot, '..', 'shared');
  return existsSync(join(p, 'data')) ? p : null;
}

let torchCache: boolean | undefined;
/** Debian's Python with PyTorch (CI installs python3-torch); reference values come from it. */
export function hasTorch(): boolean {
  if (torchCache === undefined) {
    const r = spawnSync('/usr/bin/python3', ['-c', 'import torch, numpy'], { stdio: 'ignore' });
    torchCache = r.status === 0;
  }
  return torchCache;
}

export function hasPythonModule(mod: string): boolean {
  const r = spawnSync('/usr/bin/python3', ['-c', `import ${mod}`], { stdio: 'ignore' });
  return r.status === 0;
}

export function hasChromium(): boolean {
  return existsSync('/usr/bin/chromium');
}

/** Prints a visible notice when a check is skipped for a missing prerequisite. */
export function skipNotice(what: string, missing: string): void {
  process.stderr.write(`\n*** SKIPPED: ${what}: ${missing} is not available here (CI has it). ***\n`);
}

export function python(args: string[], input?: string): string {
  return execFileSync('/usr/bin/python3', args, { encoding: 'utf8', input, maxBuffer: 256 * 1024 * 1024 });
}
