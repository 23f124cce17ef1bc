/**
 * One entry point for every image format: `readVolume` dispatches by magic bytes first and
 * the extension second; `writeVolume` by extension. A folder is read as a DICOM series.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { badInput, usageError } from '../util/errors.ts';
import { isDicom } from './dicom-parse.ts';
import { readDicomSeries, readDicomSeriesAsync, type DicomReadOptions } from './dicom.ts';
import { isGzip } from './gzip.ts';
import { readMetaImage, writeMetaImage, type MetaImageWriteOptions } from './metaimage.ts';
import { readNifti, writeNifti, type NiftiWriteOptions } from './nifti.ts';
import { readNrrd, writeNrrd, type NrrdWriteOptions } from './nrrd.ts';
import type { LoadedVolume } from './types.ts';
import type { Volume } from './volume.ts';

export type { LoadedVolume, ReadOptions } from './types.ts';
export type { DicomReadOptions } from './dicom.ts';
export type { MetaImageWriteOptions, NiftiWriteOptions, NrrdWriteOptions };

type Kind = 'nifti' | 'nrrd' | 'metaimage' | 'dicom';

function kindOf(path: string): Kind | null {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw badInput(path, 'path', 'file not found', 'not-found');
  }
  if (st.isDirectory()) return 'dicom';
  if (st.size === 0) throw badInput(path, 'header', 'the file is empty');
  const head = Buffer.alloc(132);
  const fd = openSync(path, 'r');
  try { readSync(fd, head, 0, 132, 0); } finally { closeSync(fd); }
  if (head.toString('latin1', 0, 4) === 'NRRD') return 'nrrd';
  const lower = path.toLowerCase();
  if (/\.(nii|nii\.gz|hdr|hdr\.gz|img|img\.gz)$/.test(lower)) return 'nifti';
  if (/\.(nrrd|nhdr)$/.test(lower)) return 'nrrd';
  if (/\.(mha|mhd)$/.test(lower)) return 'metaimage';
  // A DICOMDIR, or one (multi-frame) DICOM file, with or without an extension.
  if (isDicom(head) || /\.dcm$/i.test(path) || /(^|[\\/])DICOMDIR$/i.test(path)) return 'dicom';
  const v = head.readInt32LE(0), b = head.readInt32BE(0);
  if (isGzip(head) || v === 348 || v === 540 || b === 348 || b === 540) return 'nifti';
  return null;
}

/** Reads any supported image: NIfTI-1/2 (.nii, .nii.gz, .hdr/.img), NRRD (.nrrd, .nhdr), MetaImage (.mha, .mhd), a DICOM series (folder, DICOMDIR or file; compressed pixels decoded in worker threads). */
export function readVolume(path: string, opts: DicomReadOptions = {}): LoadedVolume {
  const kind = kindOf(path);
  switch (kind) {
    case 'nifti': return readNifti(path, opts);
    case 'nrrd': return readNrrd(path, opts);
    case 'metaimage': return readMetaImage(path, opts);
    case 'dicom': return readDicomSeries(path, opts);
    case null:
      throw badInput(path, 'format', 'unrecognised image format (supported: .nii, .nii.gz, .nrrd, .nhdr, .mha, .mhd, a DICOM folder, DICOMDIR or file)', 'unsupported');
    default: {
      const never: never = kind;
      throw new Error(`unhandled ${String(never)}`);
    }
  }
}

/** `readVolume`, with a DICOM series decoded by a worker pool that reports progress (`opts.onProgress`). */
export async function readVolumeAsync(path: string, opts: DicomReadOptions = {}): Promise<LoadedVolume> {
  return kindOf(path) === 'dicom' ? readDicomSeriesAsync(path, opts) : readVolume(path, opts);
}

/** True when `path` would be read as DICOM (a folder, a DICOMDIR, a DICOM file). */
export function isDicomPath(path: string): boolean {
  return kindOf(path) === 'dicom';
}

/** Per-format write options; each writer reads only its own. */
export interface WriteOptions {
  nifti?: NiftiWriteOptions;
  nrrd?: NrrdWriteOptions;
  metaimage?: MetaImageWriteOptions;
}

/** Writes a volume atomically; the format follows the extension (.nii.gz, .nii, .nrrd, .mha). */
export function writeVolume(path: string, vol: Volume, opts: WriteOptions = {}): void {
  const lower = path.toLowerCase();
  if (lower.endsWith('.nii') || lower.endsWith('.nii.gz')) return writeNifti(path, vol, opts.nifti);
  if (lower.endsWith('.nrrd')) return writeNrrd(path, vol, opts.nrrd);
  if (lower.endsWith('.mha')) return writeMetaImage(path, vol, opts.metaimage);
  throw usageError(`${path}: cannot tell the output format from the extension (use .nii.gz, .nii, .nrrd or .mha)`);
}
