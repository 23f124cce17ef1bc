/**
 * Two segmentations of one case, structure by structure: Dice and HD95 from app/metrics (the same
 * functions `osteon eval` uses, so the numbers agree), volumes in mL and the FP/FN masks (b against
 * a: FP = in b only, FN = in a only). Masks are 0/1 Uint8Arrays, x fastest (app/metrics/grid.ts);
 * inputs are never written to.
 * Empty cases: both masks empty → Dice and HD95 NaN; exactly one empty → Dice 0, HD95 Infinity.
 */
import { dice } from '../metrics/dice.ts';
import type { Grid } from '../metrics/grid.ts';
import { surfaceMetrics } from '../metrics/surface.ts';

export interface MaskComparison {
  dice: number;
  hd95: number;
  volumeAMl: number;
  volumeBMl: number;
  fpCount: number;
  fnCount: number;
  fp: Uint8Array;
  fn: Uint8Array;
}

export function compareMasks(a: Uint8Array, b: Uint8Array, grid: Grid): MaskComparison {
  if (a.length !== b.length) throw new RangeError(`compare: ${a.length} voxels against ${b.length}`);
  const d = dice(b, a);
  const voxelMl = (grid.spacing[0] * grid.spacing[1] * grid.spacing[2]) / 1000;
  const fp = new Uint8Array(a.length), fn = new Uint8Array(a.length);
  let fpCount = 0, fnCount = 0;
  for (let v = 0; v < a.length; v++) {
    const x = a[v] !== 0, y = b[v] !== 0;
    if (y && !x) { fp[v] = 1; fpCount++; } else if (x && !y) { fn[v] = 1; fnCount++; }
  }
  const hd95 = d.predCount === 0 && d.gtCount === 0 ? NaN : surfaceMetrics(b, a, grid).hd95;
  return { dice: d.dice, hd95, volumeAMl: d.gtCount * voxelMl, volumeBMl: d.predCount * voxelMl, fpCount, fnCount, fp, fn };
}
