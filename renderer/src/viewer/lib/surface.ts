/**
 * Surface of one structure from a label volume, on plain typed arrays (runs in a Web Worker; no
 * DOM, no vtk.js). Choices, in order:
 * 1. Crop to the structure's bounding box plus one voxel of zero padding (closed surfaces, and a
 *    512×512×300 map costs only a bounding-box pass for small structures).
 * 2. Smoothing: the 0/255 mask is filtered with a binomial kernel [1,4,6,4,1]/16 along i, j and k
 *    (≈ Gaussian σ = 1 voxel) in Uint8, so the iso-surface at 127.5 has no voxel staircase.
 * 3. Extraction: naive surface nets (one vertex per boundary cell at the mean of its edge
 *    crossings, one quad per crossing edge; Gibson 1998, S. Frisken "Constrained elastic surface
 *    nets"), two cell layers kept at a time.
 * 4. Decimation: vertex clustering on a grid of `clusterVoxels` voxels when the mesh exceeds
 *    `maxTriangles` (Rossignac & Borrel 1993); degenerate triangles are dropped.
 * 5. World coordinates: LPS mm, world = origin + D·diag(spacing)·ijk, triangles flipped when that
 *    map mirrors (det < 0) so the winding stays counter-clockwise seen from outside.
 *
 * Voxel layout is app/imaging/volume.ts's: offset = i + nx*(j + ny*k) (+ channel base).
 */

export interface Geometry {
  dims: [number, number, number];
  spacing: [number, number, number];
  origin: [number, number, number];
  /** Row-major 3×3; column c is the world direction of index axis c. */
  direction: readonly number[];
}

export interface StructureSelector {
  /** Offset of the structure's channel (c * voxels), 0 for a label map. */
  base: number;
  /** Label values that belong to the structure; null for a 0/1 channel (any non-zero). */
  values: readonly number[] | null;
}

export interface SurfaceOptions {
  smooth: boolean;
  maxTriangles: number;
  clusterVoxels: number;
}

export const defaultSurfaceOptions: SurfaceOptions = { smooth: true, maxTriangles: 300_000, clusterVoxels: 2 };

export interface Mesh {
  /** xyz per vertex, world LPS mm. */
  points: Float32Array;
  /** Unit normal per vertex. */
  normals: Float32Array;
  /** Three vertex ids per triangle. */
  triangles: Uint32Array;
}

export type LabelData = ArrayLike<number>;

/** Bounding box [i0,j0,k0,i1,j1,k1] (inclusive) of the structure, or null when it is empty. */
export function boundingBox(data: LabelData, dims: readonly number[], sel: StructureSelector): number[] | null {
  const [nx, ny, nz] = dims;
  const inside = insideTest(sel);
  let i0 = nx, j0 = ny, k0 = nz, i1 = -1, j1 = -1, k1 = -1;
  for (let k = 0, o = sel.base; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, o++) {
        if (!inside(data[o])) continue;
        if (i < i0) i0 = i;
        if (i > i1) i1 = i;
        if (j < j0) j0 = j;
        if (j > j1) j1 = j;
        if (k < k0) k0 = k;
        if (k > k1) k1 = k;
      }
    }
  }
  return i1 < 0 ? null : [i0, j0, k0, i1, j1, k1];
}

function insideTest(sel: StructureSelector): (v: number) => boolean {
  if (!sel.values) return (v) => v !== 0;
  const vals = sel.values;
  if (vals.every((v) => Number.isInteger(v) && v >= 0 && v < 65536)) {
    const lut = new Uint8Array(65536);
    for (const v of vals) lut[v] = 1;
    return (v) => v >= 0 && v < 65536 && lut[v] === 1;
  }
  const set = new Set(vals);
  return (v) => set.has(v);
}

/** The padded, cropped 0/255 mask and where it sits in the full grid. */
export function cropMask(data: LabelData, dims: readonly number[], sel: StructureSelector, box: readonly number[], pad: number) {
  const [nx, ny] = dims;
  const inside = insideTest(sel);
  const off = [box[0] - pad, box[1] - pad, box[2] - pad];
  const cd: [number, number, number] = [box[3] - box[0] + 1 + 2 * pad, box[4] - box[1] + 1 + 2 * pad, box[5] - box[2] + 1 + 2 * pad];
  const mask = new Uint8Array(cd[0] * cd[1] * cd[2]);
  for (let k = box[2]; k <= box[5]; k++) {
    for (let j = box[1]; j <= box[4]; j++) {
      let src = sel.base + box[0] + nx * (j + ny * k);
      let dst = box[0] - off[0] + cd[0] * (j - off[1] + cd[1] * (k - off[2]));
      for (let i = box[0]; i <= box[3]; i++, src++, dst++) if (inside(data[src])) mask[dst] = 255;
    }
  }
  return { mask, dims: cd, offset: off };
}

/** In-place binomial [1,4,6,4,1]/16 filter along each axis (zero outside). */
export function smoothMask(mask: Uint8Array, dims: readonly number[]): void {
  const strides = [1, dims[0], dims[0] * dims[1]];
  for (let a = 0; a < 3; a++) {
    const n = dims[a], s = strides[a];
    const line = new Uint8Array(n + 4);
    const b = (a + 1) % 3, c = (a + 2) % 3;
    for (let q = 0; q < dims[c]; q++) {
      for (let p = 0; p < dims[b]; p++) {
        const start = p * strides[b] + q * strides[c];
        for (let t = 0; t < n; t++) line[t + 2] = mask[start + t * s];
        for (let t = 0; t < n; t++) {
          const v = line[t] + 4 * line[t + 1] + 6 * line[t + 2] + 4 * line[t + 3] + line[t + 4];
          mask[start + t * s] = (v + 8) >> 4;
        }
      }
    }
  }
}

/** Surface nets on a Uint8 field at `iso`; vertices in the field's index space. */
export function surfaceNets(field: Uint8Array, dims: readonly number[], iso: number): { points: number[]; triangles: number[] } {
  const [nx, ny, nz] = dims;
  const cx = nx - 1, cy = ny - 1, cz = nz - 1;
  const layer = cx * cy;
  const cellVertex = new Int32Array(2 * layer).fill(-1);
  const points: number[] = [];
  const triangles: number[] = [];
  const sx = 1, sy = nx, sz = nx * ny;
  // Corner c = bit0 i, bit1 j, bit2 k.
  const cornerOff = [0, sx, sy, sx + sy, sz, sz + sx, sz + sy, sz + sx + sy];
  const edges: [number, number][] = [[0, 1], [2, 3], [4, 5], [6, 7], [0, 2], [1, 3], [4, 6], [5, 7], [0, 4], [1, 5], [2, 6], [3, 7]];
  const val = new Float64Array(8);
  for (let k = 0; k < cz; k++) {
    const cur = (k & 1) * layer, prev = ((k + 1) & 1) * layer;
    cellVertex.fill(-1, cur, cur + layer);
    for (let j = 0; j < cy; j++) {
      for (let i = 0; i < cx; i++) {
        const o = i + sy * j + sz * k;
        let mask = 0;
        for (let c = 0; c < 8; c++) {
          val[c] = field[o + cornerOff[c]];
          if (val[c] > iso) mask |= 1 << c;
        }
        if (mask === 0 || mask === 255) continue;
        let px = 0, py = 0, pz = 0, n = 0;
        for (const [a, b] of edges) {
          const ina = (mask >> a) & 1, inb = (mask >> b) & 1;
          if (ina === inb) continue;
          const t = (iso - val[a]) / (val[b] - val[a]);
          px += (a & 1) + t * ((b & 1) - (a & 1));
          py += ((a >> 1) & 1) + t * (((b >> 1) & 1) - ((a >> 1) & 1));
          pz += ((a >> 2) & 1) + t * (((b >> 2) & 1) - ((a >> 2) & 1));
          n++;
        }
        const id = points.length / 3;
        points.push(i + px / n, j + py / n, k + pz / n);
        const cell = cur + i + cx * j;
        cellVertex[cell] = id;
        // The three edges leaving corner 0 along i, j, k; each is shared by four cells.
        const idx = [i, j, k];
        for (let a = 0; a < 3; a++) {
          const in0 = mask & 1, in1 = (mask >> (1 << a)) & 1;
          if (in0 === in1) continue;
          const u = (a + 1) % 3, v = (a + 2) % 3;
          if (idx[u] === 0 || idx[v] === 0) continue;
          const cellOf = (du: number, dv: number): number => {
            const ci = [i, j, k];
            ci[u] -= du;
            ci[v] -= dv;
            const base = ci[2] === k ? cur : prev;
            return cellVertex[base + ci[0] + cx * ci[1]];
          };
          const A = id, B = cellOf(1, 0), C = cellOf(1, 1), D = cellOf(0, 1);
          if (B < 0 || C < 0 || D < 0) continue;
          // A→B→C→D runs counter-clockwise seen from +a; the outward side is where the mask is 0.
          if (in0) triangles.push(A, B, C, A, C, D);
          else triangles.push(A, C, B, A, D, C);
        }
      }
    }
  }
  return { points, triangles };
}

/** Merges vertices that fall in the same `cell`-sized grid cell; drops collapsed triangles. */
export function clusterDecimate(points: number[], triangles: number[], cell: number): { points: number[]; triangles: number[] } {
  const key = new Map<number, number>();
  const remap = new Int32Array(points.length / 3);
  const sums: number[] = [];
  const counts: number[] = [];
  for (let p = 0; p < remap.length; p++) {
    const qx = Math.floor(points[3 * p] / cell), qy = Math.floor(points[3 * p + 1] / cell), qz = Math.floor(points[3 * p + 2] / cell);
    const kk = qx + 4096 * (qy + 4096 * qz);
    let id = key.get(kk);
    if (id === undefined) {
      id = counts.length;
      key.set(kk, id);
      sums.push(0, 0, 0);
      counts.push(0);
    }
    remap[p] = id;
    sums[3 * id] += points[3 * p];
    sums[3 * id + 1] += points[3 * p + 1];
    sums[3 * id + 2] += points[3 * p + 2];
    counts[id]++;
  }
  const out: number[] = [];
  for (let t = 0; t < triangles.length; t += 3) {
    const a = remap[triangles[t]], b = remap[triangles[t + 1]], c = remap[triangles[t + 2]];
    if (a !== b && b !== c && a !== c) out.push(a, b, c);
  }
  for (let id = 0; id < counts.length; id++) for (let d = 0; d < 3; d++) sums[3 * id + d] /= counts[id];
  return { points: sums, triangles: out };
}

/** Index → world (LPS) as a 3×4 row-major matrix [M | t]. */
export function indexToWorld(g: Geometry): number[] {
  const m: number[] = [];
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) m.push(g.direction[3 * r + c] * g.spacing[c]);
    m.push(g.origin[r]);
  }
  return m;
}

function det3(m: readonly number[]): number {
  return m[0] * (m[5] * m[10] - m[6] * m[9]) - m[1] * (m[4] * m[10] - m[6] * m[8]) + m[2] * (m[4] * m[9] - m[5] * m[8]);
}

/** Maps index-space vertices (+ offset) to world, fixes winding, computes area-weighted normals. */
export function finishMesh(points: number[], triangles: number[], offset: readonly number[], g: Geometry): Mesh {
  const m = indexToWorld(g);
  const n = points.length / 3;
  const pts = new Float32Array(points.length);
  for (let p = 0; p < n; p++) {
    const i = points[3 * p] + offset[0], j = points[3 * p + 1] + offset[1], k = points[3 * p + 2] + offset[2];
    for (let r = 0; r < 3; r++) pts[3 * p + r] = m[4 * r] * i + m[4 * r + 1] * j + m[4 * r + 2] * k + m[4 * r + 3];
  }
  const tris = Uint32Array.from(triangles);
  if (det3(m) < 0) for (let t = 0; t < tris.length; t += 3) [tris[t + 1], tris[t + 2]] = [tris[t + 2], tris[t + 1]];
  const normals = new Float32Array(points.length);
  for (let t = 0; t < tris.length; t += 3) {
    const a = 3 * tris[t], b = 3 * tris[t + 1], c = 3 * tris[t + 2];
    const ux = pts[b] - pts[a], uy = pts[b + 1] - pts[a + 1], uz = pts[b + 2] - pts[a + 2];
    const vx = pts[c] - pts[a], vy = pts[c + 1] - pts[a + 1], vz = pts[c + 2] - pts[a + 2];
    const nx = uy * vz - uz * vy, ny = uz * vx - ux * vz, nz = ux * vy - uy * vx;
    for (const q of [a, b, c]) {
      normals[q] += nx;
      normals[q + 1] += ny;
      normals[q + 2] += nz;
    }
  }
  for (let q = 0; q < normals.length; q += 3) {
    const l = Math.hypot(normals[q], normals[q + 1], normals[q + 2]) || 1;
    normals[q] /= l;
    normals[q + 1] /= l;
    normals[q + 2] /= l;
  }
  return { points: pts, normals, triangles: tris };
}

/** Steps 1–4: the surface in index space of the full grid (vertex = its i, j, k), or null when empty. */
export function extractIndexSurface(data: LabelData, dims: readonly number[], sel: StructureSelector, opts: SurfaceOptions = defaultSurfaceOptions): { points: number[]; triangles: number[] } | null {
  const box = boundingBox(data, dims, sel);
  if (!box) return null;
  const pad = opts.smooth ? 3 : 1;
  const crop = cropMask(data, dims, sel, box, pad);
  if (opts.smooth) smoothMask(crop.mask, crop.dims);
  let { points, triangles } = surfaceNets(crop.mask, crop.dims, 127.5);
  if (triangles.length / 3 > opts.maxTriangles) ({ points, triangles } = clusterDecimate(points, triangles, opts.clusterVoxels));
  for (let p = 0; p < points.length; p += 3) {
    points[p] += crop.offset[0];
    points[p + 1] += crop.offset[1];
    points[p + 2] += crop.offset[2];
  }
  return { points, triangles };
}

/** The whole pipeline for one structure; null when the structure has no voxels. */
export function extractSurface(data: LabelData, g: Geometry, sel: StructureSelector, opts: SurfaceOptions = defaultSurfaceOptions): Mesh | null {
  const s = extractIndexSurface(data, g.dims, sel, opts);
  return s ? finishMesh(s.points, s.triangles, [0, 0, 0], g) : null;
}
