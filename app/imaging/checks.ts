/**
 * Content checks for volumes that must be of a kind: binary masks, label maps, CT with finite
 * values. Each throws OsteonError (input family: CLI exit 2) naming the file, the field and what
 * was found, so a user can fix the file.
 */
import { badInput } from '../util/errors.ts';
import { isFloat, dtypeOf } from './dtype.ts';
import type { Volume } from './volume.ts';

function where(v: Volume, idx: number): string {
  const [x, y] = v.dims;
  const i = idx % x, j = Math.floor(idx / x) % y, rest = Math.floor(idx / (x * y));
  const k = rest % v.dims[2], c = Math.floor(rest / v.dims[2]);
  return v.channels > 1 ? `(${i}, ${j}, ${k}) channel ${c}` : `(${i}, ${j}, ${k})`;
}

/** Counts NaN/±Infinity; the first offender's index. */
function nonFinite(v: Volume): { count: number; first: number } {
  let count = 0, first = -1;
  if (!isFloat(dtypeOf(v.data))) return { count, first };
  for (let i = 0; i < v.data.length; i++) {
    if (!Number.isFinite(v.data[i])) {
      if (first < 0) first = i;
      count++;
    }
  }
  return { count, first };
}

/** A CT must have finite values everywhere. */
export function requireFiniteCt(v: Volume, file: string): void {
  const { count, first } = nonFinite(v);
  if (count > 0) throw badInput(file, 'data', `${count} voxel(s) are NaN or infinite (first at ${where(v, first)}); a CT needs finite HU values`);
}

/** A label map: finite, non-negative integers (stored as any type). */
export function requireLabels(v: Volume, file: string): void {
  const { count, first } = nonFinite(v);
  if (count > 0) throw badInput(file, 'data', `${count} voxel(s) are NaN or infinite (first at ${where(v, first)}); labels must be integers`);
  let bad = 0, firstBad = -1;
  for (let i = 0; i < v.data.length; i++) {
    const x = v.data[i];
    if (x < 0 || !Number.isInteger(x)) {
      if (firstBad < 0) firstBad = i;
      bad++;
    }
  }
  if (bad > 0) throw badInput(file, 'data', `${bad} voxel(s) are not non-negative integer labels (first ${v.data[firstBad]} at ${where(v, firstBad)})`);
}

/** A binary mask: every voxel 0 or 1. Lists the values found otherwise. */
export function requireBinaryMask(v: Volume, file: string): void {
  requireLabels(v, file);
  const seen = new Set<number>();
  let bad = 0;
  for (let i = 0; i < v.data.length; i++) {
    const x = v.data[i];
    if (x !== 0 && x !== 1) {
      bad++;
      if (seen.size < 10) seen.add(x);
    }
  }
  if (bad > 0) {
    throw badInput(file, 'data', `expected a binary mask (0/1), but ${bad} voxel(s) hold other values: ${[...seen].sort((a, b) => a - b).join(', ')}${seen.size >= 10 ? ', ...' : ''}`);
  }
}
