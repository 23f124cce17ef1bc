/**
 * DICOM Segmentation (PS3.3 A.51) out, with overlaps kept: SegmentationType BINARY (a LABELMAP
 * SEG cannot hold two segments in one voxel), one segment per structure (the whole and each
 * part), each with its own frames. Written with dcmjs's Segmentation derivation, which copies
 * the patient/study, the Frame of Reference and the per-frame references to the source CT
 * instances; Osteon adds the schema's names, colours and codes and the algorithm identification.
 */
import { readFileSync } from 'node:fs';
import dcmjs from 'dcmjs';
import { badInput } from '../util/errors.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { planDicomSeries } from '../imaging/dicom.ts';
import { sameGrid } from '../imaging/volume.ts';
import type { LabelSet } from '../labels/labelset.ts';
import type { StructureDef } from '../labels/schema.ts';

type Dataset = Record<string, unknown>;
interface Code { CodeValue: string; CodingSchemeDesignator: string; CodeMeaning: string }

/** SNOMED CT defaults when a schema structure carries no code: category "Anatomical Structure", type "Bone". */
const CATEGORY: Code = { CodeValue: '91723000', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Anatomical Structure' };
const BONE: Code = { CodeValue: '272673000', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Bone' };

export interface SegWriteOptions {
  /** `AUTOMATIC` with the run id as SegmentAlgorithmName, or MANUAL for edited labels. */
  algorithm: { type: 'AUTOMATIC'; name: string; version?: string } | { type: 'MANUAL' };
  seriesDescription?: string;
  /** DICOM series (folder) the labels were drawn on; SEG references its instances. */
  ctSeries: string;
  seriesUid?: string;
}

export interface SegWriteReport {
  segments: number;
  frames: number;
  voxels: Record<string, number>;
}

const AMBIGUOUS_PIXEL_VALUES = ['SmallestImagePixelValue', 'LargestImagePixelValue', 'SmallestPixelValueInSeries', 'LargestPixelValueInSeries',
  'PixelPaddingValue', 'PixelPaddingRangeLimit', 'WindowCenter', 'WindowWidth', 'WindowCenterWidthExplanation'];

function hexToRgb(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** CIELab as DICOM stores it (PS3.3 C.10.7.1.1, scaled to 0..65535), via dcmjs's colour conversion. */
function dicomLab(hex: string): number[] {
  const rgb = hexToRgb(hex).map((x) => x / 255);
  return dcmjs.data.Colors.rgb2DICOMLAB(rgb).map((x: number) => Math.round(x));
}

function codeOf(s: StructureDef): Code {
  const c = s.code;
  return c ? { CodeValue: c.value, CodingSchemeDesignator: c.scheme, CodeMeaning: c.meaning } : { ...BONE };
}

/** Reads the CT instances with dcmjs (pixel data replaced: the SEG needs only their headers). */
function ctDatasets(files: string[]): Dataset[] {
  // Implicit-VR CT files hold US/SS-ambiguous elements ("xs" in the dictionary); dcmjs logs an
  // error for each while reading and reads them as US. They are dropped below, so quiet that logger here.
  const validation = dcmjs.log.getLogger('validation.dcmjs');
  const level = validation.getLevel();
  validation.setLevel('silent');
  try {
    return files.map((p) => readCt(p));
  } finally {
    validation.setLevel(level);
  }
}

function readCt(p: string): Dataset {
  {
    const buf = readFileSync(p);
    const dict = dcmjs.data.DicomMessage.readFile(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength), { untilTag: '7FE00010', includeUntilTagValue: false });
    const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict.dict) as Dataset;
    ds._meta = dcmjs.data.DicomMetaDictionary.namifyDataset(dict.meta);
    const rows = Number(ds.Rows), cols = Number(ds.Columns);
    ds.PixelData = new Uint16Array(rows * cols).buffer;
    ds.BitsAllocated = 16;
    ds._vrMap = { ...(ds._vrMap as object | undefined), PixelData: 'OW' };
    // Values about the CT's pixels (US or SS by PixelRepresentation, which dcmjs cannot resolve
    // when writing) mean nothing for a segmentation: drop them rather than guess their VR.
    for (const k of AMBIGUOUS_PIXEL_VALUES) delete ds[k];
    return ds;
  }
}

type Plan = ReturnType<typeof planDicomSeries>;
interface Source { source: Dataset; frameOfSlice: number[] }

/**
 * Classic CT (one file per slice): dcmjs normalises the instances into one multiframe whose
 * ReferencedSeriesSequence lists them, and orders it itself (reversed along the normal in 0.52),
 * so each of its frames is mapped to Osteon's slice k by position along the normal, never by index.
 */
function classicSource(series: string, files: string[], plan: Plan): Source {
  const datasets = ctDatasets(files);
  const multiframe = dcmjs.normalizers.Normalizer.normalizeToDataset(datasets) as Dataset;
  if (!multiframe) throw badInput(series, 'SOPClassUID', 'dcmjs could not normalise the CT series', 'unsupported');
  const n = [plan.direction[2], plan.direction[5], plan.direction[8]];
  const along = (p: number[]) => p[0] * n[0] + p[1] * n[1] + p[2] * n[2];
  const perFrame = multiframe.PerFrameFunctionalGroupsSequence as Array<{ PlanePositionSequence: { ImagePositionPatient: number[] } | Array<{ ImagePositionPatient: number[] }> }>;
  const frameOfSlice = new Array<number>(plan.slices.length).fill(0);
  perFrame.forEach((f, idx) => {
    const pps = Array.isArray(f.PlanePositionSequence) ? f.PlanePositionSequence[0] : f.PlanePositionSequence;
    const s = along(pps.ImagePositionPatient.map(Number));
    const k = plan.slices.findIndex((sl) => Math.abs(sl.s - s) < 1e-3);
    if (k < 0) throw badInput(series, 'ImagePositionPatient', `dcmjs frame ${idx + 1} matches no slice`);
    frameOfSlice[k] = idx + 1;
  });
  return { source: multiframe, frameOfSlice };
}

/**
 * Enhanced (multi-frame) CT, one file: the SEG derives from that instance itself, so dcmjs makes
 * every SEG frame's SourceImageSequence reference its SOP instance with ReferencedFrameNumber =
 * the CT frame at that slice (Osteon's slices keep their frame index, whatever the frames'
 * spatial order), copies the frame's PlanePositionSequence and shares its Frame of Reference.
 * Only the geometry groups of the CT's shared functional groups are kept (a SEG has no CT frame
 * type, VOI LUT or rescale); PixelMeasures and PlaneOrientation move to the shared groups if the
 * CT gives them per frame (Osteon has checked them uniform).
 */
function enhancedSource(path: string, plan: Plan): Source {
  const [ds] = ctDatasets([path]);
  const one = <T>(x: T | T[] | undefined): T | undefined => (Array.isArray(x) ? x[0] : x);
  const shared = (one(ds.SharedFunctionalGroupsSequence as Dataset | Dataset[]) ?? {}) as Dataset;
  const perFrame = (ds.PerFrameFunctionalGroupsSequence ?? []) as Dataset[];
  const first = one(perFrame) ?? {};
  const measures = { ...((one(shared.PixelMeasuresSequence as Dataset) ?? one(first.PixelMeasuresSequence as Dataset) ?? {}) as Dataset) };
  // DS holds 16 characters: the gap between slice positions (e.g. 0.9999999999999929) to 1 µm.
  const gap = Number(plan.spacing[2].toFixed(6));
  measures.PixelSpacing ??= [plan.spacing[1], plan.spacing[0]];
  measures.SliceThickness ??= gap;
  measures.SpacingBetweenSlices = gap;
  const orientation = one(shared.PlaneOrientationSequence as Dataset) ?? one(first.PlaneOrientationSequence as Dataset);
  ds.SharedFunctionalGroupsSequence = { PixelMeasuresSequence: measures, ...(orientation ? { PlaneOrientationSequence: orientation } : {}) };
  for (const k of ['ImageType', 'ImageOrientationPatient', 'ImagePositionPatient', 'PixelSpacing']) delete ds[k];
  return { source: ds, frameOfSlice: plan.slices.map((sl) => sl.frame + 1) };
}

/**
 * Writes `labels` (on the CT's grid) as a BINARY DICOM SEG referencing the CT series. Every
 * structure becomes a segment, empty ones included (one empty frame), so a reader finds one
 * segment per structure. Refuses labels whose grid is not the series' grid.
 */
export function writeDicomSeg(out: string, labels: LabelSet, opts: SegWriteOptions): SegWriteReport {
  const plan = planDicomSeries(opts.ctSeries, { seriesUid: opts.seriesUid });
  const grid = { dims: plan.dims, spacing: plan.spacing, origin: plan.origin, direction: plan.direction };
  if (!sameGrid(grid, labels.geometry)) throw badInput(out, 'geometry', 'the labels are not on the DICOM series\' grid; a SEG references the source slices one to one', 'mismatch');
  const files = plan.slices.map((s) => s.file.path);
  const unique = [...new Set(files)];
  if (unique.length !== files.length && unique.length !== 1) {
    throw badInput(opts.ctSeries, 'NumberOfFrames', `the series is split over ${unique.length} multi-frame files; a SEG export needs one enhanced CT file or single-frame slices`, 'unsupported');
  }
  const { source, frameOfSlice } = unique.length === files.length ? classicSource(opts.ctSeries, files, plan) : enhancedSource(unique[0], plan);
  const seg = new dcmjs.derivations.Segmentation([source], { includeSliceSpacing: true });
  const per = plan.rows * plan.cols;
  const structures = labels.schema.structures;
  const slicesOf = labels.masks.map((m) => {
    const ks: number[] = [];
    for (let k = 0; k < plan.slices.length; k++) {
      const sl = m.subarray(k * per, (k + 1) * per);
      if (sl.some((x) => x !== 0)) ks.push(k);
    }
    return ks.length ? ks : [0];
  });
  const frames = slicesOf.reduce((a, ks) => a + ks.length, 0);
  seg.setNumberOfFrames(frames);
  const voxels: Record<string, number> = {};
  structures.forEach((s, i) => {
    const ks = slicesOf[i];
    const pixels = new Uint8Array(ks.length * per);
    let count = 0;
    ks.forEach((k, f) => {
      const src = labels.masks[i].subarray(k * per, (k + 1) * per);
      for (let v = 0; v < per; v++) if (src[v]) { pixels[f * per + v] = 1; count++; }
    });
    voxels[s.id] = count;
    const segment: Dataset = {
      SegmentLabel: s.name.slice(0, 64),
      SegmentDescription: s.id,
      SegmentAlgorithmType: opts.algorithm.type,
      ...(opts.algorithm.type === 'AUTOMATIC' ? { SegmentAlgorithmName: opts.algorithm.name.slice(0, 64) } : {}),
      RecommendedDisplayCIELabValue: dicomLab(s.colour),
      SegmentedPropertyCategoryCodeSequence: { ...CATEGORY },
      SegmentedPropertyTypeCodeSequence: codeOf(s),
    };
    seg.addSegment(segment, pixels, ks.map((k) => frameOfSlice[k]));
  });
  seg.bitPackPixelData();
  const ds = seg.dataset as Dataset;
  // dcmjs adds the study to the series reference when it references the source instance itself
  // (enhanced CT); the Common Instance Reference module forbids it for the same study (dciodvfy).
  for (const r of [ds.ReferencedSeriesSequence].flat() as Dataset[]) if (r) delete r.StudyInstanceUID;
  ds.SeriesDescription = (opts.seriesDescription ?? `Osteon ${labels.schema.name}`).slice(0, 64);
  ds.ContentLabel = 'OSTEON';
  ds.ContentDescription = `${labels.schema.name}: ${structures.length} structures, overlaps kept`.slice(0, 64);
  ds.ContentCreatorName = 'Osteon^';
  ds.Manufacturer = 'Osteon';
  ds.ManufacturerModelName = 'Osteon';
  ds.SoftwareVersions = '0.1.0';
  ds.DeviceSerialNumber = '1';
  ds.SeriesNumber = '900';
  ds.InstanceNumber = '1';
  const buffer = dcmjs.data.datasetToBuffer(ds) as Buffer;
  writeFileAtomic(out, new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength));
  return { segments: structures.length, frames, voxels };
}
