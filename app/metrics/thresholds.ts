/**
 * Threshold tuning for one sigmoid channel: precision, recall and Dice of `p >= t` against the
 * ground truth, pooled over cases (voxels of all cases counted together, like a PR curve over a
 * validation set), for every threshold of a grid, and the threshold with the best Dice.
 *
 * One pass over the voxels: probabilities go into BINS uniform bins for positives and negatives,
 * then the counts at threshold t are suffix sums from bin ceil(t·BINS), exact for thresholds on
 * the 1/BINS grid (the grid used here is in steps of 0.01, BINS = 1000). Empty cases: with no
 * positives anywhere recall is NaN; with no predicted voxels precision is NaN; Dice is NaN only
 * when both are empty (MONAI's convention, see ./dice.ts).
 */
import type { Mask } from './grid.ts';

export const BINS = 1000;

export interface ThresholdCurve {
  thresholds: number[];
  precision: number[];
  recall: number[];
  dice: number[];
  /** The grid threshold with the highest Dice (the lowest such threshold on ties); NaN Dice when undefined. */
  best: { threshold: number; dice: number };
}

/** The default grid: 0.05, 0.10, ..., 0.95. */
export function thresholdGrid(step = 0.05, from = step, to = 1 - step): number[] {
  const out: number[] = [];
  for (let t = from; t <= to + 1e-9; t += step) out.push(Math.round(t * BINS) / BINS);
  return out;
}

/** Histograms of probabilities of foreground (pos) and background (neg) voxels; accumulates into `into`. */
export function probabilityHistogram(probs: ArrayLike<number>, gt: Mask, into?: { pos: Float64Array; neg: Float64Array }): { pos: Float64Array; neg: Float64Array } {
  if (probs.length !== gt.length) throw new RangeError(`thresholds: ${probs.length} probabilities, ${gt.length} mask voxels`);
  const h = into ?? { pos: new Float64Array(BINS + 1), neg: new Float64Array(BINS + 1) };
  for (let v = 0; v < probs.length; v++) {
    const p = probs[v];
    // bin b holds p in [b/BINS, (b+1)/BINS); p = 1 gets its own last bin.
    const b = p >= 1 ? BINS : p <= 0 || !(p === p) ? 0 : Math.floor(p * BINS);
    if (gt[v]) h.pos[b]++;
    else h.neg[b]++;
  }
  return h;
}

/** Precision, recall and Dice at each threshold from pooled histograms. */
export function curveFromHistogram(h: { pos: Float64Array; neg: Float64Array }, thresholds: readonly number[]): ThresholdCurve {
  const sufPos = new Float64Array(BINS + 2), sufNeg = new Float64Array(BINS + 2);
  for (let b = BINS; b >= 0; b--) {
    sufPos[b] = sufPos[b + 1] + h.pos[b];
    sufNeg[b] = sufNeg[b + 1] + h.neg[b];
  }
  const positives = sufPos[0];
  const out: ThresholdCurve = { thresholds: [...thresholds], precision: [], recall: [], dice: [], best: { threshold: 0.5, dice: NaN } };
  for (const t of thresholds) {
    const b = Math.min(BINS + 1, Math.max(0, Math.ceil(t * BINS - 1e-9)));
    const tp = sufPos[b], fp = sufNeg[b], fn = positives - tp;
    out.precision.push(tp + fp > 0 ? tp / (tp + fp) : NaN);
    out.recall.push(positives > 0 ? tp / positives : NaN);
    const d = 2 * tp + fp + fn > 0 ? (2 * tp) / (2 * tp + fp + fn) : NaN;
    out.dice.push(d);
    if (Number.isFinite(d) && !(d <= out.best.dice)) out.best = { threshold: t, dice: d };
  }
  return out;
}

/** The curve of one channel over several cases: probs[case] and gts[case] on the same grids. */
export function thresholdCurve(probs: readonly ArrayLike<number>[], gts: readonly Mask[], thresholds: readonly number[] = thresholdGrid()): ThresholdCurve {
  if (probs.length !== gts.length) throw new RangeError(`thresholds: ${probs.length} probability volumes, ${gts.length} masks`);
  let h: { pos: Float64Array; neg: Float64Array } | undefined;
  probs.forEach((p, i) => { h = probabilityHistogram(p, gts[i], h); });
  return curveFromHistogram(h ?? { pos: new Float64Array(BINS + 1), neg: new Float64Array(BINS + 1) }, thresholds);
}
