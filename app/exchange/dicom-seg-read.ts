/**
 * DICOM Segmentation (PS3.3 A.51) in: a SEG made by Slicer/dcmqi, OHIF, highdicom or Osteon,
 * as one binary mask per schema structure on the CT's grid, overlaps kept. BINARY (1 bit,
 * packed across frame boundaries, PS3.5 §8.1.1) and FRACTIONAL (8 bit, a voxel counts when it
 * is at least half of MaximumFractionalValue) segmentations; each frame is placed by its
 * PlanePositionSequence on the CT slice at that position, never by frame index.
 */
import { readFileSync } from 'node:fs';
import { badInput } from '../util/errors.ts';
import { firstItem, isDicom, nums, parseDicom, seq, str, tag, us, type DataSet } from '../imaging/dicom-parse.ts';
import { readHead } from '../imaging/files.ts';
import { nativeFrames } from '../imaging/dicom-pixels.ts';
import { isEncapsulatedSyntax } from '../imaging/dicom-parse.ts';
import type { Geometry } from '../imaging/volume.ts';
import { makeLabelSet, type LabelSet } from '../labels/labelset.ts';
import type { LabelSchema, StructureDef } from '../labels/schema.ts';

const T = {
  sopClass: tag(0x0008, 0x0016), segType: tag(0x0062, 0x0001), segments: tag(0x0062, 0x0002), segNumber: tag(0x0062, 0x0004),
  segLabel: tag(0x0062, 0x0005), segDescription: tag(0x0062, 0x0006), segIdent: tag(0x0062, 0x000a), refSeg: tag(0x0062, 0x000b),
  maxFractional: tag(0x0062, 0x000e), rows: tag(0x0028, 0x0010), columns: tag(0x0028, 0x0011), frames: tag(0x0028, 0x0008),
  bitsAllocated: tag(0x0028, 0x0100), pixelData: tag(0x7fe0, 0x0010), sharedFG: tag(0x5200, 0x9229), perFrameFG: tag(0x5200, 0x9230),
  planePosition: tag(0x0020, 0x9113), planeOrientation: tag(0x0020, 0x9116), ipp: tag(0x0020, 0x0032), iop: tag(0x0020, 0x0037),
  frameOfReference: tag(0x0020, 0x0052), refSeries: tag(0x0008, 0x1115), seriesUid: tag(0x0020, 0x000e),
};
const SEG_SOP = '1.2.840.10008.5.1.4.1.1.66.4';

export interface SegSegment {
  number: number;
  label: string;
  description: string;
  /** Voxels set, on the CT grid. */
  mask: Uint8Array;
}

export interface ReadSeg {
  segments: SegSegment[];
  frameOfReference: string;
  referencedSeries: string[];
}

/** True when `file` is a DICOM Segmentation (by its SOP Class UID, from the file's first bytes). */
export function isDicomSegFile(file: string): boolean {
  let head: Buffer;
  try { head = readHead(file, 64 * 1024); } catch { return false; }
  if (!isDicom(head)) return false;
  try {
    return str(parseDicom(file, head, { headerOnly: true }), T.sopClass) === SEG_SOP;
  } catch {
    return head.includes(SEG_SOP, 0, 'latin1');
  }
}

/** Reads every segment of `file` onto `grid` (the CT it was drawn on). */
export function readDicomSeg(file: string, grid: Geometry): ReadSeg {
  const f = parseDicom(file, readFileSync(file));
  if (str(f, T.sopClass) !== SEG_SOP) throw badInput(file, 'SOPClassUID', `${str(f, T.sopClass) ?? 'missing'}, expected Segmentation Storage (${SEG_SOP})`, 'unsupported');
  const rows = us(f, T.rows) ?? 0, cols = us(f, T.columns) ?? 0;
  if (rows !== grid.dims[1] || cols !== grid.dims[0]) throw badInput(file, 'Rows', `${cols}×${rows} frames, the CT slices are ${grid.dims[0]}×${grid.dims[1]}`, 'mismatch');
  const nFrames = Number(str(f, T.frames) ?? '1');
  const perFrame = seq(f, T.perFrameFG);
  if (perFrame.length !== nFrames) throw badInput(file, 'PerFrameFunctionalGroupsSequence', `${perFrame.length} items for NumberOfFrames=${nFrames}`);
  const shared = seq(f, T.sharedFG)[0];
  const segItems = seq(f, T.segments);
  if (segItems.length === 0) throw badInput(file, 'SegmentSequence', 'no segments');
  const type = str(f, T.segType) ?? 'BINARY';
  const bits = us(f, T.bitsAllocated) ?? 1;
  const per = rows * cols;
  const n = per * grid.dims[2];
  const segments = new Map<number, SegSegment>();
  for (const it of segItems) {
    const number = us(it, T.segNumber) ?? 0;
    segments.set(number, { number, label: str(it, T.segLabel) ?? `Segment ${number}`, description: str(it, T.segDescription) ?? '', mask: new Uint8Array(n) });
  }
  const frameBit = frameReader(file, f, type, bits, per, nFrames);
  const d = grid.direction;
  const col = (c: number) => [d[c], d[3 + c], d[6 + c]];
  const axes = [col(0), col(1), col(2)];
  for (let k = 0; k < nFrames; k++) {
    const pf = perFrame[k];
    const number = us(firstItem([pf, shared], T.segIdent) ?? pf, T.refSeg);
    const seg = number !== undefined ? segments.get(number) : undefined;
    if (!seg) throw badInput(file, 'ReferencedSegmentNumber', `frame ${k + 1} references segment ${number ?? 'none'}, not in SegmentSequence`);
    const iop = nums(firstItem([pf, shared], T.planeOrientation) ?? f, T.iop);
    if (iop && iop.length === 6 && iop.some((x, i) => Math.abs(x - [axes[0], axes[1]].flat()[i]) > 1e-3)) {
      throw badInput(file, 'ImageOrientationPatient', `frame ${k + 1}: ${iop.join('\\')} differs from the CT's orientation`, 'mismatch');
    }
    const ipp = nums(firstItem([pf, shared], T.planePosition) ?? pf, T.ipp);
    if (!ipp || ipp.length !== 3) throw badInput(file, 'ImagePositionPatient', `frame ${k + 1}: missing in PlanePositionSequence`);
    const rel = [0, 1, 2].map((c) => ipp[c] - grid.origin[c]);
    const idx = axes.map((a, c) => (rel[0] * a[0] + rel[1] * a[1] + rel[2] * a[2]) / grid.spacing[c]);
    const z = Math.round(idx[2]);
    if (Math.abs(idx[0]) > 1e-2 || Math.abs(idx[1]) > 1e-2 || Math.abs(idx[2] - z) > 1e-2 || z < 0 || z >= grid.dims[2]) {
      throw badInput(file, 'ImagePositionPatient', `frame ${k + 1} at (${ipp.join(', ')}) is not on a slice of the CT (index ${idx.map((x) => x.toFixed(3)).join(', ')})`, 'mismatch');
    }
    const base = z * per;
    for (let v = 0; v < per; v++) if (frameBit(k, v)) seg.mask[base + v] = 1;
  }
  const refSeries = seq(f, T.refSeries).map((it: DataSet) => str(it, T.seriesUid) ?? '').filter((x) => x !== '');
  return { segments: [...segments.values()].sort((a, b) => a.number - b.number), frameOfReference: str(f, T.frameOfReference) ?? '', referencedSeries: refSeries };
}

/** Pixel (frame k, index v) → set? for BINARY bit-packed or FRACTIONAL 8-bit data. */
function frameReader(file: string, f: ReturnType<typeof parseDicom>, type: string, bits: number, per: number, nFrames: number): (k: number, v: number) => boolean {
  const e = f.elements.get(T.pixelData);
  if (!e) throw badInput(file, 'PixelData', 'missing');
  if (type === 'BINARY' || bits === 1) {
    if (bits !== 1) throw badInput(file, 'BitsAllocated', `${bits} for a BINARY segmentation, expected 1`);
    if (e.encapsulated) throw badInput(file, 'PixelData', 'compressed BINARY segmentation', 'unsupported');
    const need = Math.ceil((per * nFrames) / 8);
    if (e.length < need) throw badInput(file, 'PixelData', `${e.length} bytes, ${nFrames} frames of ${per} bits need ${need}`);
    const b = f.bytes, off = e.offset;
    return (k, v) => {
      const bit = k * per + v;
      return ((b[off + (bit >> 3)] >> (bit & 7)) & 1) === 1;
    };
  }
  if (type !== 'FRACTIONAL' || bits !== 8) throw badInput(file, 'SegmentationType', `${type} with BitsAllocated ${bits} is not supported (BINARY, or FRACTIONAL 8-bit)`, 'unsupported');
  if (isEncapsulatedSyntax(f.transferSyntax)) throw badInput(file, 'PixelData', 'compressed FRACTIONAL segmentation', 'unsupported');
  const frames = nativeFrames(f);
  const half = (us(f, T.maxFractional) ?? 255) / 2;
  return (k, v) => frames[k][v] >= half;
}

/**
 * Segments → schema structures: by `map` (segment label → structure id), else a segment whose
 * label equals the structure's name or id (case-insensitive), or whose description is the id
 * (Osteon writes it there). Structures without a segment are refused, naming what the SEG has.
 */
/** The segment that is structure `st`: by --map, else by label (= name or id) or description (= id). */
export function matchSegment(file: string, seg: ReadSeg, st: StructureDef, map: Record<string, string> = {}): SegSegment {
  const norm = (s: string) => s.trim().toLowerCase();
  const explicit = Object.entries(map).find(([, id]) => id === st.id)?.[0];
  const found = seg.segments.find((s) => explicit !== undefined
    ? norm(s.label) === norm(explicit)
    : norm(s.label) === norm(st.name) || norm(s.label) === norm(st.id) || norm(s.description) === norm(st.id));
  if (!found) {
    throw badInput(file, 'SegmentSequence', `no segment for structure "${st.id}" (${st.name}); the SEG has ${seg.segments.map((s) => `"${s.label}"`).join(', ')}; map one with --map "SEGMENT LABEL=${st.id}"`);
  }
  return found;
}

export function segToLabelSet(file: string, seg: ReadSeg, schema: LabelSchema, grid: Geometry, map: Record<string, string> = {}): LabelSet {
  return makeLabelSet(schema, grid, schema.structures.map((st) => matchSegment(file, seg, st, map).mask));
}
