/**
 * A case's labels or prediction out of the project in another tool's format (app/exchange),
 * overlaps kept; the project itself is only read. Recorded in the audit log.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { userInfo } from 'node:os';
import { writeDicomSeg } from '../exchange/dicom-seg-write.ts';
import { exportNiftiMasks, exportNnUNet, exportSegNrrd } from '../exchange/exports.ts';
import { isDicomPath, readVolume } from '../imaging/io.ts';
import { loadLabels } from '../labels/load.ts';
import { loadLabelSchema } from '../labels/schema.ts';
import { OsteonError, badInput, usageError } from '../util/errors.ts';
import { appendAudit } from './audit.ts';
import { caseDir, getCase } from './cases.ts';
import type { Project } from './project.ts';

export type ExportFormat = 'dicom-seg' | 'nifti' | 'seg-nrrd' | 'nnunet';

export interface CaseExport {
  caseId: string;
  source: 'labels' | 'prediction';
  format: ExportFormat;
  out: string;
  /** DICOM SEG algorithm: a run id, or null/undefined for MANUAL. */
  run?: string | null;
}

function predictionFile(dir: string): string | undefined {
  return ['nii.gz', 'nii', 'nrrd', 'seg.nrrd', 'mha'].map((e) => `prediction.${e}`).find((f) => existsSync(join(dir, f)));
}

export function exportCaseAs(p: Project, r: CaseExport): { files: string[]; summary: string } {
  const c = getCase(p, r.caseId);
  const dir = caseDir(p, r.caseId);
  if (!c.files.schema) throw new OsteonError({ code: 'not-found', message: `case '${c.id}' has no label schema; import it with one to export structures` });
  const file = r.source === 'labels' ? c.files.labels : predictionFile(dir);
  if (!file) throw new OsteonError({ code: 'not-found', message: `case '${c.id}' has no ${r.source}` });
  const schemaPath = join(dir, c.files.schema);
  const schema = loadLabelSchema(schemaPath);
  const ctPath = join(dir, c.files.ct);
  const ct = readVolume(ctPath);
  const { set } = loadLabels({ files: [join(dir, file)], schema, schemaPath, map: {} }, ct, ctPath);
  const out = resolve(r.out);
  let files: string[], summary: string;
  switch (r.format) {
    case 'dicom-seg': {
      if (!isDicomPath(ctPath)) throw usageError(`case '${c.id}' has a ${c.files.ct} CT, not DICOM; a DICOM SEG must reference DICOM source images`);
      const algorithm = r.run ? { type: 'AUTOMATIC' as const, name: r.run } : { type: 'MANUAL' as const };
      const rep = writeDicomSeg(out, set, { ctSeries: ctPath, algorithm });
      files = [out];
      summary = `DICOM SEG, ${rep.segments} segments in ${rep.frames} frames (${algorithm.type === 'MANUAL' ? 'MANUAL' : `algorithm ${r.run}`})`;
      break;
    }
    case 'nifti':
      files = exportNiftiMasks(out, set);
      summary = `${files.length} NIfTI masks`;
      break;
    case 'seg-nrrd': {
      if (!/\.seg\.nrrd$/i.test(out)) throw badInput(out, 'out', 'a Slicer segmentation must end in .seg.nrrd', 'usage');
      const rep = exportSegNrrd(out, set);
      files = [out];
      summary = `Slicer segmentation, ${set.masks.length} segments in ${rep.layers} layer(s)`;
      break;
    }
    case 'nnunet': {
      const id = c.id.replace(/[^A-Za-z0-9_-]/g, '_');
      const j = exportNnUNet(out, [{ id, ct, labels: set }]);
      files = [join(out, 'dataset.json'), join(out, 'imagesTr', `${id}_0000.nii.gz`), join(out, 'labelsTr', `${id}.nii.gz`)];
      summary = `nnU-Net v2 dataset, ${j.numTraining} case(s)`;
      break;
    }
    default: {
      const never: never = r.format;
      throw new Error(`unhandled ${String(never)}`);
    }
  }
  let user: string | undefined;
  try { user = userInfo().username; } catch { user = undefined; }
  // Read-only: an export outside the folder is allowed (services refuse one inside); no audit line.
  if (!p.readOnly) appendAudit(p.dir, 'case.exportAs', { caseId: c.id, source: r.source, format: r.format, files, user });
  return { files, summary };
}
