/**
 * A run's prediction of a validation case, written in the encoding of the case's labels file so
 * that compare mode (renderer/src/viewer: case.attachPrediction, volume.get 'prediction') reads
 * it with the same per-structure selectors as the truth:
 * - labelmap schemas: one value per voxel. Structures may overlap (a whole made of its parts'
 *   values), so each voxel gets the schema value (or 0) whose set of structures is nearest to
 *   the set the model predicted there: a differing part counts 2, a differing whole 1 (compare
 *   mode and the class map are per part; the whole is drawn as an outline), ties go to 0, then
 *   to the earlier value. Where the prediction is representable (whole = union of parts) this is
 *   exact.
 * - channel schemas: one 0/1 channel per structure at its `source.index`, as many channels as
 *   the labels file has; mask schemas: one channel per structure in schema order.
 */
import { join } from 'node:path';
import { ContractError } from '../contract/result.ts';
import type { LabelSchema } from '../labels/schema.ts';
import type { Geometry } from '../imaging/volume.ts';
import { writeVolume } from '../imaging/io.ts';
import type { Project } from '../store/project.ts';
import { attachPrediction } from '../store/cases.ts';
import { existsSync, mkdirSync } from 'node:fs';
import { runFolder } from './training-runs.ts';

export interface EncodedPrediction { data: Uint8Array | Uint16Array; channels: number }

/** `masks` by structure id (structures the run did not predict are empty). */
export function encodePrediction(schema: LabelSchema, masks: ReadonlyMap<string, Uint8Array>, voxels: number, labelChannels: number): EncodedPrediction {
  const st = schema.structures;
  const kind = st[0].source.kind;
  if (kind !== 'labelmap') {
    const channels = kind === 'channel' ? Math.max(labelChannels, ...st.map((s) => (s.source.kind === 'channel' ? s.source.index + 1 : 0))) : st.length;
    const data = new Uint8Array(voxels * channels);
    st.forEach((s, i) => {
      const m = masks.get(s.id);
      const c = s.source.kind === 'channel' ? s.source.index : i;
      if (m) for (let v = 0; v < voxels; v++) data[c * voxels + v] = m[v] ? 1 : 0;
    });
    return { data, channels };
  }
  // Candidate values: 0 (no structure) and every schema value, with the structures each belongs to.
  const values = [0, ...new Set(st.flatMap((s) => (s.source.kind === 'labelmap' ? s.source.values : [])))];
  const member = values.map((val) => st.map((s) => s.source.kind === 'labelmap' && s.source.values.includes(val)));
  const cols = st.map((s) => masks.get(s.id) ?? null);
  const cost = st.map((s) => (s.role === 'part' ? 2 : 1));
  const max = Math.max(...values);
  const data = max > 255 ? new Uint16Array(voxels) : new Uint8Array(voxels);
  const chosen = new Map<string, number>();
  for (let v = 0; v < voxels; v++) {
    let key = '';
    for (const m of cols) key += m && m[v] ? '1' : '0';
    let val = chosen.get(key);
    if (val === undefined) {
      let best = Infinity;
      val = 0;
      for (const [j, mem] of member.entries()) {
        let d = 0;
        for (let k = 0; k < mem.length; k++) if (mem[k] !== (key[k] === '1')) d += cost[k];
        if (d < best) { best = d; val = values[j]; }
      }
      chosen.set(key, val);
    }
    data[v] = val;
  }
  return { data, channels: 1 };
}

export function predictionPath(p: Project, runId: string, checkpoint: 'best' | 'last', caseId: string): string {
  return join(runFolder(p, runId), 'predictions', checkpoint, `${caseId}.nii.gz`);
}

export function writePrediction(p: Project, runId: string, checkpoint: 'best' | 'last', caseId: string, geometry: Geometry, enc: EncodedPrediction): void {
  const f = predictionPath(p, runId, checkpoint, caseId);
  mkdirSync(join(f, '..'), { recursive: true });
  writeVolume(f, { ...geometry, data: enc.data, channels: enc.channels });
}

/** Attaches the run's prediction of a case (written by run.evaluate) to the case for compare mode. */
export function showPrediction(p: Project, runId: string, caseId: string, checkpoint: 'best' | 'last'): { file: string } {
  const f = predictionPath(p, runId, checkpoint, caseId);
  if (!existsSync(f)) throw new ContractError({ code: 'not-found', message: `run ${runId} has no ${checkpoint} prediction of case ${caseId}; evaluate the run (again) first` });
  return { file: attachPrediction(p, caseId, f) };
}
