/**
 * Hierarchy consistency of a "whole structure + parts" head: is the whole the union of its
 * parts? Computed for the prediction and for the ground truth alike, since annotations may
 * differ slightly too (the seed's user: "a slight difference between the large structure and
 * single structure").
 *
 * - wholeVsUnionDice = Dice(whole, ∪ parts); NaN when both are empty.
 * - partsOutsideWhole = voxels of ∪ parts not in whole.
 * - wholeOutsideParts = voxels of whole in no part.
 * - overlapVoxels = voxels in two or more parts (parts of one bone should not overlap).
 */
import { diceFromCounts } from './dice.ts';
import type { Mask } from './grid.ts';

export interface HierarchyStats {
  wholeVsUnionDice: number;
  wholeVoxels: number;
  unionVoxels: number;
  partsOutsideWhole: number;
  wholeOutsideParts: number;
  overlapVoxels: number;
}

export interface Hierarchy {
  whole: Mask;
  parts: readonly Mask[];
}

export function hierarchyStats(whole: Mask, parts: readonly Mask[]): HierarchyStats {
  parts.forEach((p, k) => {
    if (p.length !== whole.length) throw new RangeError(`hierarchy: part ${k} has ${p.length} voxels, whole ${whole.length}`);
  });
  let w = 0, u = 0, both = 0, outside = 0, uncovered = 0, overlap = 0;
  for (let v = 0; v < whole.length; v++) {
    let n = 0;
    for (const p of parts) if (p[v] !== 0) n++;
    const inW = whole[v] !== 0;
    if (inW) w++;
    if (n > 0) u++;
    if (n > 1) overlap++;
    if (inW && n > 0) both++;
    else if (inW) uncovered++;
    else if (n > 0) outside++;
  }
  return { wholeVsUnionDice: diceFromCounts(both, w, u), wholeVoxels: w, unionVoxels: u, partsOutsideWhole: outside, wholeOutsideParts: uncovered, overlapVoxels: overlap };
}

export function hierarchyConsistency(pred: Hierarchy, gt: Hierarchy): { pred: HierarchyStats; gt: HierarchyStats } {
  return { pred: hierarchyStats(pred.whole, pred.parts), gt: hierarchyStats(gt.whole, gt.parts) };
}
