/**
 * DICOM CT series from a folder: one series (by SeriesInstanceUID), slices sorted along the
 * normal of ImageOrientationPatient, HU = stored · RescaleSlope + RescaleIntercept (int16 when
 * every slope/intercept is an integer and the range fits, else float32). Uneven spacing, missing
 * slices and tilted stacks are reported in `warnings`, never silently accepted.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { badInput } from '../util/errors.ts';
import { isDicom, nums, parseDicom, str, tag, us, type DicomFile } from './dicom-parse.ts';
import { checkPayload } from './text-header.ts';
import { defaultMaxBytes, type LoadedVolume, type ReadOptions } from './types.ts';
import type { Mat3, Vec3 } from './volume.ts';

const T = {
  sopClass: tag(0x0008, 0x0016), modality: tag(0x0008, 0x0060), seriesDescription: tag(0x0008, 0x103e),
  studyUid: tag(0x0020, 0x000d), seriesUid: tag(0x0020, 0x000e), seriesNumber: tag(0x0020, 0x0011),
  ipp: tag(0x0020, 0x0032), iop: tag(0x0020, 0x0037), samples: tag(0x0028, 0x0002), frames: tag(0x0028, 0x0008),
  rows: tag(0x0028, 0x0010), columns: tag(0x0028, 0x0011), pixelSpacing: tag(0x0028, 0x0030),
  bitsAllocated: tag(0x0028, 0x0100), pixelRepresentation: tag(0x0028, 0x0103),
  intercept: tag(0x0028, 0x1052), slope: tag(0x0028, 0x1053), sliceThickness: tag(0x0018, 0x0050), pixelData: tag(0x7fe0, 0x0010),
};

/** Non-image objects that may share a folder with the CT (SEG, RTSTRUCT, SR, presentation states). */
const NON_IMAGE_SOP = /^1\.2\.840\.10008\.5\.1\.4\.1\.1\.(66|481|88|11)\./;

export interface DicomReadOptions extends ReadOptions {
  /** Pick this series when the folder holds several. */
  seriesUid?: string;
}

interface Slice {
  f: DicomFile;
  pos: Vec3;
  /** Position along the slice normal. */
  s: number;
}

export function readDicomSeries(folder: string, opts: DicomReadOptions = {}): LoadedVolume {
  const warnings: string[] = [];
  const files = listFiles(folder);
  const images: DicomFile[] = [];
  for (const p of files) {
    const bytes = readFileSync(p);
    if (!isDicom(bytes) && !/\.dcm$/i.test(p)) {
      warnings.push(`${basename(p)}: skipped (not a DICOM file)`);
      continue;
    }
    const f = parseDicom(p, bytes);
    const sop = str(f, T.sopClass) ?? '';
    if (!f.elements.has(T.pixelData) || NON_IMAGE_SOP.test(sop)) {
      warnings.push(`${basename(p)}: skipped (not an image slice, SOP class ${sop || 'unknown'})`);
      continue;
    }
    images.push(f);
  }
  if (images.length === 0) throw badInput(folder, 'files', `no DICOM image slices among ${files.length} files`);
  const series = pickSeries(folder, images, opts.seriesUid);
  const slices = sortSlices(folder, series, warnings);
  const first = slices[0].f;
  const rows = us(first, T.rows), cols = us(first, T.columns);
  if (rows === undefined || rows < 1) throw badInput(first.path, 'Rows', `${rows ?? 'missing'}, expected >= 1`);
  if (cols === undefined || cols < 1) throw badInput(first.path, 'Columns', `${cols ?? 'missing'}, expected >= 1`);
  const iop = nums(first, T.iop)!;
  const ps = nums(first, T.pixelSpacing);
  if (!ps || ps.length !== 2 || !ps.every((x) => x > 0)) throw badInput(first.path, 'PixelSpacing', `${str(first, T.pixelSpacing) ?? 'missing'}, expected two positive numbers`);
  const dz = sliceSpacing(slices, first, warnings);
  const count = rows * cols * slices.length;
  checkPayload(folder, 'Rows×Columns×slices', count, 4, opts.maxBytes ?? defaultMaxBytes());
  const data = huVoxels(slices, rows, cols);
  const n = normal(iop);
  const direction: Mat3 = [iop[0], iop[3], n[0], iop[1], iop[4], n[1], iop[2], iop[5], n[2]];
  return {
    dims: [cols, rows, slices.length], spacing: [ps[1], ps[0], dz], origin: slices[0].pos, direction, data, channels: 1,
    format: 'dicom', warnings,
    meta: {
      SeriesInstanceUID: str(first, T.seriesUid) ?? '', StudyInstanceUID: str(first, T.studyUid) ?? '',
      Modality: str(first, T.modality) ?? '', SeriesDescription: str(first, T.seriesDescription) ?? '',
      TransferSyntaxUID: first.transferSyntax,
    },
  };
}

function listFiles(folder: string): string[] {
  let names: string[];
  try {
    if (!statSync(folder).isDirectory()) throw badInput(folder, 'path', 'expected a folder of DICOM files');
    names = readdirSync(folder);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw badInput(folder, 'path', 'folder not found', 'not-found');
    throw e;
  }
  const files = names.filter((n) => !n.startsWith('.') && n.toUpperCase() !== 'DICOMDIR' && !/\.(txt|json|md|xml|html?|csv|nii|gz|nrrd|mha|mhd|png|jpe?g)$/i.test(n))
    .map((n) => join(folder, n)).filter((p) => {
      // A dangling symlink or an unreadable entry is skipped, not fatal; devices and FIFOs too.
      const st = statSync(p, { throwIfNoEntry: false });
      return st !== undefined && st.isFile() && st.size > 0;
    }).sort();
  if (files.length === 0) throw badInput(folder, 'files', 'the folder holds no DICOM files');
  return files;
}

function pickSeries(folder: string, images: DicomFile[], want: string | undefined): DicomFile[] {
  const bySeries = new Map<string, DicomFile[]>();
  for (const f of images) {
    const uid = str(f, T.seriesUid) ?? '(no SeriesInstanceUID)';
    if (!bySeries.has(uid)) bySeries.set(uid, []);
    bySeries.get(uid)!.push(f);
  }
  const list = () => [...bySeries.entries()].map(([uid, fs]) => `${uid} (${fs.length} files, series ${str(fs[0], T.seriesNumber) ?? '?'} "${str(fs[0], T.seriesDescription) ?? ''}", e.g. ${basename(fs[0].path)})`).join('; ');
  if (want !== undefined) {
    const s = bySeries.get(want);
    if (!s) throw badInput(folder, 'SeriesInstanceUID', `series ${want} is not in the folder; it holds: ${list()}`, 'not-found');
    return s;
  }
  if (bySeries.size > 1) throw badInput(folder, 'SeriesInstanceUID', `the folder holds ${bySeries.size} series; choose one (seriesUid): ${list()}`);
  return [...bySeries.values()][0];
}

function normal(iop: number[]): Vec3 {
  const [a, b, c, d, e, f] = iop;
  return [b * f - c * e, c * d - a * f, a * e - b * d];
}

function sortSlices(folder: string, files: DicomFile[], warnings: string[]): Slice[] {
  const first = files[0];
  const iop = nums(first, T.iop);
  if (!iop || iop.length !== 6 || iop.some((x) => !Number.isFinite(x))) throw badInput(first.path, 'ImageOrientationPatient', `${str(first, T.iop) ?? 'missing'}, expected 6 numbers`);
  const rowLen = Math.hypot(iop[0], iop[1], iop[2]), colLen = Math.hypot(iop[3], iop[4], iop[5]);
  const dot = iop[0] * iop[3] + iop[1] * iop[4] + iop[2] * iop[5];
  if (Math.abs(rowLen - 1) > 1e-3 || Math.abs(colLen - 1) > 1e-3 || Math.abs(dot) > 1e-3) {
    throw badInput(first.path, 'ImageOrientationPatient', `${str(first, T.iop)}: row and column directions must be orthogonal unit vectors`);
  }
  const n = normal(iop);
  const rows = us(first, T.rows), cols = us(first, T.columns);
  const out: Slice[] = files.map((f) => {
    const check = (field: string, ok: boolean) => {
      if (!ok) throw badInput(f.path, field, `differs from ${basename(first.path)} in the same series`);
    };
    const o = nums(f, T.iop);
    check('ImageOrientationPatient', !!o && o.length === 6 && o.every((x, i) => Math.abs(x - iop[i]) < 1e-4));
    check('Rows', us(f, T.rows) === rows);
    check('Columns', us(f, T.columns) === cols);
    check('PixelSpacing', str(f, T.pixelSpacing) === str(first, T.pixelSpacing) || (nums(f, T.pixelSpacing) ?? []).every((x, i) => Math.abs(x - (nums(first, T.pixelSpacing) ?? [])[i]) < 1e-4));
    const p = nums(f, T.ipp);
    if (!p || p.length !== 3 || p.some((x) => !Number.isFinite(x))) throw badInput(f.path, 'ImagePositionPatient', `${str(f, T.ipp) ?? 'missing'}, expected 3 numbers`);
    const frames = Number(str(f, T.frames) ?? '1');
    if (frames > 1) throw badInput(f.path, 'NumberOfFrames', `${frames}: multi-frame (enhanced) images are not supported`, 'unsupported');
    return { f, pos: p as Vec3, s: p[0] * n[0] + p[1] * n[1] + p[2] * n[2] };
  });
  out.sort((a, b) => a.s - b.s);
  for (let i = 1; i < out.length; i++) {
    if (Math.abs(out[i].s - out[i - 1].s) < 1e-3) {
      throw badInput(folder, 'ImagePositionPatient', `${basename(out[i - 1].f.path)} and ${basename(out[i].f.path)} are at the same position (${out[i].s.toFixed(3)} mm along the normal): duplicate slices`);
    }
  }
  // Slices must stack along the normal; an in-plane drift means gantry tilt or a mixed series.
  let drift = 0;
  for (const sl of out) {
    const d = [0, 1, 2].map((c) => sl.pos[c] - out[0].pos[c] - (sl.s - out[0].s) * n[c]);
    drift = Math.max(drift, Math.hypot(d[0], d[1], d[2]));
  }
  if (drift > 1e-2) warnings.push(`ImagePositionPatient: slices drift up to ${drift.toFixed(3)} mm in-plane (gantry tilt?); the volume is not resampled and assumes a straight stack`);
  return out;
}

function sliceSpacing(slices: Slice[], first: DicomFile, warnings: string[]): number {
  if (slices.length === 1) {
    const t = nums(first, T.sliceThickness)?.[0];
    warnings.push(`single slice: slice spacing taken from SliceThickness (${t ?? 'missing, using 1'})`);
    return t && t > 0 ? t : 1;
  }
  const gaps = slices.slice(1).map((sl, i) => sl.s - slices[i].s);
  const sorted = [...gaps].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  const mean = (slices[slices.length - 1].s - slices[0].s) / (slices.length - 1);
  const tol = Math.max(1e-3, 0.01 * median);
  if (sorted[sorted.length - 1] - sorted[0] > tol) {
    const missing = gaps.reduce((m, g) => m + Math.max(0, Math.round(g / median) - 1), 0);
    warnings.push(`uneven slice spacing: gaps from ${sorted[0].toFixed(3)} to ${sorted[sorted.length - 1].toFixed(3)} mm (median ${median.toFixed(3)})` +
      (missing > 0 ? `; about ${missing} slice(s) appear to be missing` : '') + `; using the mean spacing ${mean.toFixed(4)} mm, positions may be off`);
  }
  return mean;
}

function huVoxels(slices: Slice[], rows: number, cols: number): Int16Array | Float32Array {
  const per = rows * cols;
  const raws = slices.map(({ f }) => rawPixels(f, per));
  const scales = slices.map(({ f }) => ({ slope: nums(f, T.slope)?.[0] ?? 1, inter: nums(f, T.intercept)?.[0] ?? 0 }));
  let integral = true, lo = Infinity, hi = -Infinity;
  raws.forEach((r, k) => {
    const { slope, inter } = scales[k];
    if (!Number.isInteger(slope) || !Number.isInteger(inter)) integral = false;
    let mn = Infinity, mx = -Infinity;
    for (let i = 0; i < r.length; i++) { const x = r[i]; if (x < mn) mn = x; if (x > mx) mx = x; }
    for (const x of [mn * slope + inter, mx * slope + inter]) { lo = Math.min(lo, x); hi = Math.max(hi, x); }
  });
  const out = integral && lo >= -32768 && hi <= 32767 ? new Int16Array(per * slices.length) : new Float32Array(per * slices.length);
  raws.forEach((r, k) => {
    const { slope, inter } = scales[k];
    const base = k * per;
    for (let i = 0; i < per; i++) out[base + i] = r[i] * slope + inter;
  });
  return out;
}

function rawPixels(f: DicomFile, per: number): Int16Array | Uint16Array | Int8Array | Uint8Array | Int32Array | Uint32Array {
  const e = f.elements.get(T.pixelData)!;
  if (e.encapsulated) throw badInput(f.path, 'PixelData', 'encapsulated (compressed) pixel data in an uncompressed transfer syntax', 'unsupported');
  const samples = us(f, T.samples) ?? 1;
  if (samples !== 1) throw badInput(f.path, 'SamplesPerPixel', `${samples}: only grayscale (1) is supported`, 'unsupported');
  const bits = us(f, T.bitsAllocated);
  const signed = us(f, T.pixelRepresentation) === 1;
  if (bits !== 8 && bits !== 16 && bits !== 32) throw badInput(f.path, 'BitsAllocated', `${bits}, expected 8, 16 or 32`, 'unsupported');
  const bytes = bits / 8;
  if (e.length < per * bytes) throw badInput(f.path, 'PixelData', `${e.length} bytes, Rows×Columns needs ${per * bytes}`);
  const src = f.bytes.subarray(e.offset, e.offset + per * bytes);
  const copy = new Uint8Array(src);
  if (!f.littleEndian && bytes > 1) for (let i = 0; i < copy.length; i += bytes) copy.subarray(i, i + bytes).reverse();
  if (bits === 8) return signed ? new Int8Array(copy.buffer) : copy;
  if (bits === 16) return signed ? new Int16Array(copy.buffer) : new Uint16Array(copy.buffer);
  return signed ? new Int32Array(copy.buffer) : new Uint32Array(copy.buffer);
}
