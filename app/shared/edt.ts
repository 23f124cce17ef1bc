/**
 * Exact Euclidean distance transform on an anisotropic grid, in linear time.
 *
 * d²(v) = min over feature voxels f of Σ_i (s_i·(v_i − f_i))², with s the spacing in mm: the
 * squared distance from every voxel to the nearest non-zero voxel of `features` (0 on features,
 * Infinity everywhere when there is none). scipy's `distance_transform_edt(~features, sampling)`
 * returns the square root of this.
 *
 * Algorithm: the squared distance separates over axes, d²(x,y,z) = min_z' [ (s_z Δz)² +
 * min_y' [ (s_y Δy)² + min_x' (s_x Δx)² ] ], so one pass per axis suffices (Felzenszwalb &
 * Huttenlocher, "Distance Transforms of Sampled Functions", Theory of Computing 8, 2012).
 * The x pass is a two-sweep scan to the nearest feature in the row; the y and z passes take the
 * lower envelope of the parabolas f(q) + (s·(p − q))² over the finite samples of each line.
 * Every pass is O(n) per line, so the whole transform is O(voxels).
 *
 * Accuracy: results are float64 candidates f(q) + (s·d)², so with integer spacing they equal
 * brute force exactly; with other spacings they agree to rounding (~1e-15 relative).
 *
 * Layout: x fastest (offset = x + nx·(y + ny·z)). Lines along y and z are processed a plane at a
 * time through a transposed scratch copy, so main memory is always read and written in order.
 *
 * Pure code shared by the core (app/metrics: HD95, MSD, NSD, boundary Dice) and the renderer
 * (compare mode's signed distances): app/shared/ imports nothing, so both layers may use it.
 */

/** [nx, ny, nz] or [sx, sy, sz]. */
export type Triple = readonly [number, number, number];
/** A 0/1 (or 0/non-zero) mask, x fastest. */
export type EdtMask = ArrayLike<number>;

function checkInput(m: EdtMask, dims: Triple, spacing: Triple): void {
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 1) throw new RangeError(`edt: dims ${dims.join('×')} must be positive integers`);
  }
  const n = dims[0] * dims[1] * dims[2];
  if (m.length !== n) throw new RangeError(`edt: ${m.length} voxels, dims ${dims.join('×')} need ${n}`);
  for (const s of spacing) if (!(s > 0) || !Number.isFinite(s)) throw new RangeError(`edt: spacing ${spacing.join(',')} must be positive`);
}

export function squaredDistanceToFeatures(features: EdtMask, dims: Triple, spacing: Triple): Float64Array {
  checkInput(features, dims, spacing);
  const [nx, ny, nz] = dims;
  const out = new Float64Array(nx * ny * nz);
  const any = rowPass(features, out, nx, ny * nz, spacing[0]);
  if (!any) return out;
  const scratch = new LineScratch(nx, Math.max(ny, nz));
  if (ny > 1) for (let z = 0; z < nz; z++) planePass(out, z * nx * ny, nx, ny, nx, spacing[1], scratch);
  if (nz > 1) for (let y = 0; y < ny; y++) planePass(out, y * nx, nx, nz, nx * ny, spacing[2], scratch);
  return out;
}

/** Euclidean distance (mm) instead of its square. */
export function distanceToFeatures(features: EdtMask, dims: Triple, spacing: Triple): Float64Array {
  const d = squaredDistanceToFeatures(features, dims, spacing);
  for (let i = 0; i < d.length; i++) d[i] = Math.sqrt(d[i]);
  return d;
}

/** x pass: squared distance to the nearest feature in the same row. Returns whether any feature exists. */
function rowPass(m: EdtMask, out: Float64Array, nx: number, rows: number, sx: number): boolean {
  let any = false;
  for (let r = 0, o = 0; r < rows; r++, o += nx) {
    let last = -1;
    for (let x = 0; x < nx; x++) {
      if (m[o + x] !== 0) last = x;
      out[o + x] = last < 0 ? Infinity : x - last;
    }
    if (last < 0) {
      for (let x = 0; x < nx; x++) out[o + x] = Infinity;
      continue;
    }
    any = true;
    let next = -1;
    for (let x = nx - 1; x >= 0; x--) {
      if (m[o + x] !== 0) next = x;
      let k = out[o + x];
      if (next >= 0 && next - x < k) k = next - x;
      const t = sx * k;
      out[o + x] = t * t;
    }
  }
  return any;
}

class LineScratch {
  /** nx lines of length n, line j at [j·n, (j+1)·n): a transposed copy of one plane. */
  readonly lines: Float64Array;
  /** f of each parabola of the envelope, so the line can be overwritten in place. */
  readonly fv: Float64Array;
  readonly v: Int32Array;
  readonly h: Float64Array;
  readonly zb: Float64Array;
  constructor(nx: number, n: number) {
    this.lines = new Float64Array(nx * n);
    this.fv = new Float64Array(n);
    this.v = new Int32Array(n);
    this.h = new Float64Array(n);
    this.zb = new Float64Array(n + 1);
  }
}

/**
 * Runs the 1D envelope along the nx lines of length n, stride `stride`, starting at base + x.
 * The lines are copied out row by row (contiguous reads of nx values), transformed in
 * contiguous scratch and copied back row by row, so memory is walked in order even for z.
 */
function planePass(d: Float64Array, base: number, nx: number, n: number, stride: number, s: number, sc: LineScratch): void {
  const lines = sc.lines;
  for (let p = 0, o = base; p < n; p++, o += stride) {
    for (let x = 0, k = p; x < nx; x++, k += n) lines[k] = d[o + x];
  }
  let changed = false;
  for (let x = 0, off = 0; x < nx; x++, off += n) {
    if (!envelope(lines, off, n, s, sc)) continue;
    changed = true;
  }
  if (!changed) return;
  for (let p = 0, o = base; p < n; p++, o += stride) {
    for (let x = 0, k = p; x < nx; x++, k += n) d[o + x] = lines[k];
  }
}

/**
 * In place: line[off + p] = min_q f[q] + (s·(p − q))² for f = line[off .. off+n) (the lower
 * envelope of the parabolas rooted at the finite samples). Returns false when the line has no
 * finite sample (it stays Infinity and is left alone).
 */
function envelope(line: Float64Array, off: number, n: number, s: number, sc: LineScratch): boolean {
  const { v, h, zb, fv } = sc;
  const w = s * s;
  let k = -1;
  for (let q = 0; q < n; q++) {
    const fq = line[off + q];
    if (fq === Infinity) continue;
    const hq = fq + w * q * q;
    let cut = -Infinity;
    while (k >= 0) {
      cut = (hq - h[k]) / (2 * w * (q - v[k]));
      if (cut > zb[k]) break;
      k--;
    }
    if (k < 0) cut = -Infinity;
    k++;
    v[k] = q;
    h[k] = hq;
    zb[k] = cut;
    fv[k] = fq;
  }
  if (k < 0) return false;
  zb[k + 1] = Infinity;
  let j = 0;
  for (let p = 0; p < n; p++) {
    while (zb[j + 1] < p) j++;
    const t = s * (p - v[j]);
    line[off + p] = fv[j] + t * t;
  }
  return true;
}

/**
 * Signed distance (mm) to the boundary of a binary mask, at voxel centres: positive outside,
 * negative inside (the distance to the nearest outside voxel); interpolated linearly it crosses
 * 0 between an inside and an outside voxel. Infinity outside when the mask is empty.
 */
export function signedDistance(mask: EdtMask, dims: Triple, spacing: Triple): Float32Array {
  const out = squaredDistanceToFeatures(mask, dims, spacing);
  const inverse = new Uint8Array(mask.length);
  for (let o = 0; o < mask.length; o++) inverse[o] = mask[o] !== 0 ? 0 : 1;
  const inn = squaredDistanceToFeatures(inverse, dims, spacing);
  const res = new Float32Array(mask.length);
  for (let o = 0; o < res.length; o++) res[o] = out[o] === 0 ? -Math.sqrt(inn[o]) : Math.sqrt(out[o]);
  return res;
}

/** Trilinear sample of a field at a (fractional) index position, clamped to the grid. */
export function sampleTrilinear(field: ArrayLike<number>, dims: Triple, x: number, y: number, z: number): number {
  const cl = (v: number, n: number) => Math.min(n - 1, Math.max(0, v));
  x = cl(x, dims[0]);
  y = cl(y, dims[1]);
  z = cl(z, dims[2]);
  // A single-voxel axis has no neighbour to blend with: its index and weight stay 0.
  const lo = (v: number, n: number) => (n < 2 ? 0 : Math.min(n - 2, Math.floor(v)));
  const i0 = lo(x, dims[0]), j0 = lo(y, dims[1]), k0 = lo(z, dims[2]);
  const fx = x - i0, fy = y - j0, fz = z - k0;
  const sx = dims[0] > 1 ? 1 : 0, sy = dims[1] > 1 ? dims[0] : 0, sz = dims[2] > 1 ? dims[0] * dims[1] : 0;
  const o = i0 + dims[0] * j0 + dims[0] * dims[1] * k0;
  const c00 = field[o] * (1 - fx) + field[o + sx] * fx;
  const c10 = field[o + sy] * (1 - fx) + field[o + sy + sx] * fx;
  const c01 = field[o + sz] * (1 - fx) + field[o + sz + sx] * fx;
  const c11 = field[o + sz + sy] * (1 - fx) + field[o + sz + sy + sx] * fx;
  return (c00 * (1 - fy) + c10 * fy) * (1 - fz) + (c01 * (1 - fy) + c11 * fy) * fz;
}
