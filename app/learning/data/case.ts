/**
 * A case as the trainer holds it: the normalised CT plus the structure masks in *channel order*
 * (the whole first when the schema has one, then the parts in class order), and the integer part
 * map when the parts are disjoint. Built once per case; batches are cut from it (sampler.ts).
 */
import { axisCodes, type Geometry, type Vec3 } from '../../imaging/volume.ts';
import { partIndices, wholeIndex, type LabelSet } from '../../labels/labelset.ts';
import { toClassMap } from '../../labels/encode.ts';

export interface StructureLayout {
  /** Structure ids in channel order: [whole?, ...parts]. */
  ids: string[];
  names: string[];
  colours: string[];
  hasWhole: boolean;
  parts: number;
}

export interface TrainingCase {
  id: string;
  geometry: Geometry;
  /** Normalised CT, voxel order of volume.ts. */
  image: Float32Array;
  /** Binary masks in channel order (layout.ids). */
  masks: Uint8Array[];
  /** 0 background, 1..K parts; null when parts overlap (then only the sigmoid head can train). */
  classMap: Uint8Array | null;
  /** Flat voxel indices inside any structure (foreground-biased sampling). */
  foreground: Uint32Array;
}

export function structureLayout(set: LabelSet): StructureLayout {
  const w = wholeIndex(set);
  const order = [...(w >= 0 ? [w] : []), ...partIndices(set)];
  const st = order.map((i) => set.schema.structures[i]);
  return { ids: st.map((s) => s.id), names: st.map((s) => s.name), colours: st.map((s) => s.colour), hasWhole: w >= 0, parts: order.length - (w >= 0 ? 1 : 0) };
}

/** The index axis closest to the patient's superior–inferior direction: 2D models slice across it. */
export function axialAxis(g: Geometry): number {
  const codes = axisCodes(g);
  const a = codes.findIndex((c) => c === 'S' || c === 'I');
  return a >= 0 ? a : 2;
}

export function makeTrainingCase(id: string, geometry: Geometry, image: Float32Array, set: LabelSet, needClassMap: boolean): TrainingCase {
  const w = wholeIndex(set);
  const order = [...(w >= 0 ? [w] : []), ...partIndices(set)];
  const masks = order.map((i) => set.masks[i]);
  const classMap = needClassMap ? toClassMap(set) : null;
  let n = 0;
  const any = new Uint8Array(image.length);
  for (const m of masks) for (let v = 0; v < m.length; v++) if (m[v] && !any[v]) { any[v] = 1; n++; }
  const foreground = new Uint32Array(n);
  for (let v = 0, k = 0; v < any.length; v++) if (any[v]) foreground[k++] = v;
  return { id, geometry, image, masks, classMap, foreground };
}

/** Voxel (i,j,k) of a flat index. */
export function unflatten(v: number, dims: Vec3): Vec3 {
  const i = v % dims[0];
  const t = (v - i) / dims[0];
  const j = t % dims[1];
  return [i, j, (t - j) / dims[1]];
}

/**
 * Splits one case into two slabs along `axis`: how a single study trains and validates on
 * disjoint anatomy. The cut falls at `fraction` of the structures' extent along the axis (not of
 * the whole scan), so both slabs hold some of every structure that spans the cut.
 */
export function splitSlab(c: TrainingCase, axis: number, fraction: number): [TrainingCase, TrainingCase] {
  const d = c.geometry.dims;
  let lo = d[axis], hi = -1;
  for (const v of c.foreground) { const p = unflatten(v, d)[axis]; if (p < lo) lo = p; if (p > hi) hi = p; }
  if (hi < 0) { lo = 0; hi = d[axis] - 1; }
  return splitSlabAt(c, axis, Math.round(lo + (hi + 1 - lo) * fraction));
}

/** Splits at slice index `at` along `axis`: slices [0, at) and [at, n). */
export function splitSlabAt(c: TrainingCase, axis: number, at: number): [TrainingCase, TrainingCase] {
  const d = c.geometry.dims;
  const cut = Math.max(1, Math.min(d[axis] - 1, at));
  const part = (from: number, to: number, suffix: string): TrainingCase => {
    const dims: Vec3 = [...d];
    dims[axis] = to - from;
    const n = dims[0] * dims[1] * dims[2];
    const copy = <T extends Float32Array | Uint8Array>(src: T, make: (n: number) => T): T => {
      const out = make(n);
      let o = 0;
      for (let k = 0; k < dims[2]; k++) for (let j = 0; j < dims[1]; j++) for (let i = 0; i < dims[0]; i++) {
        const ii = axis === 0 ? i + from : i, jj = axis === 1 ? j + from : j, kk = axis === 2 ? k + from : k;
        out[o++] = src[ii + d[0] * (jj + d[1] * kk)];
      }
      return out;
    };
    const g = c.geometry;
    const shift = [0, 0, 0];
    shift[axis] = from * g.spacing[axis];
    const origin: Vec3 = [0, 1, 2].map((r) => g.origin[r] + g.direction[r * 3] * shift[0] + g.direction[r * 3 + 1] * shift[1] + g.direction[r * 3 + 2] * shift[2]) as Vec3;
    const image = copy(c.image, (m) => new Float32Array(m));
    const masks = c.masks.map((m) => copy(m, (q) => new Uint8Array(q)));
    const classMap = c.classMap ? copy(c.classMap, (q) => new Uint8Array(q)) : null;
    const any = new Uint8Array(n);
    let cnt = 0;
    for (const m of masks) for (let v = 0; v < n; v++) if (m[v] && !any[v]) { any[v] = 1; cnt++; }
    const foreground = new Uint32Array(cnt);
    for (let v = 0, q = 0; v < n; v++) if (any[v]) foreground[q++] = v;
    return { id: `${c.id}${suffix}`, geometry: { ...g, dims, origin }, image, masks, classMap, foreground };
  };
  return [part(0, cut, `:slab0-${cut}`), part(cut, d[axis], `:slab${cut}-${d[axis]}`)];
}

/** Slices [from, to) along `axis` as a case of its own, id `<id>:slab<from>-<to>` (what resume reads back). */
export function sliceSlab(c: TrainingCase, axis: number, from: number, to: number): TrainingCase {
  const n = c.geometry.dims[axis];
  const upper = to < n ? splitSlabAt(c, axis, to)[0] : c;
  const piece = from > 0 ? splitSlabAt(upper, axis, from)[1] : upper;
  return { ...piece, id: `${c.id}:slab${from}-${to}` };
}

/**
 * One case cut into axial blocks of `block` slices: every `every`-th block (the last of each
 * group) validates, the others train. Unlike one cut, both sides then hold the whole length of
 * the anatomy (a cut through a pelvis trains on the hips and validates on the iliac wings).
 */
export function splitBlocks(c: TrainingCase, axis: number, block: number, every: number): [TrainingCase[], TrainingCase[]] {
  const n = c.geometry.dims[axis];
  const train: TrainingCase[] = [], val: TrainingCase[] = [];
  for (let from = 0, i = 0; from < n; from += block, i++) {
    const piece = sliceSlab(c, axis, from, Math.min(n, from + block));
    (i % every === every - 1 ? val : train).push(piece);
  }
  return [train, val];
}
