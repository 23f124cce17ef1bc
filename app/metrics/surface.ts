/**
 * Surface distances between two binary masks on an anisotropic grid: HD95 (any percentile),
 * Hausdorff (max), mean symmetric surface distance (MSD) and normalized surface Dice (NSD).
 *
 * Definitions (the project oracle's, test/fixtures/oracle/README.md "seg_metrics"; MONAI's
 * `compute_hausdorff_distance(percentile=95)` and `compute_average_surface_distance(symmetric=True)`):
 * - surface(M) = voxels of M with at least one of their 6 face neighbours outside M; positions
 *   outside the volume count as outside, so mask voxels on the volume border are surface.
 *   Axes of length 1 in the grid are skipped by default (`flatAxes: 'skip'`), so a [nx, ny, 1]
 *   grid is a 2D image with 4 neighbours; `flatAxes: 'outside'` keeps the oracle's literal rule.
 * - d_AB = for each voxel of surface(A), the Euclidean distance in mm to the nearest voxel of
 *   surface(B); d_BA likewise.
 * - hd95 = max(P95(d_AB), P95(d_BA)), P = numpy.percentile with linear interpolation.
 * - msd = mean of the concatenation of d_AB and d_BA (not the mean of two means).
 * - nsd(τ) = (|{a ∈ ∂A : d(a,∂B) ≤ τ}| + |{b ∈ ∂B : d(b,∂A) ≤ τ}|) / (|∂A| + |∂B|).
 *   This is VOXEL-COUNT based: every surface voxel weighs the same. DeepMind's surface-distance
 *   package and MONAI's SurfaceDiceMetric (use_subvoxels=True) weigh surface elements by area,
 *   which gives somewhat different numbers on anisotropic grids.
 * Empty cases: both masks empty → NaN for every output; exactly one empty → hd95 = hd = msd =
 * Infinity and nsd = 0 (the oracle fixes Infinity where MONAI returns inf or nan).
 *
 * Distances come from an exact EDT (./edt.ts) of the complement of the other surface, evaluated
 * on this surface, inside the joint bounding box of A ∪ B: all surface voxels lie in that box, so
 * the transform restricted to it is still exact, and a 512×512×300 case costs only its box.
 */
import type { Vec3 } from '../imaging/volume.ts';
import { squaredDistanceToFeatures } from '../shared/edt.ts';
import { boundingBox, boxDims, checkMask, cropMask, type Grid, type Mask } from './grid.ts';

export interface SurfaceMetrics {
  /** The `percentile` of the symmetric surface distances (mm); 95 by default. */
  hd95: number;
  /** Hausdorff distance (max of both directed maxima), mm. */
  hd: number;
  /** Mean symmetric surface distance, mm. */
  msd: number;
  /** Normalized surface Dice at each tolerance of `nsdToleranceMm`, same order. */
  nsd: number[];
  /** Surface voxel counts |∂pred|, |∂gt|. */
  surfaceVoxels: [number, number];
}

/**
 * How an axis of length 1 is treated: 'skip' (default) ignores it, so [nx, ny, 1] is a 2D
 * image; 'outside' applies the oracle's rule literally (positions outside the volume are
 * outside, so every voxel of a one-slice volume is surface).
 */
export type FlatAxes = 'skip' | 'outside';

export interface SurfaceOptions {
  /** Percentile for `hd95` (0..100); default 95. */
  percentile?: number;
  /** NSD tolerances in mm; default none. */
  nsdToleranceMm?: readonly number[];
  flatAxes?: FlatAxes;
}

/**
 * surface(M) of a 0/1 mask: 1 where M is 1 and a face neighbour is 0 or outside the array.
 * Axes flagged in `skip` are not looked along (default: the axes of length 1, so a [nx, ny, 1]
 * image is 2D with 4 in-plane neighbours, as MONAI's 2D edges, rather than a slab that is all
 * surface). A mask with every axis skipped (one voxel) is its own surface.
 * Returns a new array; the input is not modified.
 */
export function surfaceOf(m: Uint8Array, dims: Vec3, skip: readonly boolean[] = dims.map((d) => d === 1)): Uint8Array {
  const [nx, ny, nz] = dims;
  const sy = nx, sz = nx * ny;
  const out = new Uint8Array(m.length);
  if (skip[0] && skip[1] && skip[2]) {
    for (let i = 0; i < m.length; i++) out[i] = m[i] !== 0 ? 1 : 0;
    return out;
  }
  let o = 0;
  for (let z = 0; z < nz; z++) {
    const zIn = skip[2] || (z > 0 && z < nz - 1);
    for (let y = 0; y < ny; y++) {
      const yIn = skip[1] || (y > 0 && y < ny - 1);
      for (let x = 0; x < nx; x++, o++) {
        if (m[o] === 0) continue;
        const inner = zIn && yIn && (skip[0] || (x > 0 && x < nx - 1 && m[o - 1] !== 0 && m[o + 1] !== 0)) &&
          (skip[1] || (m[o - sy] !== 0 && m[o + sy] !== 0)) &&
          (skip[2] || (m[o - sz] !== 0 && m[o + sz] !== 0));
        if (!inner) out[o] = 1;
      }
    }
  }
  return out;
}

/**
 * numpy.percentile(d, q) with the default linear method on an ascending-sorted array:
 * r = q/100·(m−1), i = ⌊r⌋, P = d[i] + (r−i)·(d[min(i+1,m−1)] − d[i]).
 */
export function percentileSorted(sorted: ArrayLike<number>, q: number): number {
  const m = sorted.length;
  if (m === 0) return NaN;
  const r = (q / 100) * (m - 1);
  const i = Math.floor(r);
  const a = sorted[i];
  const b = sorted[Math.min(i + 1, m - 1)];
  return a + (r - i) * (b - a);
}

/** Directed distances (mm) from each voxel of `from` to the nearest voxel of `to` (both surfaces). */
function directed(from: Uint8Array, to: Uint8Array, dims: Vec3, spacing: Vec3, count: number): Float64Array {
  const d2 = squaredDistanceToFeatures(to, dims, spacing);
  const out = new Float64Array(count);
  let k = 0;
  for (let i = 0; i < from.length; i++) if (from[i] !== 0) out[k++] = Math.sqrt(d2[i]);
  return out;
}

function ones(m: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < m.length; i++) n += m[i];
  return n;
}

/** Surface metrics of pred (A) against gt (B). Neither input is modified. */
export function surfaceMetrics(pred: Mask, gt: Mask, grid: Grid, opts: SurfaceOptions = {}): SurfaceMetrics {
  checkMask(pred, grid.dims, 'pred');
  checkMask(gt, grid.dims, 'gt');
  const q = opts.percentile ?? 95;
  if (!(q >= 0 && q <= 100)) throw new RangeError(`percentile ${q} must be in 0..100`);
  const taus = opts.nsdToleranceMm ?? [];
  // Decided on the whole grid, never on a crop: a crop one voxel thick is still 3D.
  const skip = grid.dims.map((d) => d === 1 && opts.flatAxes !== 'outside');
  const boxA = boundingBox([pred], grid.dims);
  const boxB = boundingBox([gt], grid.dims);
  if (!boxA && !boxB) return { hd95: NaN, hd: NaN, msd: NaN, nsd: taus.map(() => NaN), surfaceVoxels: [0, 0] };
  if (!boxA || !boxB) {
    const nA = boxA ? ones(surfaceOf(cropMask(pred, grid.dims, boxA), boxDims(boxA), skip)) : 0;
    const nB = boxB ? ones(surfaceOf(cropMask(gt, grid.dims, boxB), boxDims(boxB), skip)) : 0;
    return { hd95: Infinity, hd: Infinity, msd: Infinity, nsd: taus.map(() => 0), surfaceVoxels: [nA, nB] };
  }
  const box = {
    lo: [Math.min(boxA.lo[0], boxB.lo[0]), Math.min(boxA.lo[1], boxB.lo[1]), Math.min(boxA.lo[2], boxB.lo[2])] as Vec3,
    hi: [Math.max(boxA.hi[0], boxB.hi[0]), Math.max(boxA.hi[1], boxB.hi[1]), Math.max(boxA.hi[2], boxB.hi[2])] as Vec3,
  };
  const dims = boxDims(box);
  // Voxels beyond the box are background, so the crop's edge may stand in for "outside".
  const sA = surfaceOf(cropMask(pred, grid.dims, box), dims, skip);
  const sB = surfaceOf(cropMask(gt, grid.dims, box), dims, skip);
  const nA = ones(sA), nB = ones(sB);
  const dAB = directed(sA, sB, dims, grid.spacing, nA);
  const dBA = directed(sB, sA, dims, grid.spacing, nB);
  dAB.sort();
  dBA.sort();
  let sum = 0;
  for (let i = 0; i < nA; i++) sum += dAB[i];
  for (let i = 0; i < nB; i++) sum += dBA[i];
  const nsd = taus.map((t) => (countAtMost(dAB, t) + countAtMost(dBA, t)) / (nA + nB));
  return {
    hd95: Math.max(percentileSorted(dAB, q), percentileSorted(dBA, q)),
    hd: Math.max(dAB[nA - 1], dBA[nB - 1]),
    msd: sum / (nA + nB),
    nsd,
    surfaceVoxels: [nA, nB],
  };
}

/** Number of values ≤ t in an ascending array (binary search). */
function countAtMost(sorted: Float64Array, t: number): number {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
