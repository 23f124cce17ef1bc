/**
 * In-plane rotation and scaling of a 2D (2.5D) training sample, the spatial augmentation
 * nnU-Net applies: output pixel (r, c) samples the volume at
 *   centre + s⁻¹·R(−θ)·((r, c) − blockCentre)
 * in the slice plane (voxel units), bilinearly for the image (each context slice) and by nearest
 * neighbour for targets, so labels stay labels. Outside the volume reads as `fill`.
 */
import type { Vec3 } from '../../imaging/volume.ts';

export interface PlaneTransform {
  /** Volume axes of block rows, block columns, and the slice axis. */
  axes: [number, number, number];
  /** Volume coordinates (row axis, column axis) that the block centre maps to. */
  centre: [number, number];
  angleRad: number;
  scale: number;
  /** Mirror rows / columns after the transform. */
  flip: [boolean, boolean];
}

function sampler(src: ArrayLike<number>, dims: Vec3, axes: [number, number, number], slice: number, fill: number, linear: boolean) {
  const strides = [1, dims[0], dims[0] * dims[1]];
  const [ar, ac, as] = axes;
  const nr = dims[ar], nc = dims[ac];
  const inSlice = slice >= 0 && slice < dims[as];
  const base = slice * strides[as];
  const at = (r: number, c: number) => (r >= 0 && r < nr && c >= 0 && c < nc ? src[base + r * strides[ar] + c * strides[ac]] : fill);
  return (r: number, c: number): number => {
    if (!inSlice) return fill;
    if (!linear) return at(Math.round(r), Math.round(c));
    const r0 = Math.floor(r), c0 = Math.floor(c), fr = r - r0, fc = c - c0;
    return (1 - fr) * ((1 - fc) * at(r0, c0) + fc * at(r0, c0 + 1)) + fr * ((1 - fc) * at(r0 + 1, c0) + fc * at(r0 + 1, c0 + 1));
  };
}

/**
 * Writes an [H, W, channels] block: channel k reads slice `slices[k]`. `linear` for images,
 * nearest for targets.
 */
export function extractTransformed(
  src: ArrayLike<number>, dims: Vec3, t: PlaneTransform, slices: number[], size: [number, number],
  fill: number, linear: boolean, out: Float32Array | Int32Array, outOffset: number,
): void {
  const [H, W] = size;
  const C = slices.length;
  const cos = Math.cos(t.angleRad) / t.scale, sin = Math.sin(t.angleRad) / t.scale;
  const hr = (H - 1) / 2, hc = (W - 1) / 2;
  const read = slices.map((s) => sampler(src, dims, t.axes, s, fill, linear));
  for (let y = 0; y < H; y++) {
    const yy = t.flip[0] ? H - 1 - y : y;
    for (let x = 0; x < W; x++) {
      const xx = t.flip[1] ? W - 1 - x : x;
      const dr = yy - hr, dc = xx - hc;
      const r = t.centre[0] + cos * dr - sin * dc;
      const c = t.centre[1] + sin * dr + cos * dc;
      const o = outOffset + (y * W + x) * C;
      for (let k = 0; k < C; k++) out[o + k] = read[k](r, c);
    }
  }
}
