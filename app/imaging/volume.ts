/**
 * Osteon's one image type. World coordinates are **LPS** millimetres (DICOM's patient
 * coordinate system, also ITK's and Slicer's internal one): +x = patient Left, +y = Posterior,
 * +z = Superior. NIfTI affines are RAS and are converted on read/write with diag(-1,-1,1).
 *
 * Voxel layout: index i (fastest), then j, then k, then channel (slowest):
 *   offset = i + dims[0] * (j + dims[1] * (k + dims[2] * c))
 * This is NIfTI's on-disk order, so a 3D or 4D NIfTI maps onto it without a copy.
 *
 * Geometry: world(i,j,k) = origin + direction · diag(spacing) · [i,j,k]ᵀ, where `direction` is
 * a row-major 3×3 matrix whose column c is the unit world direction of index axis c.
 */

export type VoxelArray =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array;

export type Vec3 = [number, number, number];
/** Row-major 3×3. */
export type Mat3 = [number, number, number, number, number, number, number, number, number];

export interface Geometry {
  dims: Vec3;
  spacing: Vec3;
  origin: Vec3;
  direction: Mat3;
}

export interface Volume extends Geometry {
  data: VoxelArray;
  /** Number of channels (1 for a plain 3D volume; >1 for multi-channel label volumes). */
  channels: number;
}

export const IDENTITY3: Mat3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];

export function voxelCount(g: Pick<Geometry, 'dims'>): number {
  return g.dims[0] * g.dims[1] * g.dims[2];
}

/** World LPS position (mm) of the centre of voxel (i, j, k). */
export function voxelToWorld(g: Geometry, i: number, j: number, k: number): Vec3 {
  const [sx, sy, sz] = g.spacing;
  const d = g.direction;
  const a = i * sx, b = j * sy, c = k * sz;
  return [
    g.origin[0] + d[0] * a + d[1] * b + d[2] * c,
    g.origin[1] + d[3] * a + d[4] * b + d[5] * c,
    g.origin[2] + d[6] * a + d[7] * b + d[8] * c,
  ];
}

/** 4×4 row-major affine from voxel index to world LPS. */
export function indexToWorldMatrix(g: Geometry): number[] {
  const d = g.direction, s = g.spacing, o = g.origin;
  return [
    d[0] * s[0], d[1] * s[1], d[2] * s[2], o[0],
    d[3] * s[0], d[4] * s[1], d[5] * s[2], o[1],
    d[6] * s[0], d[7] * s[1], d[8] * s[2], o[2],
    0, 0, 0, 1,
  ];
}

/**
 * Anatomical axis codes (LPS world) of the index axes, e.g. ['P','I','R'] for the PIR case:
 * for each index axis, the letter of the world direction it points towards most.
 */
export function axisCodes(g: Pick<Geometry, 'direction'>): [string, string, string] {
  const pos = ['L', 'P', 'S'], neg = ['R', 'A', 'I'];
  const out: string[] = [];
  for (let c = 0; c < 3; c++) {
    const col = [g.direction[c], g.direction[3 + c], g.direction[6 + c]];
    let best = 0;
    for (let r = 1; r < 3; r++) if (Math.abs(col[r]) > Math.abs(col[best])) best = r;
    out.push(col[best] >= 0 ? pos[best] : neg[best]);
  }
  return out as [string, string, string];
}

export function describeGeometry(g: Geometry): string {
  const f = (v: readonly number[]) => `(${v.map((x) => +x.toFixed(4)).join(', ')})`;
  return `dims ${g.dims.join('×')}, spacing ${f(g.spacing)} mm, origin ${f(g.origin)} LPS, axes ${axisCodes(g).join('')}`;
}

/**
 * Same grid within tolerance: identical dims, spacing and origin within `tolMm`
 * (default 1e-3 mm, well under a voxel) and direction cosines within 1e-4.
 */
export function sameGrid(a: Geometry, b: Geometry, tolMm = 1e-3): boolean {
  for (let c = 0; c < 3; c++) {
    if (a.dims[c] !== b.dims[c]) return false;
    if (Math.abs(a.spacing[c] - b.spacing[c]) > tolMm) return false;
    if (Math.abs(a.origin[c] - b.origin[c]) > tolMm) return false;
  }
  for (let c = 0; c < 9; c++) if (Math.abs(a.direction[c] - b.direction[c]) > 1e-4) return false;
  return true;
}

export function geometryOf(v: Geometry): Geometry {
  return { dims: [...v.dims], spacing: [...v.spacing], origin: [...v.origin], direction: [...v.direction] };
}
