/**
 * A DICOM SEG (Slicer/dcmqi, OHIF, highdicom, Osteon) into a case, overlaps kept: its segments
 * are mapped to the case schema's structures (by label = name or id, description = id, or an
 * explicit map; app/exchange/dicom-seg-read.ts) and placed on the case CT's grid by their frame
 * positions. Stored in Osteon's masks layout, `*.nii.gz` with one 0/1 channel per structure in
 * schema order (as segmentation versions are), which the viewer, the exports and training read
 * (labels/load.ts):
 * - `as: 'prediction'`: the case's prediction (`prediction.nii.gz`, compare mode), replacing an
 *   earlier one;
 * - `as: 'labels'`: the ground truth of a case imported without labels (`labels.nii.gz` plus its
 *   label analysis). A case that has labels keeps them: a SEG never overwrites a ground truth.
 * Every file is written atomically and the project record last; recorded in the audit log.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { CaseSummary } from '../contract/schemas.ts';
import { matchSegment, readDicomSeg, segToLabelSet } from '../exchange/dicom-seg-read.ts';
import { readVolume } from '../imaging/io.ts';
import { encodeNifti } from '../imaging/nifti.ts';
import { geometryOf, voxelCount } from '../imaging/volume.ts';
import { analyzeLabels } from '../labels/analysis.ts';
import { loadLabelSchema } from '../labels/schema.ts';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.ts';
import { OsteonError, badInput } from '../util/errors.ts';
import { appendAudit } from './audit.ts';
import { caseDir, getCase, setPrediction } from './cases.ts';
import { saveProject, type Project } from './project.ts';
import { osUser } from './versions.ts';

export interface SegImport {
  caseId: string;
  seg: string;
  as: 'labels' | 'prediction';
  /** Segment label → structure id, for segments whose label or description names no structure. */
  map?: Record<string, string>;
}

export interface SegImportResult {
  caseId: string;
  file: string;
  as: 'labels' | 'prediction';
  /** Per schema structure (schema order): its id, the segment it came from, its voxels. */
  structures: Array<{ id: string; segment: string; voxels: number }>;
  warnings: string[];
}

export function importSegIntoCase(p: Project, r: SegImport, now = new Date()): SegImportResult {
  const c = getCase(p, r.caseId);
  const dir = caseDir(p, c.id);
  if (!c.files.schema) throw new OsteonError({ code: 'usage', field: 'schema', message: `case '${c.id}' has no label schema; the SEG's segments are mapped to a schema's structures (import the case with one)` });
  if (r.as === 'labels' && c.files.labels) {
    throw new OsteonError({ code: 'usage', file: r.seg, field: 'as', message: `case '${c.id}' already has labels (${c.files.labels}); a SEG does not overwrite a ground truth: import it as a prediction (compare mode) or into a new case` });
  }
  const schema = loadLabelSchema(join(dir, c.files.schema));
  const ct = readVolume(join(dir, c.files.ct));
  const g = geometryOf(ct);
  const seg = readDicomSeg(r.seg, g);
  const warnings: string[] = [];
  if (ct.meta.FrameOfReferenceUID && seg.frameOfReference && ct.meta.FrameOfReferenceUID !== seg.frameOfReference) {
    warnings.push(`${r.seg}: FrameOfReferenceUID ${seg.frameOfReference} differs from the CT's ${ct.meta.FrameOfReferenceUID}; placed by positions`);
  }
  const set = segToLabelSet(r.seg, seg, schema, g, r.map ?? {});
  const n = voxelCount(g);
  const all = new Uint8Array(n * set.masks.length);
  const structures = schema.structures.map((s, i) => {
    const m = set.masks[i];
    let voxels = 0;
    for (let v = 0; v < n; v++) if (m[v]) { all[i * n + v] = 1; voxels++; }
    return { id: s.id, segment: matchSegment(r.seg, seg, s, r.map ?? {}).label, voxels };
  });
  if (structures.every((s) => s.voxels === 0)) throw badInput(r.seg, 'SegmentSequence', 'no segment has voxels on the case CT\'s grid');
  const bytes = gzipSync(encodeNifti({ ...g, data: all, channels: set.masks.length }, { descrip: 'Osteon masks from a DICOM SEG' }), { level: 6 });

  let file: string;
  if (r.as === 'prediction') {
    file = setPrediction(p, c.id, 'prediction.nii.gz', bytes);
  } else {
    file = 'labels.nii.gz';
    writeFileAtomic(join(dir, file), bytes);
    writeJsonAtomic(join(dir, 'analysis.json'), analyzeLabels(set));
    const updated: CaseSummary = { ...c, files: { ...c.files, labels: file, analysis: 'analysis.json' }, sources: { ...c.sources, labels: r.seg } };
    try {
      saveProject(p, { ...p.file, cases: p.file.cases.map((x) => (x.id === c.id ? updated : x)) });
    } catch (e) {
      rmSync(join(dir, file), { force: true });
      throw e;
    }
  }
  appendAudit(p.dir, 'case.importSeg', { caseId: c.id, seg: r.seg, as: r.as, file, voxels: Object.fromEntries(structures.map((s) => [s.id, s.voxels])), user: osUser() }, now);
  return { caseId: c.id, file, as: r.as, structures, warnings };
}
