/**
 * Where things live inside a project folder. Kept apart (and free of heavy imports) so that a
 * host can find a cached volume without loading the store.
 */
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
