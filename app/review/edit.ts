/**
 * Segmentation editing as pure functions on typed arrays (docs/review.md): which voxels a brush
 * stroke, a threshold brush, a fill or an interpolation touches, and how a change to one structure
 * carries to the others under the whole-plus-parts hierarchy. Nothing here writes to its inputs;
 * the edit session (./session.ts) applies the returned changes and keeps them for undo.
 *
 * Layout: masks are 0/1 Uint8Arrays in volume.ts order (i fastest, then j, then k). A slice is
 * the plane normal to index axis `axis` at index `slice`; its in-plane axes are the other two in
 * increasing order. Distances are in mm (the grid's spacing), so a brush is round on the patient
 * whatever the voxel shape.
 */
import type { Vec3 } from '../imaging/volume.ts';
import { squaredDistanceToFeatures } from '../shared/edt.ts';
import { OsteonError } from '../util/errors.ts';

export type Axis = 0 | 1 | 2;

export interface EditGrid {
  dims: Vec3;
  spacing: Vec3;
}

/** One channel's voxels set to `value` (only voxels that actually change are listed). */
export interface ChannelChange {
  channel: number;
  offsets: Uint32Array;
  value: 0 | 1;
}

/** A step of the edit history: every channel change one user action made. */
export type EditStep = readonly ChannelChange[];

/** The two in-plane index axes of a slice normal to `axis`. */
export function planeAxes(axis: Axis): [Axis, Axis] {
  return axis === 0 ? [1, 2] : axis === 1 ? [0, 2] : [0, 1];
}

function strides(dims: Vec3): Vec3 {
  return [1, dims[0], dims[0] * dims[1]];
}

function checkSlice(grid: EditGrid, axis: Axis, slice: number): void {
  if (!Number.isInteger(slice) || slice < 0 || slice >= grid.dims[axis]) {
    throw new OsteonError({ code: 'bad-input', message: `slice ${slice} is outside 0..${grid.dims[axis] - 1} along axis ${axis}` });
  }
}

/** Voxel offset of in-plane position (a, b) on `slice`. */
function planeOffset(grid: EditGrid, axis: Axis, slice: number, a: number, b: number): number {
  const st = strides(grid.dims);
  const [pa, pb] = planeAxes(axis);
  return slice * st[axis] + a * st[pa] + b * st[pb];
}

export interface HuWindow {
  ct: ArrayLike<number>;
  min: number;
  max: number;
}

/**
 * The voxels a brush stroke covers on one slice: a disc of `radiusMm` around every point of the
 * path, the path sampled at most half a voxel apart so a fast drag leaves no gaps. With `hu`, only
 * voxels whose CT value lies in [min, max] (the threshold brush). A radius under half a voxel
 * still covers the voxel under the pointer. Returns sorted, distinct voxel offsets.
 */
export function brushRegion(grid: EditGrid, axis: Axis, slice: number, points: readonly Vec3[], radiusMm: number, hu?: HuWindow): Uint32Array {
  checkSlice(grid, axis, slice);
  if (!(radiusMm > 0)) throw new OsteonError({ code: 'bad-input', message: `brush radius ${radiusMm} mm must be positive` });
  const [pa, pb] = planeAxes(axis);
  const w = grid.dims[pa], h = grid.dims[pb], sa = grid.spacing[pa], sb = grid.spacing[pb];
  const hit = new Uint8Array(w * h);
  const ra = Math.ceil(radiusMm / sa), rb = Math.ceil(radiusMm / sb);
  const r2 = radiusMm * radiusMm * (1 + 1e-9);
  const stamp = (ca: number, cb: number) => {
    const ia = Math.round(ca), ib = Math.round(cb);
    for (let db = -rb; db <= rb; db++) {
      const b = ib + db;
      if (b < 0 || b >= h) continue;
      for (let da = -ra; da <= ra; da++) {
        const a = ia + da;
        if (a < 0 || a >= w) continue;
        const ea = (a - ca) * sa, eb = (b - cb) * sb;
        if (ea * ea + eb * eb <= r2 || (da === 0 && db === 0)) hit[a + w * b] = 1;
      }
    }
  };
  for (let p = 0; p < points.length; p++) {
    const cur = points[p];
    const prev = points[p > 0 ? p - 1 : 0];
    const steps = Math.max(1, Math.ceil(2 * Math.max(Math.abs(cur[pa] - prev[pa]), Math.abs(cur[pb] - prev[pb]))));
    for (let s = p > 0 ? 1 : 0; s <= steps; s++) {
      const t = s / steps;
      stamp(prev[pa] + (cur[pa] - prev[pa]) * t, prev[pb] + (cur[pb] - prev[pb]) * t);
    }
  }
  const out: number[] = [];
  for (let b = 0; b < h; b++) {
    for (let a = 0; a < w; a++) {
      if (!hit[a + w * b]) continue;
      const o = planeOffset(grid, axis, slice, a, b);
      if (hu && !(hu.ct[o] >= hu.min && hu.ct[o] <= hu.max)) continue;
      out.push(o);
    }
  }
  return Uint32Array.from(out).sort();
}

/**
 * Fill of a closed region: the 4-connected voxels of the slice outside `mask`, reached from
 * `seed`. Refused (bad-input) when the seed is inside the structure or the region reaches the
 * slice's edge (it is not closed, and filling it would paint the background).
 */
export function fillRegion(mask: Uint8Array, grid: EditGrid, axis: Axis, slice: number, seed: Vec3): Uint32Array {
  checkSlice(grid, axis, slice);
  const [pa, pb] = planeAxes(axis);
  const w = grid.dims[pa], h = grid.dims[pb];
  const sa = seed[pa], sb = seed[pb];
  if (sa < 0 || sb < 0 || sa >= w || sb >= h) throw new OsteonError({ code: 'bad-input', message: `fill seed ${seed.join(',')} is outside the slice` });
  if (mask[planeOffset(grid, axis, slice, sa, sb)]) throw new OsteonError({ code: 'bad-input', message: 'the fill seed is inside the structure already; click inside a hole' });
  const seen = new Uint8Array(w * h);
  const stack = [sa + w * sb];
  seen[sa + w * sb] = 1;
  const out: number[] = [];
  while (stack.length) {
    const q = stack.pop()!;
    const a = q % w, b = (q - a) / w;
    if (a === 0 || b === 0 || a === w - 1 || b === h - 1) {
      throw new OsteonError({ code: 'bad-input', message: 'the region is not closed: it reaches the edge of the slice; close its outline first' });
    }
    out.push(planeOffset(grid, axis, slice, a, b));
    for (const n of [q - 1, q + 1, q - w, q + w]) {
      if (seen[n]) continue;
      const na = n % w, nb = (n - na) / w;
      if (mask[planeOffset(grid, axis, slice, na, nb)]) continue;
      seen[n] = 1;
      stack.push(n);
    }
  }
  return Uint32Array.from(out).sort();
}

/** Signed distance (mm) of one slice's mask: negative inside (distance to the background), positive outside. */
function signedSlice(mask: Uint8Array, grid: EditGrid, axis: Axis, slice: number): Float64Array {
  const [pa, pb] = planeAxes(axis);
  const w = grid.dims[pa], h = grid.dims[pb];
  const fg = new Uint8Array(w * h), bg = new Uint8Array(w * h);
  for (let b = 0; b < h; b++) for (let a = 0; a < w; a++) {
    const x = mask[planeOffset(grid, axis, slice, a, b)] ? 1 : 0;
    fg[a + w * b] = x;
    bg[a + w * b] = 1 - x;
  }
  const dims: Vec3 = [w, h, 1], sp: Vec3 = [grid.spacing[pa], grid.spacing[pb], 1];
  const toFg = squaredDistanceToFeatures(fg, dims, sp), toBg = squaredDistanceToFeatures(bg, dims, sp);
  const out = new Float64Array(w * h);
  for (let q = 0; q < out.length; q++) out[q] = fg[q] ? -Math.sqrt(toBg[q]) : Math.sqrt(toFg[q]);
  return out;
}

/**
 * Shape-based interpolation between key slices (Raya & Udupa 1990): every slice strictly between
 * two consecutive key slices gets the zero level set of the linear blend of the keys' signed
 * distances, replacing what it held. Returns the changes (set and clear) for `channel`; key slices
 * are left as they are. An empty key slice has distance +∞, so the shape stops there.
 */
export function interpolateRegion(mask: Uint8Array, grid: EditGrid, axis: Axis, keySlices: readonly number[], channel: number): ChannelChange[] {
  const keys = [...new Set(keySlices)].sort((x, y) => x - y);
  for (const k of keys) checkSlice(grid, axis, k);
  if (keys.length < 2) throw new OsteonError({ code: 'bad-input', message: 'interpolation needs at least two edited slices along this axis' });
  const [pa, pb] = planeAxes(axis);
  const w = grid.dims[pa], h = grid.dims[pb];
  const set: number[] = [], clear: number[] = [];
  for (let i = 0; i + 1 < keys.length; i++) {
    const lo = keys[i], hi = keys[i + 1];
    if (hi - lo < 2) continue;
    const dLo = signedSlice(mask, grid, axis, lo), dHi = signedSlice(mask, grid, axis, hi);
    for (let s = lo + 1; s < hi; s++) {
      const t = (s - lo) / (hi - lo);
      for (let b = 0; b < h; b++) for (let a = 0; a < w; a++) {
        const q = a + w * b;
        const x = dLo[q], y = dHi[q];
        const inside = Number.isFinite(x) && Number.isFinite(y) ? (1 - t) * x + t * y <= 0 : false;
        const o = planeOffset(grid, axis, s, a, b);
        if (inside && !mask[o]) set.push(o);
        else if (!inside && mask[o]) clear.push(o);
      }
    }
  }
  const out: ChannelChange[] = [];
  if (set.length) out.push({ channel, offsets: Uint32Array.from(set).sort(), value: 1 });
  if (clear.length) out.push({ channel, offsets: Uint32Array.from(clear).sort(), value: 0 });
  return out;
}

/** How a change to one structure carries to the others. */
export interface HierarchyRules {
  /** Channel of the whole, or -1 when the schema has none. */
  whole: number;
  /** Painting a part also paints the whole. */
  paintWhole: boolean;
  /** Erasing the whole also erases the parts there. */
  eraseParts: boolean;
  /** Channels of the parts. */
  parts: readonly number[];
}

function changed(mask: Uint8Array, region: Uint32Array, value: 0 | 1): Uint32Array {
  let n = 0;
  for (let i = 0; i < region.length; i++) if ((mask[region[i]] ? 1 : 0) !== value) n++;
  const out = new Uint32Array(n);
  n = 0;
  for (let i = 0; i < region.length; i++) if ((mask[region[i]] ? 1 : 0) !== value) out[n++] = region[i];
  return out;
}

/**
 * The changes of painting (value 1) or erasing (value 0) `region` in channel `target`, with the
 * hierarchy applied: painting a part adds to the whole when `paintWhole`; erasing the whole clears
 * the parts there when `eraseParts`; painting never removes another structure (overlaps stay) and
 * erasing a part never touches the whole.
 */
export function planRegionEdit(masks: readonly Uint8Array[], target: number, region: Uint32Array, value: 0 | 1, rules: HierarchyRules): ChannelChange[] {
  if (target < 0 || target >= masks.length) throw new OsteonError({ code: 'bad-input', message: `no channel ${target}` });
  const channels = [target];
  const isWhole = target === rules.whole;
  if (value === 1 && !isWhole && rules.whole >= 0 && rules.paintWhole) channels.push(rules.whole);
  if (value === 0 && isWhole && rules.eraseParts) channels.push(...rules.parts);
  return channels.map((c) => ({ channel: c, offsets: changed(masks[c], region, value), value })).filter((c) => c.offsets.length > 0);
}

/** Copies of the masks with the changes applied (unchanged channels are returned as they are). */
export function applyChanges(masks: readonly Uint8Array[], step: EditStep): Uint8Array[] {
  const out = masks.slice();
  for (const c of step) {
    if (out[c.channel] === masks[c.channel]) out[c.channel] = masks[c.channel].slice();
    const m = out[c.channel];
    for (let i = 0; i < c.offsets.length; i++) m[c.offsets[i]] = c.value;
  }
  return out;
}

/** Applies the changes to the masks themselves (the session's working copy). */
export function applyChangesInPlace(masks: Uint8Array[], step: EditStep): void {
  for (const c of step) {
    const m = masks[c.channel];
    for (let i = 0; i < c.offsets.length; i++) m[c.offsets[i]] = c.value;
  }
}

/** The step that undoes `step` (each change set back, in reverse order). */
export function invertStep(step: EditStep): ChannelChange[] {
  return [...step].reverse().map((c) => ({ channel: c.channel, offsets: c.offsets, value: c.value === 1 ? 0 : 1 }));
}

/** The bounding box [i0, j0, k0, i1, j1, k1) of a step's voxels; null when it changes nothing. */
export function stepBox(step: EditStep, dims: Vec3): [number, number, number, number, number, number] | null {
  const [nx, ny] = dims;
  let i0 = Infinity, j0 = Infinity, k0 = Infinity, i1 = -1, j1 = -1, k1 = -1;
  for (const c of step) for (let n = 0; n < c.offsets.length; n++) {
    const o = c.offsets[n];
    const i = o % nx, j = Math.floor(o / nx) % ny, k = Math.floor(o / (nx * ny));
    if (i < i0) i0 = i;
    if (j < j0) j0 = j;
    if (k < k0) k0 = k;
    if (i > i1) i1 = i;
    if (j > j1) j1 = j;
    if (k > k1) k1 = k;
  }
  const lo: Vec3 = [i0, j0, k0], hi: Vec3 = [i1, j1, k1];
  return hi[0] < 0 ? null : [lo[0], lo[1], lo[2], hi[0] + 1, hi[1] + 1, hi[2] + 1];
}
