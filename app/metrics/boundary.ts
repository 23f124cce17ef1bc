/**
 * Boundary Dice between two adjacent parts (e.g. two substructures of one bone): Dice measured
 * only in a band around the ground-truth interface, where a model that segments the whole bone
 * well may still put the split between the parts in the wrong place.
 *
 * Definition (this module's own; there is no standard one):
 *   band(i, j) = { v : d(v, G_i) ≤ r  and  d(v, G_j) ≤ r }
 * with G_i, G_j the ground-truth masks of parts i and j, d the Euclidean distance in mm to the
 * nearest voxel of the mask (0 inside it) and r the radius in mm. Where the parts touch along a
 * face, the band is the slab of voxels within r of that face on either side (±r mm); parts
 * separated by a gap wider than 2r have an empty band.
 *   boundaryDice_i = Dice(P_i ∩ band, G_i ∩ band), likewise for j
 * NaN when the band is empty or when both restricted masks are empty.
 *
 * The band lies within the bounding box of G_i ∪ G_j grown by ⌈r/s⌉ voxels per axis, so the
 * EDTs run on that box only (exact there: every voxel of G_i and G_j is inside it).
 */
import type { Vec3 } from '../imaging/volume.ts';
import { diceFromCounts } from './dice.ts';
import { squaredDistanceToFeatures } from '../shared/edt.ts';
import { boundingBox, boxDims, checkMask, cropMask, type Grid, type Mask } from './grid.ts';

export interface BoundaryDice {
  /** Parts (channel indices as given by the caller). */
  parts: [number, number];
  radiusMm: number;
  /** Voxels in the band. */
  bandVoxels: number;
  /** Dice of part i and part j restricted to the band. */
  dice: [number, number];
}

export function boundaryDice(
  pred: [Mask, Mask],
  gt: [Mask, Mask],
  grid: Grid,
  radiusMm: number,
  parts: [number, number] = [0, 1],
): BoundaryDice {
  if (!(radiusMm >= 0) || !Number.isFinite(radiusMm)) throw new RangeError(`boundary dice: radius ${radiusMm} mm must be >= 0`);
  [...pred, ...gt].forEach((m, k) => checkMask(m, grid.dims, `boundary dice mask ${k}`));
  const empty: BoundaryDice = { parts, radiusMm, bandVoxels: 0, dice: [NaN, NaN] };
  const margin = grid.spacing.map((s) => Math.ceil(radiusMm / s)) as Vec3;
  const box = boundingBox(gt, grid.dims, margin);
  if (!box) return empty;
  const dims = boxDims(box);
  const gi = cropMask(gt[0], grid.dims, box), gj = cropMask(gt[1], grid.dims, box);
  const di = squaredDistanceToFeatures(gi, dims, grid.spacing);
  const dj = squaredDistanceToFeatures(gj, dims, grid.spacing);
  const pi = cropMask(pred[0], grid.dims, box), pj = cropMask(pred[1], grid.dims, box);
  const r2 = radiusMm * radiusMm;
  let band = 0;
  const c = [0, 0, 0, 0, 0, 0]; // inter, pred, gt for part i, then part j
  for (let v = 0; v < gi.length; v++) {
    if (di[v] > r2 || dj[v] > r2) continue;
    band++;
    c[0] += pi[v] & gi[v]; c[1] += pi[v]; c[2] += gi[v];
    c[3] += pj[v] & gj[v]; c[4] += pj[v]; c[5] += gj[v];
  }
  if (band === 0) return empty;
  return { parts, radiusMm, bandVoxels: band, dice: [diceFromCounts(c[0], c[1], c[2]), diceFromCounts(c[3], c[4], c[5])] };
}

/** Boundary Dice for every pair of parts whose band is not empty. */
export function boundaryDiceAll(pred: readonly Mask[], gt: readonly Mask[], grid: Grid, radiusMm: number): BoundaryDice[] {
  if (pred.length !== gt.length) throw new RangeError(`boundary dice: ${pred.length} predicted parts, ${gt.length} target parts`);
  const out: BoundaryDice[] = [];
  for (let i = 0; i < gt.length; i++) {
    for (let j = i + 1; j < gt.length; j++) {
      const r = boundaryDice([pred[i], pred[j]], [gt[i], gt[j]], grid, radiusMm, [i, j]);
      if (r.bandVoxels > 0) out.push(r);
    }
  }
  return out;
}
