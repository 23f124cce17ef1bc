/**
 * Scores predictions against ground truth, per case × per structure: Dice, HD95, mean surface
 * distance, normalised surface Dice at τ mm, boundary Dice between parts (±r mm around the
 * ground-truth interface), and whole-vs-parts consistency of prediction and ground truth.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readVolume } from '../imaging/io.ts';
import type { Vec3 } from '../imaging/volume.ts';
import { requireSameGrid } from '../imaging/resample.ts';
import { binaryMask } from '../labels/labelset.ts';
import { boundaryDiceAll, type BoundaryDice } from '../metrics/boundary.ts';
import { nanMean } from '../metrics/dice.ts';
import { evaluateCase, summarize, type ChannelMetrics, type ChannelSummary } from '../metrics/evaluate.ts';
import type { Mask } from '../metrics/grid.ts';
import { hierarchyConsistency, type HierarchyStats } from '../metrics/hierarchy.ts';
import { badInput } from '../util/errors.ts';
import { findCases, loadCase, resolveSchema } from './dataset.ts';
import { structureLayout, type StructureLayout } from './data/case.ts';

/** One case scored: per structure (channel order `[whole?, ...parts]`), between parts, whole vs parts. */
export interface CaseScore {
  metrics: ChannelMetrics[];
  boundary: BoundaryDice[];
  consistency: { pred: HierarchyStats; gt: HierarchyStats } | null;
}

export interface CaseEvaluation extends CaseScore {
  caseId: string;
}

export interface ScoreOptions {
  toleranceMm: number;
  boundaryRadiusMm: number;
}

/**
 * The one scoring of a case, used by `osteon eval` and by the app's run evaluation: Dice, HD95,
 * MSD, NSD at τ, boundary Dice between parts (±r mm around the ground-truth interface) and the
 * whole-vs-parts consistency of prediction and ground truth. Masks are in channel order.
 */
export function scoreCase(pred: readonly Mask[], gt: readonly Mask[], grid: { dims: Vec3; spacing: Vec3 }, hasWhole: boolean, o: ScoreOptions): CaseScore {
  const metrics = evaluateCase(pred, gt, grid, { nsdToleranceMm: [o.toleranceMm] });
  const first = hasWhole ? 1 : 0;
  const parts = pred.length - first;
  const boundary = parts > 1 ? boundaryDiceAll(pred.slice(first), gt.slice(first), grid, o.boundaryRadiusMm) : [];
  const consistency = hasWhole && parts > 0
    ? hierarchyConsistency({ whole: pred[0], parts: pred.slice(1) }, { whole: gt[0], parts: gt.slice(1) }) : null;
  return { metrics, boundary, consistency };
}

/** Per structure: the mean boundary Dice of the part over its interfaces (NaN for the whole or without interfaces). */
export function boundaryDicePerStructure(score: CaseScore, hasWhole: boolean): number[] {
  const first = hasWhole ? 1 : 0;
  return score.metrics.map((_m, k) => nanMean(score.boundary.flatMap((b) => b.parts.map((q, j) => (q + first === k ? b.dice[j] : NaN)))).mean);
}

/** The index along `axis` of the slice with the most voxels where pred and gt disagree; null when they agree everywhere. */
export function worstSlice(pred: ArrayLike<number>, gt: ArrayLike<number>, dims: Vec3, axis: number): number | null {
  const counts = new Float64Array(dims[axis]);
  const [nx, ny] = dims;
  for (let v = 0; v < pred.length; v++) {
    if ((pred[v] ? 1 : 0) === (gt[v] ? 1 : 0)) continue;
    const idx = axis === 0 ? v % nx : axis === 1 ? Math.floor(v / nx) % ny : Math.floor(v / (nx * ny));
    counts[idx]++;
  }
  let best = -1, bestN = 0;
  counts.forEach((n, i) => { if (n > bestN) { bestN = n; best = i; } });
  return best < 0 ? null : best;
}

export interface Evaluation {
  layout: StructureLayout;
  toleranceMm: number;
  boundaryRadiusMm: number;
  cases: CaseEvaluation[];
  /** Ground-truth cases with no prediction folder (or none of its masks): not scored. */
  skipped: string[];
  summary: ChannelSummary[];
}

export interface EvaluateDirsOptions {
  predDir: string;
  gtDir: string;
  schemaPath?: string;
  toleranceMm: number;
  boundaryRadiusMm: number;
  onCase?: (i: number, n: number, id: string) => void;
}

/**
 * Scores every ground-truth case that has predictions. A case with no prediction folder, or a
 * folder holding none of the structures' masks, is skipped and listed in `skipped`; a folder
 * holding some masks but not all is bad input (a half-written prediction). No case with
 * predictions at all is bad input too.
 */
export function evaluateDirs(o: EvaluateDirsOptions): Evaluation {
  const { schema, path } = resolveSchema(o.gtDir, o.schemaPath);
  const gtCases = findCases(o.gtDir);
  const ids = schema.structures.map((s) => s.id);
  const predFolder = (id: string) => (gtCases.length === 1 && !existsSync(join(o.predDir, id)) ? o.predDir : join(o.predDir, id));
  const hasAny = (id: string) => ids.some((s) => existsSync(join(predFolder(id), `${s}.nii.gz`)));
  const scored = gtCases.filter((c) => hasAny(c.id));
  const skipped = gtCases.filter((c) => !hasAny(c.id)).map((c) => c.id);
  if (scored.length === 0) {
    throw badInput(o.predDir, 'path', `no predictions for any of the ${gtCases.length} case(s) in ${o.gtDir} (expected ${join(o.predDir, gtCases[0]?.id ?? 'CASE', `${ids[0]}.nii.gz`)})`, 'not-found');
  }
  const cases: CaseEvaluation[] = [];
  let layout: StructureLayout | null = null;
  scored.forEach((c, i) => {
    o.onCase?.(i, scored.length, c.id);
    const gt = loadCase(c, schema, path);
    layout ??= structureLayout(gt.labels);
    const dir = predFolder(c.id);
    const gtMasks = layout.ids.map((id) => gt.labels.masks[gt.labels.schema.structures.findIndex((s) => s.id === id)]);
    const pred = layout.ids.map((id) => {
      const f = join(dir, `${id}.nii.gz`);
      if (!existsSync(f)) throw badInput(f, 'path', `missing: no prediction of "${id}" for case ${c.id}`, 'not-found');
      const v = readVolume(f);
      requireSameGrid(gt.geometry, v, gt.ctFile, f);
      return binaryMask(v.data, f);
    });
    const grid = { dims: gt.geometry.dims as Vec3, spacing: gt.geometry.spacing as Vec3 };
    cases.push({ caseId: c.id, ...scoreCase(pred, gtMasks, grid, layout.hasWhole, o) });
  });
  return { layout: layout!, toleranceMm: o.toleranceMm, boundaryRadiusMm: o.boundaryRadiusMm, cases, skipped, summary: summarize(cases.map((c) => c.metrics)) };
}

/** One CSV row per case × structure. */
export function evaluationCsv(e: Evaluation): string {
  const rows = [['case', 'structure', 'dice', 'hd95_mm', 'msd_mm', `nsd_${e.toleranceMm}mm`, 'pred_voxels', 'gt_voxels'].join(',')];
  for (const c of e.cases) {
    c.metrics.forEach((m, k) => rows.push([c.caseId, e.layout.ids[k], m.dice, m.hd95 ?? '', m.msd ?? '', m.nsd?.[0] ?? '', m.predCount, m.gtCount].join(',')));
  }
  return rows.join('\n') + '\n';
}
