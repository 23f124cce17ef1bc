/** What the readers return on top of a Volume, and options common to every reader. */
import { totalmem } from 'node:os';
import type { Volume } from './volume.ts';

export type ImageFormat = 'nifti1' | 'nifti2' | 'nrrd' | 'metaimage' | 'dicom';

/** One segment of a Slicer .seg.nrrd (Segment{N}_* fields). */
export interface SegmentInfo {
  index: number;
  id: string;
  name: string;
  labelValue: number;
  /** Channel of the volume holding this segment (the NRRD layer). */
  layer: number;
}

/**
 * A volume as read from a file. `data` may be a view into the decoded file buffer
 * (`data.byteOffset` ≠ 0): use `data.byteOffset`/`byteLength` (or dtype.ts `voxelBytes`),
 * never `data.buffer` alone.
 */
export interface LoadedVolume extends Volume {
  format: ImageFormat;
  /** Things the reader repaired or noticed (uneven DICOM spacing, orthonormalised axes, ...). */
  warnings: string[];
  /** Free-form header fields worth keeping (NRRD key/values, DICOM UIDs, NIfTI descrip). */
  meta: Record<string, string>;
  /** Present for Slicer segmentation NRRDs. */
  segments?: SegmentInfo[];
}

export interface ReadOptions {
  /**
   * Largest voxel payload accepted, in bytes (default `defaultMaxBytes()`). Checked against the
   * header before anything of that size is allocated or inflated.
   */
  maxBytes?: number;
}

/** The hard ceiling: 4 GiB − 1 (typed arrays and gzip's ISIZE both stop there). */
export const DEFAULT_MAX_BYTES = 2 ** 32 - 1;

/** Environment variable overriding the claimed-volume limit (bytes). */
export const MAX_BYTES_ENV = 'OSTEON_MAX_VOLUME_BYTES';

/**
 * The claimed-volume limit when a caller gives none: `OSTEON_MAX_VOLUME_BYTES` if set, else a
 * quarter of this machine's memory (a volume is copied a few times on its way to a tensor),
 * never above 4 GiB − 1.
 */
export function defaultMaxBytes(): number {
  const env = process.env[MAX_BYTES_ENV];
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (Number.isSafeInteger(n) && n > 0) return n;
  }
  return Math.min(DEFAULT_MAX_BYTES, Math.floor(totalmem() / 4));
}
