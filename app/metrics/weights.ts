/**
 * Loss-weight recommendations from a set of masks: BCEWithLogits `pos_weight` per channel for
 * multi-label heads, and class weights for cross-entropy over a label map.
 *
 * This is the canonical metric-side definition (the oracle's `pos_weight` kind); label
 * analysis in app/labels/ may report similar numbers.
 */
import type { Mask } from './grid.ts';

/**
 * pos_weight = negatives / positives (PyTorch `BCEWithLogitsLoss(pos_weight=…)`: a positive
 * voxel then weighs as much in total as all negatives). Infinity when there is no positive,
 * 0 when there is no negative.
 */
export function posWeightFromCounts(positives: number, negatives: number): number {
  if (positives === 0) return Infinity;
  return negatives / positives;
}

export interface ChannelCounts {
  positives: number[];
  negatives: number[];
}

/** Counts ones and zeros per channel over many cases; cases[i][c] is channel c of case i. */
export function channelCounts(cases: readonly (readonly Mask[])[]): ChannelCounts {
  const C = cases.length ? cases[0].length : 0;
  const positives = new Array<number>(C).fill(0), negatives = new Array<number>(C).fill(0);
  for (const [i, chans] of cases.entries()) {
    if (chans.length !== C) throw new RangeError(`weights: case ${i} has ${chans.length} channels, case 0 has ${C}`);
    chans.forEach((m, c) => {
      let p = 0;
      for (let v = 0; v < m.length; v++) if (m[v] !== 0) p++;
      positives[c] += p;
      negatives[c] += m.length - p;
    });
  }
  return { positives, negatives };
}

/** pos_weight per channel over many cases (see posWeightFromCounts). */
export function posWeights(cases: readonly (readonly Mask[])[]): number[] {
  const { positives, negatives } = channelCounts(cases);
  return positives.map((p, c) => posWeightFromCounts(p, negatives[c]));
}

/** Voxel count per class 0..classes-1 of integer label maps; values outside the range throw. */
export function labelCounts(labels: readonly Mask[], classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (const m of labels) {
    for (let v = 0; v < m.length; v++) {
      const k = m[v];
      if (!(k >= 0 && k < classes) || !Number.isInteger(k)) throw new RangeError(`weights: label ${k} outside 0..${classes - 1}`);
      counts[k]++;
    }
  }
  return counts;
}

/**
 * Cross-entropy class weights: inverse frequency raised to `power` (1 = inverse frequency,
 * 0.5 = its square root, a gentler choice for very rare classes), normalised so the weights of
 * the classes present average 1. Absent classes get weight 0 (nothing to weigh; a
 * `weight` entry of 0 keeps PyTorch's weighted mean defined).
 *   w_k = n_k^(−p) · K_present / Σ_{j present} n_j^(−p)
 */
export function classWeights(counts: readonly number[], power = 1): number[] {
  const raw = counts.map((n) => (n > 0 ? Math.pow(n, -power) : 0));
  const present = counts.filter((n) => n > 0).length;
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((r) => (r > 0 ? (r * present) / sum : 0));
}
