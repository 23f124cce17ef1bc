/**
 * Resampling onto another grid (only when a caller asks for it: Osteon never resamples
 * silently) and the refusal of mismatched grids. Pure functions on typed arrays.
 *
 * For each target voxel the source continuous index is M·[i,j,k,1] with
 * M = (source index→world)⁻¹ · (target index→world); M is affine, so along i it advances by a
 * constant step and the inner loop is additions only.
 */
import { badInput } from '../util/errors.ts';
import { inverse3 } from './affine.ts';
import { allocate, dtypeOf, isFloat, type DType } from './dtype.ts';
import { describeGeometry, indexToWorldMatrix, sameGrid, type Geometry, type Mat3, type Volume, type VoxelArray } from './volume.ts';

const RANGES: Record<DType, [number, number]> = {
  uint8: [0, 255], int8: [-128, 127], int16: [-32768, 32767], uint16: [0, 65535],
  int32: [-2147483648, 2147483647], uint32: [0, 4294967295], float32: [-Infinity, Infinity], float64: [-Infinity, Infinity],
};

export type Interpolation = 'nearest' | 'linear';

export interface ResampleOptions {
  interpolation: Interpolation;
  /** Value outside the source field of view (labels: 0, CT: -1024 HU). */
  fill: number;
  /** Output type: nearest keeps the source type; linear gives float32 unless set here (then rounded and clamped). */
  dtype?: DType;
}

/** Refuses two volumes whose grids differ, naming both files and both geometries. */
export function requireSameGrid(a: Geometry, b: Geometry, fileA: string, fileB: string, tolMm = 1e-3): void {
  if (sameGrid(a, b, tolMm)) return;
  const nameA = fileA.split(/[\\/]/).pop() ?? fileA;
  throw badInput(fileB, 'geometry', `grid does not match ${fileA}: ${nameA} has ${describeGeometry(a)}; this file has ${describeGeometry(b)} (resample explicitly if that is intended)`, 'mismatch');
}

/** Index of `target` → continuous index of `source`, as a row-major 3×4. */
function indexMap(source: Geometry, target: Geometry): number[] {
  const s = indexToWorldMatrix(source), t = indexToWorldMatrix(target);
  const sInv = inverse3([s[0], s[1], s[2], s[4], s[5], s[6], s[8], s[9], s[10]] as Mat3);
  const sOff = [s[3], s[7], s[11]];
  const m: number[] = [];
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 4; c++) {
      let v = 0;
      for (let k = 0; k < 3; k++) v += sInv[r * 3 + k] * (t[k * 4 + c] - (c === 3 ? sOff[k] : 0));
      m.push(v);
    }
  }
  return m;
}

export function resample(src: Volume, target: Geometry, opts: ResampleOptions): Volume {
  const m = indexMap(src, target);
  const [tx, ty, tz] = target.dims;
  const n = tx * ty * tz;
  const outType = opts.dtype ?? (opts.interpolation === 'nearest' ? dtypeOf(src.data) : 'float32');
  const out = allocate(outType, n * src.channels);
  const tmp = opts.interpolation === 'linear' && opts.dtype && !isFloat(opts.dtype) ? new Float64Array(tx) : null;
  const [lo, hi] = tmp ? RANGES[outType] : [0, 0];
  const [sx, sy, sz] = src.dims;
  const sn = sx * sy * sz;
  for (let c = 0; c < src.channels; c++) {
    const base = c * sn;
    for (let k = 0; k < tz; k++) {
      for (let j = 0; j < ty; j++) {
        let x = m[1] * j + m[2] * k + m[3], y = m[5] * j + m[6] * k + m[7], z = m[9] * j + m[10] * k + m[11];
        const o = c * n + tx * (j + ty * k);
        const row = tmp ?? out;
        const ro = tmp ? 0 : o;
        for (let i = 0; i < tx; i++, x += m[0], y += m[4], z += m[8]) {
          row[ro + i] = opts.interpolation === 'nearest' ? nearest(src.data, base, sx, sy, sz, x, y, z, opts.fill) : linear(src.data, base, sx, sy, sz, x, y, z, opts.fill);
        }
        if (tmp) for (let i = 0; i < tx; i++) out[o + i] = Math.min(Math.max(Math.round(tmp[i]), lo), hi);
      }
    }
  }
  return { dims: [...target.dims], spacing: [...target.spacing], origin: [...target.origin], direction: [...target.direction], data: out, channels: src.channels };
}

function nearest(d: VoxelArray, base: number, sx: number, sy: number, sz: number, x: number, y: number, z: number, fill: number): number {
  const i = Math.round(x), j = Math.round(y), k = Math.round(z);
  if (i < 0 || j < 0 || k < 0 || i >= sx || j >= sy || k >= sz) return fill;
  return d[base + i + sx * (j + sy * k)];
}

/** Trilinear inside [0, dim-1] on every axis (ITK's convention), `fill` outside. */
function linear(d: VoxelArray, base: number, sx: number, sy: number, sz: number, x: number, y: number, z: number, fill: number): number {
  const e = 1e-6;
  if (x < -e || y < -e || z < -e || x > sx - 1 + e || y > sy - 1 + e || z > sz - 1 + e) return fill;
  const i0 = Math.min(Math.max(Math.floor(x), 0), Math.max(sx - 2, 0)), j0 = Math.min(Math.max(Math.floor(y), 0), Math.max(sy - 2, 0)), k0 = Math.min(Math.max(Math.floor(z), 0), Math.max(sz - 2, 0));
  const fx = sx > 1 ? Math.min(Math.max(x - i0, 0), 1) : 0, fy = sy > 1 ? Math.min(Math.max(y - j0, 0), 1) : 0, fz = sz > 1 ? Math.min(Math.max(z - k0, 0), 1) : 0;
  const di = sx > 1 ? 1 : 0, dj = sy > 1 ? sx : 0, dk = sz > 1 ? sx * sy : 0;
  const p = base + i0 + sx * (j0 + sy * k0);
  const c00 = d[p] + (d[p + di] - d[p]) * fx, c10 = d[p + dj] + (d[p + dj + di] - d[p + dj]) * fx;
  const c01 = d[p + dk] + (d[p + dk + di] - d[p + dk]) * fx, c11 = d[p + dk + dj] + (d[p + dk + dj + di] - d[p + dk + dj]) * fx;
  const c0 = c00 + (c10 - c00) * fy, c1 = c01 + (c11 - c01) * fy;
  return c0 + (c1 - c0) * fz;
}

/** Labels onto `target`: nearest neighbour, 0 outside, same dtype. */
export function resampleLabels(labels: Volume, target: Geometry): Volume {
  return resample(labels, target, { interpolation: 'nearest', fill: 0 });
}

/** CT onto `target`: trilinear, `fill` HU outside (default -1024, air), float32. */
export function resampleCt(ct: Volume, target: Geometry, fill = -1024): Volume {
  return resample(ct, target, { interpolation: 'linear', fill });
}
