/**
 * Temporary siblings that a kill can leave behind: named `.<base>.<pid>-<hex>.tmp` (or `.old`),
 * so the next start can tell a dead owner's leftovers from a live writer's and remove them.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export function tempTag(): string {
  return `${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** Whether a process id is alive on this machine (EPERM: alive, owned by someone else). */
export function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes `.<base>.<pid>-<hex>.(tmp|old)` entries in `dir` whose owning process is gone.
 * Returns the names removed.
 */
export function sweepDeadTemps(dir: string, base?: string): string[] {
  if (!existsSync(dir)) return [];
  const esc = base === undefined ? '.+' : base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`^\\.${esc}\\.(\\d+)-[0-9a-f]{12}\\.(tmp|old)$`);
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    const m = re.exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
