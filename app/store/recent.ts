/**
 * Recently opened projects, kept in the user's Osteon home (OSTEON_HOME, else
 * ~/.config/osteon): `recent.json`, newest first, at most 20, written atomically.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { RecentProject } from '../contract/schemas.ts';
import { writeJsonAtomic } from '../util/atomic.ts';

const RecentFile = z.strictObject({ projects: z.array(RecentProject).max(100) });
export type Recent = z.infer<typeof RecentProject>;

const MAX = 20;

export function osteonHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.OSTEON_HOME || join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'osteon');
}

/** The recent list; a missing or damaged file reads as empty (it is a convenience, not data). */
export function readRecent(home: string): Recent[] {
  try {
    const r = RecentFile.safeParse(JSON.parse(readFileSync(join(home, 'recent.json'), 'utf8')));
    return r.success ? r.data.projects : [];
  } catch {
    return [];
  }
}

export function touchRecent(home: string, dir: string, name: string, now = new Date()): Recent[] {
  const projects = [{ dir, name, openedAt: now.toISOString() }, ...readRecent(home).filter((p) => p.dir !== dir)].slice(0, MAX);
  writeJsonAtomic(join(home, 'recent.json'), { projects });
  return projects;
}
