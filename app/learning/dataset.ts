/**
 * Loads training data from a folder: every sub-folder holding a CT (`ct.*`) and labels
 * (`labels.*`, or the mask files a mask schema names) is a case; `osteon phantom` writes exactly
 * this layout, and a folder that itself holds ct.* + labels.* is a single case. The schema comes
 * from --schema or DIR/schema.json.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readVolume } from '../imaging/io.ts';
import { geometryOf, type Geometry } from '../imaging/volume.ts';
import { loadLabels } from '../labels/load.ts';
import type { LabelSet } from '../labels/labelset.ts';
import { loadLabelSchema, type LabelSchema } from '../labels/schema.ts';
import { badInput, usageError } from '../util/errors.ts';
import type { VoxelArray } from '../imaging/volume.ts';

export interface CaseFiles {
  id: string;
  dir: string;
  ct: string;
  labels: string[];
}

export interface LoadedCase {
  id: string;
  ctFile: string;
  geometry: Geometry;
  hu: VoxelArray;
  labels: LabelSet;
}

const VOLUME_EXT = ['.nii.gz', '.nii', '.nrrd', '.mha', '.mhd'];

function findFile(dir: string, stem: string): string | null {
  for (const ext of VOLUME_EXT) {
    const p = join(dir, stem + ext);
    if (existsSync(p)) return p;
  }
  return null;
}

export function findCases(dataDir: string): CaseFiles[] {
  if (!existsSync(dataDir)) throw badInput(dataDir, 'path', 'does not exist', 'not-found');
  if (!statSync(dataDir).isDirectory()) throw badInput(dataDir, 'path', 'is a file; --data takes a folder of cases');
  const one = (dir: string, id: string): CaseFiles | null => {
    const ct = findFile(dir, 'ct');
    const labels = findFile(dir, 'labels');
    return ct && labels ? { id, dir, ct, labels: [labels] } : null;
  };
  const self = one(dataDir, 'case');
  if (self) return [self];
  const cases = readdirSync(dataDir).sort()
    .filter((n) => !n.startsWith('.') && statSync(join(dataDir, n)).isDirectory())
    .map((n) => one(join(dataDir, n), n))
    .filter((c): c is CaseFiles => c !== null);
  if (cases.length === 0) throw badInput(dataDir, 'cases', 'no case folders with ct.* and labels.* (e.g. case-000/ct.nii.gz + labels.nii.gz) were found');
  return cases;
}

export function resolveSchema(dataDir: string, schemaPath: string | undefined): { schema: LabelSchema; path: string } {
  const path = schemaPath ?? join(dataDir, 'schema.json');
  if (!existsSync(path)) throw usageError(`no --schema given and ${path} does not exist`);
  return { schema: loadLabelSchema(path), path };
}

export function loadCase(c: CaseFiles, schema: LabelSchema, schemaPath: string): LoadedCase {
  const ct = readVolume(c.ct);
  if (ct.channels !== 1) throw badInput(c.ct, 'channels', `${ct.channels} channels; a CT has one`);
  for (let v = 0; v < ct.data.length; v++) {
    if (!Number.isFinite(ct.data[v])) throw badInput(c.ct, 'data', `voxel ${v} is ${ct.data[v]}; a CT must be finite`);
  }
  const { set } = loadLabels({ files: c.labels, schema, schemaPath, map: {} }, ct, c.ct);
  return { id: c.id, ctFile: c.ct, geometry: geometryOf(ct), hu: ct.data, labels: set };
}
