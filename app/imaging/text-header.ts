/** Helpers for the text-header formats (NRRD, MetaImage): vectors, header/data split. */
import { badInput } from '../util/errors.ts';
import { sizeText } from './files.ts';
import { MAX_BYTES_ENV } from './types.ts';

/** Largest text header accepted before the first blank line (NRRD) or data (MetaImage). */
export const MAX_TEXT_HEADER = 1024 * 1024;

export function parseNumbers(file: string, field: string, text: string, count?: number): number[] {
  const parts = text.trim().split(/[\s,]+/).filter((p) => p.length > 0);
  const nums = parts.map(Number);
  if (nums.some((x) => !Number.isFinite(x))) throw badInput(file, field, `"${text.trim()}" is not a list of numbers`);
  if (count !== undefined && nums.length !== count) throw badInput(file, field, `"${text.trim()}" has ${nums.length} values, expected ${count}`);
  return nums;
}

/** Positive integer sizes, each checked; the product is checked by the caller against maxBytes. */
export function parseSizes(file: string, field: string, text: string, count: number): number[] {
  const s = parseNumbers(file, field, text, count);
  for (const x of s) if (!Number.isInteger(x) || x < 1) throw badInput(file, field, `"${text.trim()}": every size must be an integer >= 1`);
  return s;
}

/** "(x,y,z)" → [x,y,z]; "none" → null. */
export function parseVector(file: string, field: string, text: string): number[] | null {
  const t = text.trim();
  if (t === 'none') return null;
  const m = /^\((.*)\)$/.exec(t);
  if (!m) throw badInput(file, field, `"${t}" is not a vector like (x,y,z)`);
  return parseNumbers(file, field, m[1], 3);
}

/** Splits "(a,b,c) none (d,e,f)" into its vectors. */
export function splitVectors(text: string): string[] {
  return text.trim().match(/\([^)]*\)|none/g) ?? [];
}

export function checkPayload(file: string, field: string, count: number, bytesPerVoxel: number, maxBytes: number): number {
  const bytes = count * bytesPerVoxel;
  if (!Number.isSafeInteger(bytes) || bytes > maxBytes) {
    throw badInput(file, field, `${count} voxels × ${bytesPerVoxel} bytes = ${sizeText(bytes)} exceeds the limit of ${sizeText(maxBytes)} (set ${MAX_BYTES_ENV} to change it)`);
  }
  return bytes;
}

/**
 * Moves the channel axis: the file stores voxels with `channelAxis` at position `pos` among
 * axes of sizes `sizes` (fastest first); Osteon wants i, j, k, then channel (slowest).
 */
export function channelsLast<T extends { length: number; [i: number]: number }>(src: T, dst: T, sizes: number[], pos: number): T {
  const c = sizes[pos];
  const inner = sizes.slice(0, pos).reduce((a, b) => a * b, 1);
  const outer = sizes.slice(pos + 1).reduce((a, b) => a * b, 1);
  const spatial = inner * outer;
  for (let o = 0; o < outer; o++) {
    for (let ch = 0; ch < c; ch++) {
      const s0 = (o * c + ch) * inner, d0 = ch * spatial + o * inner;
      for (let i = 0; i < inner; i++) dst[d0 + i] = src[s0 + i];
    }
  }
  return dst;
}
