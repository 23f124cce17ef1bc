/**
 * The grid that every metric works on: a binary mask as a typed array (any non-zero value is
 * foreground), dims [nx, ny, nz] with x fastest, as app/imaging/volume.ts lays voxels out:
 *   offset = x + nx * (y + ny * z)
 * and the voxel spacing [sx, sy, sz] in mm. A 2D image is a volume with nz = 1.
 *
 * Metrics never write to their inputs; crops are copies.
 */
import type { Vec3, VoxelArray } from '../imaging/volume.ts';

/** A 0/1 (or 0/non-zero) mask. Number arrays are accepted for tests and small inputs. */
export type Mask = VoxelArray | readonly number[];

export interface Grid {
  dims: Vec3;
  /** mm per voxel along x, y, z; only surface distances use it. */
  spacing: Vec3;
}

/** Half-open box [lo, hi) in voxel indices. */
export interface Box {
  lo: Vec3;
  hi: Vec3;
}

export function voxels(dims: Vec3): number {
  return dims[0] * dims[1] * dims[2];
}

export function boxDims(b: Box): Vec3 {
  return [b.hi[0] - b.lo[0], b.hi[1] - b.lo[1], b.hi[2] - b.lo[2]];
}

export function checkMask(m: Mask, dims: Vec3, what: string): void {
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 1) throw new RangeError(`${what}: dims ${dims.join('×')} must be positive integers`);
  }
  if (m.length !== voxels(dims)) throw new RangeError(`${what}: ${m.length} voxels, dims ${dims.join('×')} need ${voxels(dims)}`);
}

/**
 * Bounding box of the foreground of any of `masks` (null when all are empty), grown by
 * `margin` voxels per axis and clipped to the volume. One pass per mask, row by row.
 */
export function boundingBox(masks: readonly Mask[], dims: Vec3, margin: Vec3 = [0, 0, 0]): Box | null {
  const [nx, ny, nz] = dims;
  const lo: Vec3 = [nx, ny, nz];
  const hi: Vec3 = [-1, -1, -1];
  const ext: [number, number] = [-1, -1];
  for (const m of masks) {
    const words = wordView(m, nx);
    let o = 0;
    for (let z = 0; z < nz; z++) {
      for (let y = 0; y < ny; y++, o += nx) {
        if (words ? !rowExtentWords(m as Uint8Array, words, o, nx, ext) : !rowExtent(m, o, nx, ext)) continue;
        if (ext[0] < lo[0]) lo[0] = ext[0];
        if (ext[1] > hi[0]) hi[0] = ext[1];
        if (y < lo[1]) lo[1] = y;
        if (y > hi[1]) hi[1] = y;
        if (z < lo[2]) lo[2] = z;
        if (z > hi[2]) hi[2] = z;
      }
    }
  }
  if (hi[0] < 0) return null;
  return {
    lo: [Math.max(0, lo[0] - margin[0]), Math.max(0, lo[1] - margin[1]), Math.max(0, lo[2] - margin[2])],
    hi: [Math.min(nx, hi[0] + 1 + margin[0]), Math.min(ny, hi[1] + 1 + margin[1]), Math.min(nz, hi[2] + 1 + margin[2])],
  };
}

/**
 * A Uint32 view of a byte mask when rows start on word boundaries, so empty stretches are
 * skipped four voxels at a time (most of a CT-sized mask is empty); null otherwise.
 */
export function wordView(m: Mask, rowLength = 4): Uint32Array | null {
  if (!(m instanceof Uint8Array) || m.byteOffset % 4 !== 0 || m.length % 4 !== 0 || rowLength % 4 !== 0) return null;
  return new Uint32Array(m.buffer, m.byteOffset, m.length / 4);
}

/** First and last foreground x of the row at offset o into ext; false when the row is empty. */
function rowExtent(m: Mask, o: number, nx: number, ext: [number, number]): boolean {
  let first = -1;
  for (let x = 0; x < nx; x++) if (m[o + x] !== 0) { first = x; break; }
  if (first < 0) return false;
  let last = first;
  for (let x = nx - 1; x > first; x--) if (m[o + x] !== 0) { last = x; break; }
  ext[0] = first;
  ext[1] = last;
  return true;
}

function rowExtentWords(m: Uint8Array, w: Uint32Array, o: number, nx: number, ext: [number, number]): boolean {
  const w0 = o >> 2, w1 = (o + nx) >> 2;
  let a = w0;
  while (a < w1 && w[a] === 0) a++;
  if (a === w1) return false;
  let b = w1 - 1;
  while (w[b] === 0) b--;
  let first = a * 4;
  while (m[first] === 0) first++;
  let last = b * 4 + 3;
  while (m[last] === 0) last--;
  ext[0] = first - o;
  ext[1] = last - o;
  return true;
}

/** Copies the box out of `m` as a 0/1 Uint8Array laid out like the volume (x fastest). */
export function cropMask(m: Mask, dims: Vec3, box: Box): Uint8Array {
  const [bx, by, bz] = boxDims(box);
  const out = new Uint8Array(bx * by * bz);
  let o = 0;
  for (let z = box.lo[2]; z < box.hi[2]; z++) {
    for (let y = box.lo[1]; y < box.hi[1]; y++) {
      const row = box.lo[0] + dims[0] * (y + dims[1] * z);
      for (let x = 0; x < bx; x++, o++) out[o] = m[row + x] !== 0 ? 1 : 0;
    }
  }
  return out;
}

/** Foreground count (non-zero voxels). */
export function countForeground(m: Mask): number {
  let n = 0;
  for (let i = 0; i < m.length; i++) if (m[i] !== 0) n++;
  return n;
}
