/**
 * DICOM CT series → Volume. The input is a folder (searched recursively; files with or without
 * extensions), a DICOMDIR, or a single (multi-frame) file. Slices are the frames of every file
 * in one series (classic single-frame CT, or enhanced CT with per-frame functional groups),
 * sorted along the normal of ImageOrientationPatient. HU = stored · RescaleSlope +
 * RescaleIntercept as pydicom's apply_modality_lut computes it (int16 when every slope and
 * intercept is an integer and the range fits, else float32).
 *
 * Refused (exit 2, naming the file and the field): mixed orientations or sizes, gantry tilt
 * (slices drifting in-plane), missing slices and spacing that varies beyond 1 % — Osteon does
 * not resample a series behind the user's back.
 *
 * Compressed pixel data is decoded off the calling thread (`dicom-decode.ts`).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { badInput } from '../util/errors.ts';
import { cancelled, decodeInWorkers, decodeSync, type DecodeProgress } from './dicom-decode.ts';
import { firstItem, isEncapsulatedSyntax, nums, parseDicom, str, tag, transferSyntaxName, us, type DataSet, type DicomFile } from './dicom-parse.ts';
import { frameInfo, nativeFrames } from './dicom-pixels.ts';
import { scanDicom, type Scan, type ScannedFile } from './dicom-scan.ts';
import type { Samples } from './dicom-codecs.ts';
import { checkPayload } from './text-header.ts';
import { defaultMaxBytes, type LoadedVolume, type ReadOptions } from './types.ts';
import type { Mat3, Vec3 } from './volume.ts';

export const T = {
  sopClass: tag(0x0008, 0x0016), sopInstance: tag(0x0008, 0x0018), modality: tag(0x0008, 0x0060), seriesDescription: tag(0x0008, 0x103e),
  studyUid: tag(0x0020, 0x000d), seriesUid: tag(0x0020, 0x000e), seriesNumber: tag(0x0020, 0x0011), frameOfReference: tag(0x0020, 0x0052),
  ipp: tag(0x0020, 0x0032), iop: tag(0x0020, 0x0037), pixelSpacing: tag(0x0028, 0x0030), gantryTilt: tag(0x0018, 0x1120),
  intercept: tag(0x0028, 0x1052), slope: tag(0x0028, 0x1053), sliceThickness: tag(0x0018, 0x0050), pixelData: tag(0x7fe0, 0x0010),
  sharedFG: tag(0x5200, 0x9229), perFrameFG: tag(0x5200, 0x9230), planePosition: tag(0x0020, 0x9113), planeOrientation: tag(0x0020, 0x9116),
  pixelMeasures: tag(0x0028, 0x9110), pixelValueTransform: tag(0x0028, 0x9145),
};

/** Relative spread of slice gaps accepted as "uniform" (1 %, at least 1 µm). */
const SPACING_TOLERANCE = 0.01;
/** In-plane drift (mm) of slice origins accepted before the stack counts as tilted. */
const TILT_TOLERANCE_MM = 0.01;

export interface DicomReadOptions extends ReadOptions {
  /** Pick this series when the folder holds several. */
  seriesUid?: string;
  /** Progress of the pixel decode (async reader only). */
  onProgress?: (p: DecodeProgress) => void;
  /** Decoder threads for compressed series (default: min(4, cores)). */
  threads?: number;
  /** Cancels the async read (rejects with code 'cancelled'); the sync reader ignores it. */
  signal?: AbortSignal;
}

/** One slice of the volume: a frame of a file, with its own geometry and rescale. */
export interface Slice {
  file: DicomFile;
  frame: number;
  pos: Vec3;
  iop: number[];
  spacing: [number, number];
  slope: number;
  intercept: number;
  /** Position along the slice normal. */
  s: number;
}

/** What Osteon needs from a series before decoding any pixel. */
export interface SeriesPlan {
  uid: string;
  slices: Slice[];
  rows: number;
  cols: number;
  dims: Vec3;
  spacing: Vec3;
  origin: Vec3;
  direction: Mat3;
  warnings: string[];
  meta: Record<string, string>;
}

/** Reads a series synchronously; compressed pixels are decoded in worker threads the caller waits on. */
export function readDicomSeries(path: string, opts: DicomReadOptions = {}): LoadedVolume {
  const plan = planDicomSeries(path, opts);
  const files = filesOf(plan);
  const compressed = files.some((f) => isEncapsulatedSyntax(f.transferSyntax));
  const frames = compressed ? decodeSync(files.map((f) => f.path), opts.threads) : files.map((f) => nativeFrames(whole(f)));
  return assemble(plan, files, frames, opts);
}

/** Reads a series with the pixel decode in worker threads, reporting progress per file. */
export async function readDicomSeriesAsync(path: string, opts: DicomReadOptions = {}): Promise<LoadedVolume> {
  const plan = planDicomSeries(path, opts);
  const files = filesOf(plan);
  const compressed = files.some((f) => isEncapsulatedSyntax(f.transferSyntax));
  let frames: Samples[][];
  let early: Int16Array | null = null;
  if (compressed) {
    const hu = incrementalHu(plan, files, opts);
    frames = await decodeInWorkers(files.map((f) => f.path), { threads: opts.threads, onProgress: opts.onProgress, signal: opts.signal, onFile: hu?.add });
    early = hu?.result() ?? null;
  } else {
    frames = [];
    for (let i = 0; i < files.length; i++) {
      // Uncompressed files are read here; yield now and then so an abort (or a UI message) gets in.
      if (i % 16 === 15) await new Promise<void>((r) => setImmediate(r));
      if (opts.signal?.aborted) throw cancelled();
      frames.push(nativeFrames(whole(files[i])));
      opts.onProgress?.({ done: i + 1, total: files.length, file: files[i].path });
    }
  }
  return assemble(plan, files, frames, opts, early);
}

/**
 * HU into int16 as each decoded file arrives, on this thread while the workers decode the
 * others (so no conversion pass is left after the last decode). Null when a slope or intercept
 * is not an integer; `result()` is null when a value did not fit or a frame was short (then
 * `assemble` converts everything, or names the short frame).
 */
function incrementalHu(plan: SeriesPlan, files: DicomFile[], opts: ReadOptions): { add: (i: number, frames: Samples[]) => void; result: () => Int16Array | null } | null {
  if (!plan.slices.every((s) => Number.isInteger(s.slope) && Number.isInteger(s.intercept))) return null;
  const per = plan.rows * plan.cols;
  checkPayload(plan.slices[0].file.path, 'Rows×Columns×slices', per * plan.slices.length, 4, opts.maxBytes ?? defaultMaxBytes());
  const index = new Map(files.map((f, i) => [f, i]));
  const slicesOfFile = files.map((): number[] => []);
  plan.slices.forEach((sl, k) => slicesOfFile[index.get(sl.file)!].push(k));
  const out = new Int16Array(per * plan.slices.length);
  let ok = true, added = 0;
  return {
    add: (i, frames) => {
      added++;
      for (const k of slicesOfFile[i]) {
        if (!ok) return;
        const sl = plan.slices[k];
        const fr = frames[sl.frame];
        ok = fr !== undefined && fr.length >= per && toInt16(fr, sl.slope, sl.intercept, out, k * per, per);
      }
    },
    result: () => (ok && added === files.length ? out : null),
  };
}

/** The file parsed whole (the scan kept headers only, from the file's first bytes). */
function whole(f: DicomFile): DicomFile {
  return f.headerOnly ? parseDicom(f.path, readFileSync(f.path)) : f;
}

function filesOf(plan: SeriesPlan): DicomFile[] {
  return [...new Set(plan.slices.map((s) => s.file))];
}

function assemble(plan: SeriesPlan, files: DicomFile[], frames: Samples[][], opts: ReadOptions, converted: Int16Array | null = null): LoadedVolume {
  const index = new Map(files.map((f, i) => [f, i]));
  const per = plan.rows * plan.cols;
  checkPayload(plan.slices[0].file.path, 'Rows×Columns×slices', per * plan.slices.length, 4, opts.maxBytes ?? defaultMaxBytes());
  const raws = plan.slices.map((sl) => {
    const fr = frames[index.get(sl.file)!][sl.frame];
    if (!fr || fr.length < per) throw badInput(sl.file.path, 'PixelData', `frame ${sl.frame + 1} is missing or short`);
    return fr;
  });
  const data = converted ?? huVoxels(plan.slices, raws, per);
  return {
    dims: plan.dims, spacing: plan.spacing, origin: plan.origin, direction: plan.direction, data, channels: 1,
    format: 'dicom', warnings: plan.warnings, meta: plan.meta,
  };
}

/** Reads headers, picks the series, sorts and checks the slices; decodes no pixels. */
export function planDicomSeries(path: string, opts: DicomReadOptions = {}): SeriesPlan {
  return planFromScan(path, scanDicom(path), opts);
}

function planFromScan(path: string, scan: Scan, opts: DicomReadOptions): SeriesPlan {
  const warnings = [...scan.warnings];
  const series = pickSeries(path, scan.images, opts.seriesUid);
  const slices = sortSlices(path, series.flatMap((s) => slicesOf(s.file)));
  const first = slices[0];
  const info = frameInfo(first.file);
  const dz = sliceSpacing(path, slices, warnings);
  const n = normal(first.iop);
  const iop = first.iop;
  const direction: Mat3 = [iop[0], iop[3], n[0], iop[1], iop[4], n[1], iop[2], iop[5], n[2]];
  const f = first.file;
  return {
    uid: str(f, T.seriesUid) ?? '', slices, rows: info.rows, cols: info.columns,
    dims: [info.columns, info.rows, slices.length], spacing: [first.spacing[1], first.spacing[0], dz], origin: first.pos, direction, warnings,
    meta: {
      SeriesInstanceUID: str(f, T.seriesUid) ?? '', StudyInstanceUID: str(f, T.studyUid) ?? '',
      FrameOfReferenceUID: str(f, T.frameOfReference) ?? '', Modality: str(f, T.modality) ?? '',
      SeriesDescription: str(f, T.seriesDescription) ?? '', TransferSyntaxUID: f.transferSyntax,
      TransferSyntax: transferSyntaxName(f.transferSyntax),
    },
  };
}

function seriesList(groups: Map<string, ScannedFile[]>): string {
  return [...groups.entries()].map(([uid, fs]) => `${uid} (${fs.length} files, series ${str(fs[0].file, T.seriesNumber) ?? '?'} "${str(fs[0].file, T.seriesDescription) ?? ''}", e.g. ${basename(fs[0].file.path)})`).join('; ');
}

export function groupBySeries(images: ScannedFile[]): Map<string, ScannedFile[]> {
  const bySeries = new Map<string, ScannedFile[]>();
  for (const s of images) {
    const uid = str(s.file, T.seriesUid) ?? '(no SeriesInstanceUID)';
    if (!bySeries.has(uid)) bySeries.set(uid, []);
    bySeries.get(uid)!.push(s);
  }
  return bySeries;
}

function pickSeries(path: string, images: ScannedFile[], want: string | undefined): ScannedFile[] {
  const bySeries = groupBySeries(images);
  if (want !== undefined) {
    const s = bySeries.get(want);
    if (!s) throw badInput(path, 'SeriesInstanceUID', `series ${want} is not in ${basename(path)}; it holds: ${seriesList(bySeries)}`, 'not-found');
    return s;
  }
  if (bySeries.size > 1) throw badInput(path, 'SeriesInstanceUID', `the folder holds ${bySeries.size} series; choose one (seriesUid, --series UID): ${seriesList(bySeries)}`);
  return [...bySeries.values()][0];
}

function normal(iop: number[]): Vec3 {
  const [a, b, c, d, e, f] = iop;
  return [b * f - c * e, c * d - a * f, a * e - b * d];
}

function numbersOf(ds: DataSet | undefined, t: number): number[] | undefined {
  return ds ? nums(ds, t) : undefined;
}

/** The slices (frames) of one file: classic images have one, enhanced CT one per frame. */
export function slicesOf(f: DicomFile): Slice[] {
  const info = frameInfo(f);
  const shared = f.elements.get(T.sharedFG)?.items?.[0];
  const perFrame = f.elements.get(T.perFrameFG)?.items ?? [];
  if (info.frames > 1 && perFrame.length !== info.frames) {
    throw badInput(f.path, 'PerFrameFunctionalGroupsSequence', `${perFrame.length} items for NumberOfFrames=${info.frames}: a multi-frame image needs a position per frame (enhanced CT)`, 'unsupported');
  }
  const out: Slice[] = [];
  for (let k = 0; k < info.frames; k++) {
    const pf = perFrame[k];
    const sets = [pf, shared];
    const iop = numbersOf(firstItem(sets, T.planeOrientation), T.iop) ?? nums(f, T.iop);
    if (!iop || iop.length !== 6 || iop.some((x) => !Number.isFinite(x))) throw badInput(f.path, 'ImageOrientationPatient', `${str(f, T.iop) ?? 'missing'}, expected 6 numbers`);
    const pos = numbersOf(firstItem(sets, T.planePosition), T.ipp) ?? nums(f, T.ipp);
    if (!pos || pos.length !== 3 || pos.some((x) => !Number.isFinite(x))) throw badInput(f.path, 'ImagePositionPatient', `${str(f, T.ipp) ?? 'missing'}${info.frames > 1 ? ` (frame ${k + 1})` : ''}, expected 3 numbers`);
    const ps = numbersOf(firstItem(sets, T.pixelMeasures), T.pixelSpacing) ?? nums(f, T.pixelSpacing);
    if (!ps || ps.length !== 2 || !ps.every((x) => x > 0)) throw badInput(f.path, 'PixelSpacing', `${str(f, T.pixelSpacing) ?? 'missing'}, expected two positive numbers`);
    const pvt = firstItem(sets, T.pixelValueTransform);
    const slope = numbersOf(pvt, T.slope)?.[0] ?? nums(f, T.slope)?.[0];
    const intercept = numbersOf(pvt, T.intercept)?.[0] ?? nums(f, T.intercept)?.[0];
    // pydicom rescales only when both are present.
    const both = slope !== undefined && intercept !== undefined;
    out.push({ file: f, frame: k, pos: pos as Vec3, iop, spacing: [ps[0], ps[1]], slope: both ? slope : 1, intercept: both ? intercept : 0, s: 0 });
  }
  return out;
}

function sortSlices(path: string, slices: Slice[]): Slice[] {
  const first = slices[0];
  const iop = first.iop;
  const rowLen = Math.hypot(iop[0], iop[1], iop[2]), colLen = Math.hypot(iop[3], iop[4], iop[5]);
  const dot = iop[0] * iop[3] + iop[1] * iop[4] + iop[2] * iop[5];
  if (Math.abs(rowLen - 1) > 1e-3 || Math.abs(colLen - 1) > 1e-3 || Math.abs(dot) > 1e-3) {
    throw badInput(first.file.path, 'ImageOrientationPatient', `${iop.join('\\')}: row and column directions must be orthogonal unit vectors`);
  }
  const n = normal(iop);
  const info = frameInfo(first.file);
  for (const sl of slices) {
    const check = (field: string, ok: boolean, detail: string) => {
      if (!ok) throw badInput(sl.file.path, field, `${detail} differs from ${basename(first.file.path)} in the same series (mixed series; Osteon does not resample)`);
    };
    check('ImageOrientationPatient', sl.iop.every((x, i) => Math.abs(x - iop[i]) < 1e-4), sl.iop.join('\\'));
    if (sl.file !== first.file) {
      const fi = frameInfo(sl.file);
      check('Rows', fi.rows === info.rows, String(fi.rows));
      check('Columns', fi.columns === info.columns, String(fi.columns));
    }
    check('PixelSpacing', sl.spacing.every((x, i) => Math.abs(x - first.spacing[i]) < 1e-4), sl.spacing.join('\\'));
    sl.s = sl.pos[0] * n[0] + sl.pos[1] * n[1] + sl.pos[2] * n[2];
  }
  const out = [...slices].sort((a, b) => a.s - b.s);
  const label = (sl: Slice) => `${basename(sl.file.path)}${sl.file.elements.has(T.perFrameFG) ? ` frame ${sl.frame + 1}` : ''}`;
  for (let i = 1; i < out.length; i++) {
    if (Math.abs(out[i].s - out[i - 1].s) < 1e-3) {
      throw badInput(out[i].file.path, 'ImagePositionPatient', `${label(out[i - 1])} and ${label(out[i])} are at the same position (${out[i].s.toFixed(3)} mm along the normal): duplicate slices`);
    }
  }
  // Slices must stack along the normal; an in-plane drift means gantry tilt.
  let worst = out[0], drift = 0;
  for (const sl of out) {
    const d = [0, 1, 2].map((c) => sl.pos[c] - out[0].pos[c] - (sl.s - out[0].s) * n[c]);
    const x = Math.hypot(d[0], d[1], d[2]);
    if (x > drift) { drift = x; worst = sl; }
  }
  if (drift > TILT_TOLERANCE_MM) {
    const tilt = str(first.file, T.gantryTilt);
    throw badInput(worst.file.path, 'ImagePositionPatient', `slice origins drift ${drift.toFixed(3)} mm in-plane from the first slice: gantry tilt${tilt ? ` (GantryDetectorTilt ${tilt})` : ''}; Osteon does not resample tilted stacks, reconstruct without tilt first`, 'unsupported');
  }
  void path;
  return out;
}

function sliceSpacing(path: string, slices: Slice[], warnings: string[]): number {
  const first = slices[0].file;
  if (slices.length === 1) {
    const t = nums(first, T.sliceThickness)?.[0];
    warnings.push(`single slice: slice spacing taken from SliceThickness (${t ?? 'missing, using 1'})`);
    return t && t > 0 ? t : 1;
  }
  const gaps = slices.slice(1).map((sl, i) => sl.s - slices[i].s);
  const sorted = [...gaps].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  const tol = Math.max(1e-3, SPACING_TOLERANCE * median);
  const bad = gaps.findIndex((g) => Math.abs(g - median) > tol);
  if (bad >= 0) {
    const missing = gaps.reduce((m, g) => m + Math.max(0, Math.round(g / median) - 1), 0);
    const a = slices[bad], b = slices[bad + 1];
    const why = missing > 0 ? `about ${missing} slice(s) missing` : `slice spacing not uniform (gaps ${sorted[0].toFixed(3)} to ${sorted[sorted.length - 1].toFixed(3)} mm, tolerance ${(SPACING_TOLERANCE * 100).toFixed(0)} %)`;
    throw badInput(b.file.path, 'ImagePositionPatient', `${why}: ${gaps[bad].toFixed(3)} mm between ${basename(a.file.path)} and ${basename(b.file.path)}, median gap ${median.toFixed(3)} mm; Osteon does not resample`);
  }
  void path;
  void warnings;
  return (slices[slices.length - 1].s - slices[0].s) / (slices.length - 1);
}

/** HU as pydicom's apply_modality_lut computes it (float64 there; int16 here when exact, else float32). */
function huVoxels(slices: Slice[], raws: Samples[], per: number): Int16Array | Float32Array {
  // Int16 when every slope and intercept is an integer and every HU fits; else Float32. One pass
  // in the common case: convert into Int16 and fall back to Float32 at the first value outside.
  if (slices.every((s) => Number.isInteger(s.slope) && Number.isInteger(s.intercept))) {
    const out = new Int16Array(per * slices.length);
    if (raws.every((r, k) => toInt16(r, slices[k].slope, slices[k].intercept, out, k * per, per))) return out;
  }
  const out = new Float32Array(per * slices.length);
  raws.forEach((r, k) => {
    const { slope, intercept } = slices[k];
    const base = k * per;
    for (let i = 0; i < per; i++) out[base + i] = r[i] * slope + intercept;
  });
  return out;
}

/** HU of one slice into `out` at `base`; false as soon as one is outside int16. */
function toInt16(r: Samples, slope: number, intercept: number, out: Int16Array, base: number, per: number): boolean {
  for (let i = 0; i < per; i++) {
    const v = r[i] * slope + intercept;
    if (v < -32768 || v > 32767) return false;
    out[base + i] = v;
  }
  return true;
}

/** A series as the import wizard and `osteon inspect` list it. */
export interface SeriesSummary {
  uid: string;
  number: string;
  description: string;
  modality: string;
  files: number;
  slices: number;
  rows: number;
  columns: number;
  /** Pixel spacing (row, column) and slice spacing in mm, or null when the series is refused. */
  spacing: Vec3 | null;
  transferSyntax: string;
  transferSyntaxName: string;
  /** Why the series cannot be read (field and reason), or null when it can. */
  problem: string | null;
}

/** Every image series under a folder / DICOMDIR, with what it would read as (headers only). */
export function listDicomSeries(path: string): SeriesSummary[] {
  const scan = scanDicom(path);
  return [...groupBySeries(scan.images).entries()].map(([uid, group]) => {
    const f = group[0].file;
    let problem: string | null = null, spacing: Vec3 | null = null, slices = 0;
    try {
      const plan = planFromScan(path, scan, { seriesUid: uid });
      spacing = plan.spacing;
      slices = plan.slices.length;
    } catch (e) {
      problem = (e as Error).message;
      slices = group.reduce((n, g) => n + (Number(str(g.file, tag(0x0028, 0x0008)) ?? '1') || 1), 0);
    }
    return {
      uid, number: str(f, T.seriesNumber) ?? '', description: str(f, T.seriesDescription) ?? '', modality: str(f, T.modality) ?? '',
      files: group.length, slices, rows: us(f, tag(0x0028, 0x0010)) ?? 0, columns: us(f, tag(0x0028, 0x0011)) ?? 0, spacing,
      transferSyntax: f.transferSyntax, transferSyntaxName: transferSyntaxName(f.transferSyntax), problem,
    };
  });
}
