/**
 * Copies a box of a 3D volume (voxel order of imaging/volume.ts: i fastest) into a dense,
 * channels-last block. The block's three axes are volume axes in any order, slowest first, so
 * one routine serves both models:
 *   2D (2.5D) slice:  axes [row, col, slice], size [H, W, 2·context+1] → [H, W, C]
 *   3D patch:         axes [2, 1, 0],         size [D, H, W]          → [D, H, W]
 * Voxels outside the volume read as `fill`. `flip[a]` mirrors block axis a (augmentation, TTA).
 */
import type { Vec3 } from '../../imaging/volume.ts';

export interface BlockSpec {
  axes: [number, number, number];
  start: [number, number, number];
  size: [number, number, number];
  flip?: [boolean, boolean, boolean];
}

export function extractBlock(
  src: ArrayLike<number>,
  dims: Vec3,
  spec: BlockSpec,
  fill: number,
  out: Float32Array | Int32Array,
  outOffset = 0,
): void {
  const strides = [1, dims[0], dims[0] * dims[1]];
  const [a0, a1, a2] = spec.axes;
  const [s0, s1, s2] = spec.size;
  const flip = spec.flip ?? [false, false, false];
  const idx = (b: number, x: number, n: number): number => spec.start[b] + (flip[b] ? n - 1 - x : x);
  // The common case of whole-CT inference: block axis 1 is volume axis 0 (stride 1) unflipped, so
  // each (x0, x2) line is one contiguous run of the source (about 10× faster than the general loop).
  if (a1 === 0 && !flip[1]) {
    const lo = Math.max(0, -spec.start[1]), hi = Math.max(lo, Math.min(s1, dims[0] - spec.start[1]));
    for (let x0 = 0; x0 < s0; x0++) {
      const v0 = idx(0, x0, s0);
      const in0 = v0 >= 0 && v0 < dims[a0];
      for (let x2 = 0; x2 < s2; x2++) {
        const v2 = idx(2, x2, s2);
        let o = outOffset + x0 * s1 * s2 + x2;
        if (!in0 || v2 < 0 || v2 >= dims[a2] || lo >= hi) {
          for (let x1 = 0; x1 < s1; x1++, o += s2) out[o] = fill;
          continue;
        }
        const base = v0 * strides[a0] + v2 * strides[a2] + spec.start[1];
        let x1 = 0;
        for (; x1 < lo; x1++, o += s2) out[o] = fill;
        if (s2 === 1 && src instanceof Float32Array && out instanceof Float32Array) {
          out.set(src.subarray(base + lo, base + hi), o);
          o += hi - lo;
          x1 = hi;
        } else {
          for (; x1 < hi; x1++, o += s2) out[o] = src[base + x1];
        }
        for (; x1 < s1; x1++, o += s2) out[o] = fill;
      }
    }
    return;
  }
  let o = outOffset;
  for (let x0 = 0; x0 < s0; x0++) {
    const v0 = idx(0, x0, s0);
    const in0 = v0 >= 0 && v0 < dims[a0];
    for (let x1 = 0; x1 < s1; x1++) {
      const v1 = idx(1, x1, s1);
      const in1 = in0 && v1 >= 0 && v1 < dims[a1];
      const base = v0 * strides[a0] + v1 * strides[a1];
      for (let x2 = 0; x2 < s2; x2++) {
        const v2 = idx(2, x2, s2);
        out[o++] = in1 && v2 >= 0 && v2 < dims[a2] ? src[base + v2 * strides[a2]] : fill;
      }
    }
  }
}

/**
 * Writes a dense block back into a volume (the inverse of extractBlock without flips), adding
 * `weight·value` into `acc` and `weight` into `wsum` where both are given (sliding-window blending).
 */
export function accumulateBlock(
  block: ArrayLike<number>,
  dims: Vec3,
  spec: BlockSpec,
  acc: Float32Array,
  weights: ArrayLike<number> | null,
  wsum: Float32Array | null,
  channels = 1,
  channel = 0,
): void {
  const strides = [1, dims[0], dims[0] * dims[1]];
  const [a0, a1, a2] = spec.axes;
  const [s0, s1, s2] = spec.size;
  let b = 0;
  for (let x0 = 0; x0 < s0; x0++) {
    const v0 = spec.start[0] + x0;
    for (let x1 = 0; x1 < s1; x1++) {
      const v1 = spec.start[1] + x1;
      for (let x2 = 0; x2 < s2; x2++, b++) {
        const v2 = spec.start[2] + x2;
        if (v0 < 0 || v0 >= dims[a0] || v1 < 0 || v1 >= dims[a1] || v2 < 0 || v2 >= dims[a2]) continue;
        const v = v0 * strides[a0] + v1 * strides[a1] + v2 * strides[a2];
        const w = weights ? weights[b] : 1;
        acc[v] += w * block[b * channels + channel];
        if (wsum) wsum[v] += w;
      }
    }
  }
}
