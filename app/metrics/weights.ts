/**
 * Cross-entropy class weights over a label map. BCE's pos_weight lives in one place,
 * app/labels/pos-weight.ts.
 */
import type { Mask } from './grid.ts';

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
