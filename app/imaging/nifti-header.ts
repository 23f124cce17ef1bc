/**
 * NIfTI-1 / NIfTI-2 header parsing and validation (https://nifti.nimh.nih.gov/nifti-1/,
 * nifti1.h and nifti2.h field layouts). Byte order is detected from sizeof_hdr (348 or 540).
 */
import { badInput } from '../util/errors.ts';
import { sizeText } from './files.ts';
import { MAX_BYTES_ENV } from './types.ts';
import { NIFTI_CODE_NAMES, bytesOf, dtypeFromNiftiCode, type DType } from './dtype.ts';

export interface NiftiHeader {
  version: 1 | 2;
  littleEndian: boolean;
  /** dim[0..7]. */
  dim: number[];
  datatype: number;
  dtype: DType;
  pixdim: number[];
  voxOffset: number;
  sclSlope: number;
  sclInter: number;
  qformCode: number;
  sformCode: number;
  quatern: [number, number, number];
  qoffset: [number, number, number];
  /** srow_x, srow_y, srow_z: a row-major RAS 3×4 affine. */
  srow: number[];
  descrip: string;
  magic: string;
  /** Single file (n+1 / n+2) or a .hdr/.img pair (ni1 / ni2). */
  singleFile: boolean;
}

export const NIFTI1_SIZE = 348;
export const NIFTI2_SIZE = 540;

/** sizeof_hdr and byte order of a NIfTI header, or null if the bytes are not one. */
export function sniffNifti(b: Uint8Array): { version: 1 | 2; littleEndian: boolean } | null {
  if (b.length < 4) return null;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (const le of [true, false]) {
    const s = v.getInt32(0, le);
    if (s === NIFTI1_SIZE) return { version: 1, littleEndian: le };
    if (s === NIFTI2_SIZE) return { version: 2, littleEndian: le };
  }
  return null;
}

function cstring(b: Uint8Array, off: number, len: number): string {
  let end = off;
  while (end < off + len && b[end] !== 0) end++;
  return Buffer.from(b.buffer, b.byteOffset + off, end - off).toString('latin1');
}

export function parseNiftiHeader(file: string, b: Uint8Array): NiftiHeader {
  const sn = sniffNifti(b);
  if (!sn) throw badInput(file, 'sizeof_hdr', 'not a NIfTI file (sizeof_hdr is neither 348 nor 540 in either byte order)');
  const need = sn.version === 1 ? NIFTI1_SIZE : NIFTI2_SIZE;
  if (b.length < need) throw badInput(file, 'header', `truncated: ${b.length} bytes, a NIfTI-${sn.version} header needs ${need}`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const le = sn.littleEndian;
  const i16 = (o: number) => v.getInt16(o, le), i32 = (o: number) => v.getInt32(o, le);
  const f32 = (o: number) => v.getFloat32(o, le), f64 = (o: number) => v.getFloat64(o, le);
  const i64 = (o: number) => Number(v.getBigInt64(o, le));
  const h = sn.version === 1
    ? {
      magic: cstring(b, 344, 4), dim: range(8, (i) => i16(40 + 2 * i)), datatype: i16(70),
      pixdim: range(8, (i) => f32(76 + 4 * i)), voxOffset: f32(108), sclSlope: f32(112), sclInter: f32(116),
      qformCode: i16(252), sformCode: i16(254), quatern: range(3, (i) => f32(256 + 4 * i)), qoffset: range(3, (i) => f32(268 + 4 * i)),
      srow: range(12, (i) => f32(280 + 4 * i)), descrip: cstring(b, 148, 80),
    }
    : {
      magic: cstring(b, 4, 4), dim: range(8, (i) => i64(16 + 8 * i)), datatype: i16(12),
      pixdim: range(8, (i) => f64(104 + 8 * i)), voxOffset: i64(168), sclSlope: f64(176), sclInter: f64(184),
      qformCode: i32(344), sformCode: i32(348), quatern: range(3, (i) => f64(352 + 8 * i)), qoffset: range(3, (i) => f64(376 + 8 * i)),
      srow: range(12, (i) => f64(400 + 8 * i)), descrip: cstring(b, 240, 80),
    };
  const expected = sn.version === 1 ? ['n+1', 'ni1'] : ['n+2', 'ni2'];
  if (!expected.includes(h.magic)) {
    throw badInput(file, 'magic', `"${h.magic}" is not a NIfTI-${sn.version} magic (expected ${expected.join(' or ')}; plain Analyze 7.5 is not supported)`, sn.version === 1 && h.magic === '' ? 'unsupported' : 'bad-input');
  }
  const n = h.dim[0];
  if (!(n >= 1 && n <= 7)) throw badInput(file, 'dim[0]', `${n}, expected 1..7`);
  for (let i = 1; i <= n; i++) {
    if (!(h.dim[i] >= 1)) throw badInput(file, `dim[${i}]`, `${h.dim[i]}, expected >= 1`);
  }
  const dtype = dtypeFromNiftiCode(h.datatype);
  if (!dtype) {
    const name = Object.hasOwn(NIFTI_CODE_NAMES, h.datatype) ? NIFTI_CODE_NAMES[h.datatype] : 'unknown';
    throw badInput(file, 'datatype', `${h.datatype} (${name}) is not supported; Osteon reads uint8, int8, int16, uint16, int32, uint32, float32 and float64`, 'unsupported');
  }
  const minOffset = h.magic.startsWith('n+') ? need : 0;
  if (!(h.voxOffset >= minOffset) || !Number.isSafeInteger(Math.floor(h.voxOffset))) throw badInput(file, 'vox_offset', `${h.voxOffset}, expected >= ${minOffset}`);
  return {
    version: sn.version, littleEndian: le, dim: h.dim, datatype: h.datatype, dtype, pixdim: h.pixdim,
    voxOffset: Math.floor(h.voxOffset), sclSlope: h.sclSlope, sclInter: h.sclInter, qformCode: h.qformCode, sformCode: h.sformCode,
    quatern: h.quatern as [number, number, number], qoffset: h.qoffset as [number, number, number], srow: h.srow, descrip: h.descrip,
    magic: h.magic, singleFile: h.magic.startsWith('n+'),
  };
}

/** Spatial dims (i, j, k) and the channel count (product of dim[4..7]); missing dims are 1. */
export function niftiShape(h: NiftiHeader): { dims: [number, number, number]; channels: number } {
  const d = (i: number) => (i <= h.dim[0] ? h.dim[i] : 1);
  return { dims: [d(1), d(2), d(3)], channels: d(4) * d(5) * d(6) * d(7) };
}

/** Voxel payload size in bytes, checked against `maxBytes` before anything is allocated. */
export function niftiPayloadBytes(file: string, h: NiftiHeader, maxBytes: number): number {
  const { dims, channels } = niftiShape(h);
  const count = dims[0] * dims[1] * dims[2] * channels;
  const bytes = count * bytesOf(h.dtype);
  if (!Number.isSafeInteger(bytes) || bytes > maxBytes) {
    throw badInput(file, 'dim', `${h.dim.slice(1, h.dim[0] + 1).join('×')} ${h.dtype} voxels = ${sizeText(bytes)} exceeds the limit of ${sizeText(maxBytes)} (set ${MAX_BYTES_ENV} to change it)`);
  }
  return bytes;
}

function range(n: number, f: (i: number) => number): number[] {
  return Array.from({ length: n }, (_, i) => f(i));
}
