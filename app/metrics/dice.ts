/**
 * Dice overlap of binary masks and NaN-aware means.
 *
 * dice = 2|A∩B| / (|A|+|B|); NaN when both masks are empty (nothing to score), 0 when exactly one
 * is empty. Means skip NaN and report how many values they skipped, as MONAI's DiceMetric does
 * with `ignore_empty` (metrics/meandice.py).
 */
import { wordView, type Mask } from './grid.ts';

export interface DiceResult {
  dice: number;
  intersection: number;
  predCount: number;
  gtCount: number;
}

/** Dice of pred against gt (non-zero = foreground). Same length required; inputs untouched. */
export function dice(pred: Mask, gt: Mask): DiceResult {
  if (pred.length !== gt.length) throw new RangeError(`dice: pred has ${pred.length} voxels, gt ${gt.length}`);
  const wp = wordView(pred), wg = wordView(gt);
  if (wp && wg) return diceWords(pred as Uint8Array, gt as Uint8Array, wp, wg);
  let inter = 0, p = 0, g = 0;
  for (let i = 0; i < pred.length; i++) {
    const a = pred[i] !== 0, b = gt[i] !== 0;
    if (a) p++;
    if (b) g++;
    if (a && b) inter++;
  }
  return { dice: diceFromCounts(inter, p, g), intersection: inter, predCount: p, gtCount: g };
}

/**
 * Four voxels at a time: all-zero words are skipped, words of 0/1 bytes are counted with
 * imul(w, 0x01010101) >>> 24 (the byte sum), anything else voxel by voxel.
 */
function diceWords(pred: Uint8Array, gt: Uint8Array, wp: Uint32Array, wg: Uint32Array): DiceResult {
  let inter = 0, p = 0, g = 0;
  for (let i = 0; i < wp.length; i++) {
    const a = wp[i], b = wg[i];
    if ((a | b) === 0) continue;
    if (((a | b) & 0xfefefefe) === 0) {
      p += Math.imul(a, 0x01010101) >>> 24;
      g += Math.imul(b, 0x01010101) >>> 24;
      inter += Math.imul(a & b, 0x01010101) >>> 24;
      continue;
    }
    for (let k = 4 * i; k < 4 * i + 4; k++) {
      const x = pred[k] !== 0, y = gt[k] !== 0;
      if (x) p++;
      if (y) g++;
      if (x && y) inter++;
    }
  }
  return { dice: diceFromCounts(inter, p, g), intersection: inter, predCount: p, gtCount: g };
}

export function diceFromCounts(intersection: number, predCount: number, gtCount: number): number {
  const den = predCount + gtCount;
  return den === 0 ? NaN : (2 * intersection) / den;
}

export interface NanMean {
  /** Mean of the non-NaN values; NaN when there is none. */
  mean: number;
  /** How many values were averaged. */
  count: number;
  /** How many NaN values were skipped. */
  nanCount: number;
}

export function nanMean(values: ArrayLike<number>): NanMean {
  let sum = 0, count = 0, nanCount = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) nanCount++;
    else { sum += v; count++; }
  }
  return { mean: count ? sum / count : NaN, count, nanCount };
}
