/**
 * CT intensity normalisation: clip to an HU window, then z-score with statistics of the
 * training set's clipped voxels. The statistics are stored in the run config so inference
 * applies exactly the same mapping.
 *
 * Default window [-1000, 2000] HU: air to dense cortical bone, so the model sees the whole range
 * that separates bone from soft tissue while metal and padding (−3024) are clipped away.
 */
import type { VoxelArray } from '../../imaging/volume.ts';

export interface Normalization {
  windowHu: [number, number];
  mean: number;
  std: number;
}

export const DEFAULT_WINDOW_HU: [number, number] = [-1000, 2000];

export interface RunningStats {
  n: number;
  sum: number;
  sumSq: number;
}

/** Accumulates clipped-HU statistics over one volume (streaming, float64 sums). */
export function accumulate(stats: RunningStats, hu: VoxelArray, window: [number, number]): RunningStats {
  const [lo, hi] = window;
  let s = 0, s2 = 0;
  for (let i = 0; i < hu.length; i++) {
    const v = hu[i] < lo ? lo : hu[i] > hi ? hi : hu[i];
    s += v;
    s2 += v * v;
  }
  return { n: stats.n + hu.length, sum: stats.sum + s, sumSq: stats.sumSq + s2 };
}

export function finishStats(stats: RunningStats, window: [number, number]): Normalization {
  const mean = stats.n ? stats.sum / stats.n : 0;
  const variance = stats.n ? Math.max(stats.sumSq / stats.n - mean * mean, 0) : 1;
  return { windowHu: window, mean, std: Math.sqrt(variance) || 1 };
}

/** HU → normalised float32 (a new array; the input is not touched). */
export function normalize(hu: VoxelArray, norm: Normalization): Float32Array {
  const out = new Float32Array(hu.length);
  normalizeInto(hu, 0, hu.length, norm, out, 0);
  return out;
}

/** normalize for hu[from, to) only, written to out from index `at` (a slab at a time). */
export function normalizeInto(hu: ArrayLike<number>, from: number, to: number, norm: Normalization, out: Float32Array, at: number): void {
  const [lo, hi] = norm.windowHu;
  const inv = 1 / norm.std;
  for (let i = from, o = at; i < to; i++, o++) {
    const v = hu[i] < lo ? lo : hu[i] > hi ? hi : hu[i];
    out[o] = (v - norm.mean) * inv;
  }
}

/** The normalised value of air: what padding outside the volume is filled with. */
export function paddingValue(norm: Normalization): number {
  return (norm.windowHu[0] - norm.mean) / norm.std;
}
