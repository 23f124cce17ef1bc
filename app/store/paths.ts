/**
 * Where things live inside a project folder. Kept apart (and free of heavy imports) so that a
 * host can find a cached volume without loading the store.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VolumeKind } from '../contract/schemas.ts';

export function caseFolder(projectDir: string, caseId: string): string {
  return join(projectDir, 'cases', caseId);
}

/** The viewer's raw voxel cache of a case volume (see rawVolume in cases.ts). */
export function rawVolumePaths(projectDir: string, caseId: string, kind: VolumeKind): { raw: string; meta: string } {
  const dir = join(caseFolder(projectDir, caseId), '.cache');
  return { raw: join(dir, `${kind}.raw`), meta: join(dir, `${kind}.json`) };
}

/**
 * A project opened read-only gets its raw voxel cache outside the folder (nothing is written
 * inside it): one folder per project path under the OS temp folder, emptied at each read-only open.
 */
export function readOnlyCacheDir(projectDir: string): string {
  return join(tmpdir(), 'osteon-readonly-cache', createHash('sha256').update(projectDir).digest('hex').slice(0, 24));
}

export function readOnlyVolumePaths(projectDir: string, caseId: string, kind: VolumeKind): { raw: string; meta: string } {
  const dir = join(readOnlyCacheDir(projectDir), caseId);
  return { raw: join(dir, `${kind}.raw`), meta: join(dir, `${kind}.json`) };
}

/** The raw voxels a host streams: the project's cache, else a read-only open's (null: neither made yet). */
export function servedVolumePath(projectDir: string, caseId: string, kind: VolumeKind): string | null {
  for (const { raw } of [rawVolumePaths(projectDir, caseId, kind), readOnlyVolumePaths(projectDir, caseId, kind)]) if (existsSync(raw)) return raw;
  return null;
}
