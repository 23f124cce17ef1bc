/**
 * Exact Euclidean distance transform on a 3D grid with anisotropic spacing (Felzenszwalb &
 * Huttenlocher 2012, "Distance Transforms of Sampled Functions": a 1D lower envelope of
 * parabolas per line, separable over i, j, k). Layout: offset = i + nx*(j + ny*k).
 * The renderer may not import app/metrics, so the viewer keeps this small copy.
 */

/** "Far": large but finite, so the parabola intersections stay well defined. */
const FAR = 1e20;

/** 1D squared distance of f sampled at x = t·step (f = 0 at features, FAR elsewhere). */
function edt1d(f: Float64Array, n: number, step: number, d: Float64Array, v: Int32Array, z: Float64Array): void {
  const s2 = step * step;
  let k = 0;
  v[0] = 0;
  z[0] = -Infinity;
  z[1] = Infinity;
  for (let q = 1; q < n; q++) {
    let s = 0;
    for (;;) {
      const p = v[k];
      s = (f[q] + s2 * q * q - (f[p] + s2 * p * p)) / (2 * s2 * (q - p));
      if (s <= z[k] && k > 0) k--;
      else break;
    }
    if (s <= z[k]) {
      // k === 0 and the new parabola is lower everywhere: it replaces the first one.
      v[0] = q;
      z[1] = Infinity;
      continue;
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1] < q) k++;
    const p = v[k];
    d[q] = Math.min(FAR, s2 * (q - p) * (q - p) + f[p]);
  }
}

/** Distance (mm) from every voxel to the nearest voxel whose mask bit equals `feature` (Infinity when none). */
export function distanceTo(mask: Uint8Array, dims: readonly number[], spacing: readonly number[], feature: 0 | 1): Float32Array {
  const n = dims[0] * dims[1] * dims[2];
  const out = new Float64Array(n);
  for (let o = 0; o < n; o++) out[o] = (mask[o] ? 1 : 0) === feature ? 0 : FAR;
  const strides = [1, dims[0], dims[0] * dims[1]];
  const maxLen = Math.max(...dims);
  const f = new Float64Array(maxLen), d = new Float64Array(maxLen), v = new Int32Array(maxLen), z = new Float64Array(maxLen + 1);
  for (let a = 0; a < 3; a++) {
    const len = dims[a], st = strides[a];
    const b = (a + 1) % 3, c = (a + 2) % 3;
    for (let q = 0; q < dims[c]; q++) {
      for (let p = 0; p < dims[b]; p++) {
        const start = p * strides[b] + q * strides[c];
        for (let t = 0; t < len; t++) f[t] = out[start + t * st];
        edt1d(f, len, spacing[a], d, v, z);
        for (let t = 0; t < len; t++) out[start + t * st] = d[t];
      }
    }
  }
  const res = new Float32Array(n);
  for (let o = 0; o < n; o++) res[o] = out[o] >= FAR ? Infinity : Math.sqrt(out[o]);
  return res;
}

/**
 * Signed distance (mm) to the boundary of a binary mask, at voxel centres: positive outside,
 * negative inside; interpolated linearly it crosses 0 half-way between an inside and an outside
 * voxel, i.e. on the mask's surface.
 */
export function signedDistance(mask: Uint8Array, dims: readonly number[], spacing: readonly number[]): Float32Array {
  const out = distanceTo(mask, dims, spacing, 1);
  const inn = distanceTo(mask, dims, spacing, 0);
  for (let o = 0; o < out.length; o++) out[o] = out[o] === 0 ? -inn[o] : out[o];
  return out;
}

/** Trilinear sample of a field at a (fractional) index position, clamped to the grid. */
export function sampleTrilinear(field: Float32Array, dims: readonly number[], x: number, y: number, z: number): number {
  const cl = (v: number, n: number) => Math.min(n - 1, Math.max(0, v));
  x = cl(x, dims[0]);
  y = cl(y, dims[1]);
  z = cl(z, dims[2]);
  const i0 = Math.min(dims[0] - 2, Math.floor(x)), j0 = Math.min(dims[1] - 2, Math.floor(y)), k0 = Math.min(dims[2] - 2, Math.floor(z));
  const fx = x - i0, fy = y - j0, fz = z - k0;
  const sx = 1, sy = dims[0], sz = dims[0] * dims[1];
  const o = i0 + sy * j0 + sz * k0;
  const c00 = field[o] * (1 - fx) + field[o + sx] * fx;
  const c10 = field[o + sy] * (1 - fx) + field[o + sy + sx] * fx;
  const c01 = field[o + sz] * (1 - fx) + field[o + sz + sx] * fx;
  const c11 = field[o + sz + sy] * (1 - fx) + field[o + sz + sy + sx] * fx;
  return (c00 * (1 - fy) + c10 * fy) * (1 - fz) + (c01 * (1 - fy) + c11 * fy) * fz;
}
