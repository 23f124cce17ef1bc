/**
 * NIfTI-1/-2 reader and NIfTI-1 writer (.nii, .nii.gz; .hdr/.img pairs read).
 *
 * Geometry follows the standard's precedence (nifti1.h, "3 methods"): sform_code > 0 → srow
 * affine; else qform_code > 0 → quaternion + pixdim + qoffset; else method 1 (diag(pixdim),
 * origin 0, as nifti1_io and ITK do; nibabel shows a centred Analyze affine instead). NIfTI
 * world is RAS; Osteon's is LPS (volume.ts), so the first two world rows are negated.
 */
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { gzipSync } from 'node:zlib';
import { badInput, usageError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { affineOf, flipRasLps, polarOrthonormal, quaternToRotation, rotationToQuatern, splitAffine, type Affine34, type SplitAffine } from './affine.ts';
import { NIFTI_CODES, bytesOf, dtypeOf, voxelBytes, voxelsFromBytes } from './dtype.ts';
import { maxCompressedSize, readExactly, readHead, readWhole, requireFile, resolveDataFile, sizeText } from './files.ts';
import { gunzipExpected, gunzipHead, isGzip } from './gzip.ts';
import { NIFTI2_SIZE, niftiPayloadBytes, niftiShape, parseNiftiHeader, type NiftiHeader } from './nifti-header.ts';
import { defaultMaxBytes, type LoadedVolume, type ReadOptions } from './types.ts';
import type { Volume, VoxelArray } from './volume.ts';

export function readNifti(path: string, opts: ReadOptions = {}): LoadedVolume {
  const maxBytes = opts.maxBytes ?? defaultMaxBytes();
  const fileSize = requireFile(path);
  const head = readHead(path, NIFTI2_SIZE);
  const gz = isGzip(head);
  // A gzip header is inflated from a 64 KiB prefix: the claim is checked before the file is read.
  const h = parseNiftiHeader(path, gz ? gunzipHead(path, readHead(path, 64 * 1024), NIFTI2_SIZE) : head);
  const payload = niftiPayloadBytes(path, h, maxBytes);
  const warnings: string[] = [];
  const { geom, xform } = niftiGeometry(path, h, warnings); // before decoding: fail fast
  let bytes: Uint8Array;
  if (h.singleFile) {
    const need = h.voxOffset + payload;
    bytes = gz ? gunzipExpected(path, readBounded(path, fileSize, need), need) : readExactly(path, need);
  } else {
    const img = path.replace(/\.hdr(\.gz)?$/i, '.img$1');
    if (img === path || !existsSync(img)) throw badInput(path, 'magic', `"${h.magic}" is a .hdr/.img pair but ${img === path ? 'the file is not a .hdr' : 'the .img is missing'}`);
    // The .img must be a regular file in the header's folder (a link leading out is refused).
    const imgReal = resolveDataFile(path, basename(img), 'img');
    const imgSize = requireFile(imgReal, 'img');
    const need = h.voxOffset + payload;
    bytes = isGzip(readHead(imgReal, NIFTI2_SIZE)) ? gunzipExpected(img, readBounded(imgReal, imgSize, need), need) : readExactly(imgReal, need);
  }
  const offset = h.voxOffset;
  const { dims, channels } = niftiShape(h);
  const n = dims[0] * dims[1] * dims[2] * channels;
  const data = scale(voxelsFromBytes(h.dtype, bytes, offset, n, h.littleEndian), h);
  return {
    ...geom, dims, channels, data, format: h.version === 1 ? 'nifti1' : 'nifti2', warnings,
    meta: { descrip: h.descrip, qform_code: String(h.qformCode), sform_code: String(h.sformCode), xform },
  };
}

/** A gzip file whose size an honest compression of `need` bytes can have; read whole. */
function readBounded(path: string, size: number, need: number): Buffer {
  const bound = maxCompressedSize(need);
  if (size > bound) throw badInput(path, 'gzip', `${sizeText(size)} of gzip data, more than any compression of the ${sizeText(need)} the header describes`);
  return readWhole(path);
}

/** scl_slope/scl_inter: slope 0 or non-finite means "no scaling" (nifti1.h). */
function scale(raw: VoxelArray, h: NiftiHeader): VoxelArray {
  const slope = Number.isFinite(h.sclSlope) && h.sclSlope !== 0 ? h.sclSlope : 1;
  const inter = Number.isFinite(h.sclInter) ? h.sclInter : 0;
  if (slope === 1 && inter === 0) return raw;
  const out = raw instanceof Float64Array ? new Float64Array(raw.length) : new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw[i] * slope + inter;
  return out;
}

function niftiGeometry(path: string, h: NiftiHeader, warnings: string[]): { geom: SplitAffine; xform: string } {
  if (h.sformCode > 0) {
    try {
      return { geom: splitAffine(flipRasLps(h.srow), path, 'sform', warnings), xform: 'sform' };
    } catch (e) {
      if (h.qformCode <= 0) throw e;
      warnings.push(`sform: ${(e as Error).message.split(': ').slice(2).join(': ')}; using the qform instead`);
    }
  }
  if (h.qformCode > 0) return { geom: splitAffine(flipRasLps(qformAffine(h, warnings)), path, 'qform', warnings), xform: 'qform' };
  warnings.push('no sform or qform (both codes 0): using method 1, diag(pixdim) with origin 0');
  const px = [1, 2, 3].map((i) => positivePixdim(h, i, warnings));
  return { geom: splitAffine(flipRasLps([px[0], 0, 0, 0, 0, px[1], 0, 0, 0, 0, px[2], 0]), path, 'pixdim', warnings), xform: 'pixdim' };
}

function positivePixdim(h: NiftiHeader, i: number, warnings: string[]): number {
  const p = h.pixdim[i];
  if (Number.isFinite(p) && p > 0) return p;
  if (Number.isFinite(p) && p < 0) return -p;
  warnings.push(`pixdim[${i}]=${p}: using 1 mm`);
  return 1;
}

function qformAffine(h: NiftiHeader, warnings: string[]): Affine34 {
  const r = quaternToRotation(...h.quatern);
  const qfac = h.pixdim[0] < 0 ? -1 : 1;
  const s = [positivePixdim(h, 1, warnings), positivePixdim(h, 2, warnings), positivePixdim(h, 3, warnings) * qfac];
  const [ox, oy, oz] = h.qoffset;
  return [r[0] * s[0], r[1] * s[1], r[2] * s[2], ox, r[3] * s[0], r[4] * s[1], r[5] * s[2], oy, r[6] * s[0], r[7] * s[1], r[8] * s[2], oz];
}

export interface NiftiWriteOptions {
  /** qform_code and sform_code (default 1, NIFTI_XFORM_SCANNER_ANAT; 2 = aligned anat). */
  xformCode?: number;
  /** gzip level for .nii.gz (default 6). */
  gzipLevel?: number;
  descrip?: string;
}

/** Writes a NIfTI-1 file (.nii or .nii.gz by extension) atomically, sform and qform both set. */
export function writeNifti(path: string, vol: Volume, opts: NiftiWriteOptions = {}): void {
  const gz = /\.nii\.gz$/i.test(path);
  if (!gz && !/\.nii$/i.test(path)) throw usageError(`${path}: a NIfTI output must end in .nii or .nii.gz`);
  const bytes = encodeNifti(vol, opts);
  writeFileAtomic(path, gz ? gzipSync(bytes, { level: opts.gzipLevel ?? 6 }) : bytes);
}

/** The bytes of a single-file NIfTI-1 image: 348-byte header, 4 zero extension bytes, voxels. */
export function encodeNifti(vol: Volume, opts: NiftiWriteOptions = {}): Buffer {
  const dtype = dtypeOf(vol.data);
  const n = vol.dims[0] * vol.dims[1] * vol.dims[2] * vol.channels;
  if (vol.data.length !== n) throw badInput('volume', 'data', `${vol.data.length} voxels, dims ${vol.dims.join('×')}×${vol.channels} need ${n}`);
  if ([...vol.dims, vol.channels].some((d) => d > 32767)) throw badInput('volume', 'dims', `${vol.dims.join('×')}×${vol.channels}: NIfTI-1 stores sizes as int16 (max 32767)`, 'unsupported');
  const out = Buffer.alloc(352 + n * bytesOf(dtype));
  const v = new DataView(out.buffer, out.byteOffset, 352);
  const ras = flipRasLps(affineOf(vol));
  const d = polarOrthonormal(vol.direction);
  const q = rotationToQuatern([-d[0], -d[1], -d[2], -d[3], -d[4], -d[5], d[6], d[7], d[8]]);
  const code = opts.xformCode ?? 1;
  v.setInt32(0, 348, true);
  out[38] = 'r'.charCodeAt(0);
  const dim = [vol.channels > 1 ? 4 : 3, ...vol.dims, vol.channels, 1, 1, 1];
  dim.forEach((d, i) => v.setInt16(40 + 2 * i, d, true));
  v.setInt16(70, NIFTI_CODES[dtype], true);
  v.setInt16(72, bytesOf(dtype) * 8, true);
  [q.qfac, ...vol.spacing, vol.channels > 1 ? 1 : 0, 0, 0, 0].forEach((p, i) => v.setFloat32(76 + 4 * i, p, true));
  v.setFloat32(108, 352, true);
  v.setFloat32(112, 1, true);
  v.setFloat32(116, 0, true);
  out[123] = 2; // xyzt_units: NIFTI_UNITS_MM
  out.write((opts.descrip ?? 'Osteon').slice(0, 79), 148, 'latin1');
  v.setInt16(252, code, true);
  v.setInt16(254, code, true);
  [q.b, q.c, q.d, ras[3], ras[7], ras[11]].forEach((x, i) => v.setFloat32(256 + 4 * i, x, true));
  ras.forEach((x, i) => v.setFloat32(280 + 4 * i, x, true));
  out.write('n+1\0', 344, 'latin1');
  out.set(voxelBytes(vol.data), 352);
  return out;
}
