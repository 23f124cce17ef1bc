/**
 * NRRD reader/writer (http://teem.sourceforge.net/nrrd/format.html): attached or detached
 * (.nhdr) data, raw / gzip / ascii encodings, `space` → LPS, `space directions` with one
 * `none` (non-spatial) axis becoming channels — Slicer's .seg.nrrd layers — and the
 * Segment{N}_* key/values exposed as `segments`.
 */
import { gzipSync } from 'node:zlib';
import { badInput, usageError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { affineOf, splitAffine, type Affine34 } from './affine.ts';
import { allocate, bytesOf, dtypeOf, isFloat, voxelBytes, voxelsFromBytes, type DType } from './dtype.ts';
import { maxCompressedSize, readExactly, readHead, requireFile, resolveDataFile, sizeText } from './files.ts';
import { gunzipExpected } from './gzip.ts';
import { MAX_TEXT_HEADER, channelsLast, checkPayload, parseNumbers, parseSizes, parseVector, splitVectors } from './text-header.ts';
import { defaultMaxBytes, type LoadedVolume, type ReadOptions, type SegmentInfo } from './types.ts';
import type { Volume, VoxelArray } from './volume.ts';

/** Type names → dtype. A Map, so a header's `type: constructor` finds nothing. */
const TYPES = new Map<string, DType>();
for (const [t, names] of Object.entries({
  int8: 'signed char,int8,int8_t', uint8: 'uchar,unsigned char,uint8,uint8_t',
  int16: 'short,short int,signed short,signed short int,int16,int16_t',
  uint16: 'ushort,unsigned short,unsigned short int,uint16,uint16_t',
  int32: 'int,signed int,int32,int32_t', uint32: 'uint,unsigned int,uint32,uint32_t', float32: 'float', float64: 'double',
})) for (const n of names.split(',')) TYPES.set(n, t as DType);

const WRITE_TYPES: Record<DType, string> = {
  int8: 'signed char', uint8: 'unsigned char', int16: 'short', uint16: 'unsigned short',
  int32: 'int', uint32: 'unsigned int', float32: 'float', float64: 'double',
};

/** World sign flips from a NRRD `space` to LPS. */
const SPACES = new Map<string, [number, number, number]>([
  ['left-posterior-superior', [1, 1, 1]], ['lps', [1, 1, 1]],
  ['right-anterior-superior', [-1, -1, 1]], ['ras', [-1, -1, 1]],
  ['left-anterior-superior', [1, -1, 1]], ['las', [1, -1, 1]],
]);

interface NrrdHeader {
  fields: Map<string, string>;
  keys: Record<string, string>;
  dataStart: number;
}

function parseHeader(file: string, buf: Buffer, fileSize: number): NrrdHeader {
  if (!/^NRRD000[1-5]$/.test(buf.toString('latin1', 0, 8))) throw badInput(file, 'magic', 'not a NRRD file (expected NRRD0001..NRRD0005 on the first line)');
  const limit = Math.min(buf.length, MAX_TEXT_HEADER);
  const text = buf.toString('latin1', 0, limit);
  let end = text.search(/\r?\n\r?\n/);
  let dataStart: number;
  if (end < 0) {
    if (fileSize > buf.length) throw badInput(file, 'header', `no blank line ending the header in the first ${MAX_TEXT_HEADER} bytes`);
    end = text.length;
    dataStart = text.length;
  } else {
    dataStart = end + (/^\r?\n\r?\n/.exec(text.slice(end)) as RegExpExecArray)[0].length;
  }
  const fields = new Map<string, string>();
  const keys: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const line of text.slice(0, end).split(/\r?\n/).slice(1)) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const kv = line.indexOf(':=');
    if (kv > 0) { keys[line.slice(0, kv)] = line.slice(kv + 2); continue; }
    const f = line.indexOf(': ');
    if (f <= 0) throw badInput(file, 'header', `malformed line "${line.slice(0, 80)}"`);
    fields.set(line.slice(0, f).trim().toLowerCase(), line.slice(f + 2).trim());
  }
  return { fields, keys, dataStart };
}

function need(file: string, h: NrrdHeader, field: string): string {
  const v = h.fields.get(field);
  if (v === undefined) throw badInput(file, field, 'required field is missing');
  return v;
}

export function readNrrd(path: string, opts: ReadOptions = {}): LoadedVolume {
  const size = requireFile(path);
  const h = parseHeader(path, readHead(path, Math.min(size, MAX_TEXT_HEADER)), size);
  const typeName = need(path, h, 'type');
  const dtype = TYPES.get(typeName);
  if (!dtype) throw badInput(path, 'type', `"${typeName}" is not supported (8-64 bit integers up to 32 bits, float, double)`, 'unsupported');
  const dim = parseNumbers(path, 'dimension', need(path, h, 'dimension'), 1)[0];
  if (!(dim >= 2 && dim <= 4)) throw badInput(path, 'dimension', `${dim}, expected 2, 3 or 4`);
  const sizes = parseSizes(path, 'sizes', need(path, h, 'sizes'), dim);
  const warnings: string[] = [];
  const { spatial, channelAxis, affine } = nrrdAxes(path, h, dim, sizes, warnings);
  const count = sizes.reduce((a, b) => a * b, 1);
  const payload = checkPayload(path, 'sizes', count, bytesOf(dtype), opts.maxBytes ?? defaultMaxBytes());
  const raw = nrrdVoxels(path, size, h, dtype, count, payload);
  let data: VoxelArray = raw;
  const channels = channelAxis < 0 ? 1 : sizes[channelAxis];
  if (channelAxis >= 0 && channelAxis !== dim - 1) data = channelsLast(raw, allocate(dtype, count), sizes, channelAxis);
  const dims = [...spatial.map((a) => sizes[a]), 1, 1].slice(0, 3) as [number, number, number];
  const geom = splitAffine(affine, path, 'space directions', warnings);
  const segments = segmentsOf(h.keys);
  const out: LoadedVolume = { ...geom, dims, channels, data, format: 'nrrd', warnings, meta: { ...h.keys } };
  if (segments.length > 0) out.segments = segments;
  return out;
}

/** Which axes are spatial (in order), which one (if any) holds channels, and the LPS affine. */
function nrrdAxes(file: string, h: NrrdHeader, dim: number, sizes: number[], warnings: string[]): { spatial: number[]; channelAxis: number; affine: Affine34 } {
  const space = h.fields.get('space');
  let flip: [number, number, number] = [1, 1, 1];
  if (space !== undefined) {
    const f = SPACES.get(space.toLowerCase());
    if (!f) throw badInput(file, 'space', `"${space}" is not supported (LPS, RAS or LAS, 3D)`, 'unsupported');
    flip = f;
  }
  const kinds = h.fields.get('kinds')?.split(/\s+/);
  if (kinds && kinds.length !== dim) throw badInput(file, 'kinds', `${kinds.length} kinds for dimension ${dim}`);
  const dirsText = h.fields.get('space directions');
  let dirs: Array<number[] | null>;
  if (dirsText !== undefined) {
    const parts = splitVectors(dirsText);
    if (parts.length !== dim) throw badInput(file, 'space directions', `${parts.length} entries for dimension ${dim}`);
    dirs = parts.map((p) => parseVector(file, 'space directions', p));
    if (space === undefined) warnings.push('space directions without a space field: assuming LPS');
  } else {
    if (space !== undefined) warnings.push('space directions missing: using spacings along the index axes');
    else warnings.push('no space field: assuming LPS and axis-aligned spacings');
    const sp = h.fields.has('spacings') ? h.fields.get('spacings')!.split(/\s+/).map(Number) : new Array<number>(dim).fill(1);
    let n = 0;
    dirs = sp.map((s, a) => {
      const nonSpatial = kinds ? !['domain', 'space', 'none', '???'].includes(kinds[a]) : false;
      if (nonSpatial || n >= 3) return null;
      const v = [0, 0, 0];
      v[n++] = Number.isFinite(s) && s > 0 ? s : 1;
      return v;
    });
  }
  const spatial = dirs.flatMap((d, a) => (d ? [a] : []));
  const other = dirs.flatMap((d, a) => (d ? [] : [a]));
  if (other.length > 1 || spatial.length < 2 || (dim === 4 && spatial.length !== 3)) {
    throw badInput(file, 'space directions', `needs 3 spatial axes and at most one "none" (channel) axis, got ${spatial.length} spatial`, 'unsupported');
  }
  const cols = spatial.map((a) => (dirs[a] as number[]).map((x, r) => x * flip[r]));
  if (cols.length === 2) cols.push(cross(cols[0], cols[1]));
  const o = h.fields.has('space origin') ? (parseVector(file, 'space origin', h.fields.get('space origin')!) ?? [0, 0, 0]) : [0, 0, 0];
  const origin = o.map((x, r) => x * flip[r]);
  const affine = [0, 1, 2].flatMap((r) => [cols[0][r], cols[1][r], cols[2][r], origin[r]]);
  return { spatial, channelAxis: other.length ? other[0] : -1, affine };
}

function cross(a: number[], b: number[]): number[] {
  const c = [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
  const n = Math.hypot(c[0], c[1], c[2]) || 1;
  return c.map((x) => x / n);
}

/** An integer header field (`byte skip`, `line skip`) within [min, max]; `abc` is refused. */
function intField(file: string, h: NrrdHeader, field: string, min: number, max: number): number {
  const text = h.fields.get(field);
  if (text === undefined) return 0;
  const n = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) throw badInput(file, field, `"${text.slice(0, 40)}", expected an integer from ${min} to ${max}`);
  return n;
}

/**
 * The voxels, read only after every size is known: the data file (attached or detached) must
 * hold exactly the bytes the header describes (raw), or at most what an honest compression of
 * them can take (gzip, inflated with a cap at the claim), before anything of that size is read.
 */
function nrrdVoxels(file: string, fileSize: number, h: NrrdHeader, dtype: DType, count: number, payload: number): VoxelArray {
  let dataFile = file;
  let start = h.dataStart;
  let size = fileSize;
  const detached = h.fields.get('data file') ?? h.fields.get('datafile');
  const dataField = h.fields.has('data file') ? 'data file' : 'datafile';
  if (detached !== undefined) {
    if (/^LIST|\s/.test(detached)) throw badInput(file, dataField, `"${detached.slice(0, 200)}": multi-file data is not supported`, 'unsupported');
    dataFile = resolveDataFile(file, detached, dataField);
    start = 0;
    size = requireFile(dataFile, dataField);
  }
  const encoding = need(file, h, 'encoding').toLowerCase();
  const endian = h.fields.get('endian') ?? 'little';
  if (endian !== 'little' && endian !== 'big') throw badInput(file, 'endian', `"${endian.slice(0, 40)}", expected little or big`);
  const byteSkip = intField(file, h, 'byte skip', -1, 2 ** 40);
  const lineSkip = intField(file, h, 'line skip', 0, 1_000_000);
  if (lineSkip > 0) {
    const head = readExactly(dataFile, Math.min(size - start, MAX_TEXT_HEADER), start);
    let pos = 0;
    for (let i = 0; i < lineSkip; i++) {
      const nl = head.indexOf(10, pos);
      if (nl < 0) throw badInput(file, 'line skip', `${lineSkip} lines, the data has fewer in its first ${head.length} bytes`);
      pos = nl + 1;
    }
    start += pos;
  }
  const avail = size - start;
  switch (encoding) {
    case 'raw': {
      const skip = byteSkip === -1 ? avail - payload : byteSkip;
      if (skip < 0 || avail < skip + payload) throw badInput(dataFile, 'data', `truncated: ${avail} data bytes, the header needs ${byteSkip === -1 ? payload : skip + payload}`);
      if (byteSkip !== -1 && avail > skip + payload) throw badInput(dataFile, 'data', `${avail} data bytes, but the header describes ${skip + payload} (sizes × type${skip ? ' + byte skip' : ''})`);
      const bytes = readExactly(dataFile, payload, start + skip);
      return voxelsFromBytes(dtype, bytes, 0, count, endian === 'little');
    }
    case 'gzip':
    case 'gz': {
      if (byteSkip < 0) throw badInput(file, 'byte skip', 'must be >= 0 for gzip data');
      const bound = maxCompressedSize(byteSkip + payload);
      if (avail > bound) throw badInput(dataFile, 'data', `${sizeText(avail)} of gzip data, more than any compression of the ${sizeText(byteSkip + payload)} the header describes`);
      const out = gunzipExpected(dataFile, readExactly(dataFile, avail, start), byteSkip + payload);
      return voxelsFromBytes(dtype, out, byteSkip, count, endian === 'little');
    }
    case 'ascii':
    case 'text':
    case 'txt': {
      // A value takes at most ~32 characters (a double with its separator).
      if (avail > count * 32 + 1024) throw badInput(dataFile, 'data', `${sizeText(avail)} of ascii data, far more than ${count} values need`);
      const nums = readExactly(dataFile, avail, start).toString('latin1').trim().split(/[\s,]+/).map(Number);
      if (nums.length < count || nums.slice(0, count).some((x) => Number.isNaN(x) && !isFloat(dtype))) throw badInput(dataFile, 'data', `${nums.length} ascii values, ${count} needed`);
      const a = allocate(dtype, count);
      for (let i = 0; i < count; i++) a[i] = nums[i];
      return a;
    }
    default:
      throw badInput(file, 'encoding', `"${encoding.slice(0, 40)}" is not supported (raw, gzip, ascii)`, 'unsupported');
  }
}

function segmentsOf(keys: Record<string, string>): SegmentInfo[] {
  const byIndex = new Map<number, Map<string, string>>();
  for (const [k, v] of Object.entries(keys)) {
    const m = /^Segment(\d{1,6})_(\w+)$/.exec(k);
    if (!m) continue;
    const i = Number(m[1]);
    if (!byIndex.has(i)) byIndex.set(i, new Map());
    byIndex.get(i)!.set(m[2], v);
  }
  return [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([index, f]) => ({
    index, id: f.get('ID') ?? `Segment_${index}`, name: f.get('Name') ?? f.get('ID') ?? `Segment ${index}`,
    labelValue: Number(f.get('LabelValue') ?? index + 1), layer: Number(f.get('Layer') ?? 0),
  }));
}

export interface NrrdWriteOptions {
  encoding?: 'gzip' | 'raw';
  gzipLevel?: number;
  /** Extra key:=value pairs (e.g. Slicer Segment{N}_* fields). */
  keys?: Record<string, string>;
  /** Written as Slicer Segment{N}_ID/_Name/_LabelValue/_Layer. */
  segments?: SegmentInfo[];
}

/** Writes an attached-data NRRD (.nrrd; .seg.nrrd for segmentations) atomically, space LPS. */
export function writeNrrd(path: string, vol: Volume, opts: NrrdWriteOptions = {}): void {
  if (!/\.nrrd$/i.test(path)) throw usageError(`${path}: a NRRD output must end in .nrrd`);
  const enc = opts.encoding ?? 'gzip';
  const a = affineOf(vol);
  const vec = (c: number) => `(${[a[c], a[4 + c], a[8 + c]].map(num).join(',')})`;
  const four = vol.channels > 1;
  const lines = [
    'NRRD0004', '# Written by Osteon', `type: ${WRITE_TYPES[dtypeOf(vol.data)]}`, `dimension: ${four ? 4 : 3}`,
    'space: left-posterior-superior', `sizes: ${[...vol.dims, ...(four ? [vol.channels] : [])].join(' ')}`,
    `space directions: ${vec(0)} ${vec(1)} ${vec(2)}${four ? ' none' : ''}`, `kinds: domain domain domain${four ? ' list' : ''}`,
    'endian: little', `encoding: ${enc}`, `space origin: (${vol.origin.map(num).join(',')})`,
  ];
  const keys: Record<string, string> = { ...opts.keys };
  for (const s of opts.segments ?? []) {
    Object.assign(keys, {
      [`Segment${s.index}_ID`]: s.id, [`Segment${s.index}_Name`]: s.name,
      [`Segment${s.index}_LabelValue`]: String(s.labelValue), [`Segment${s.index}_Layer`]: String(s.layer),
    });
  }
  for (const [k, v] of Object.entries(keys)) {
    if (/[\r\n]|:=/.test(k) || /[\r\n]/.test(v)) throw usageError(`NRRD key "${k}": keys and values must be single-line`);
    lines.push(`${k}:=${v}`);
  }
  const header = Buffer.from(lines.join('\n') + '\n\n', 'latin1');
  const body = voxelBytes(vol.data);
  writeFileAtomic(path, Buffer.concat([header, enc === 'gzip' ? gzipSync(body, { level: opts.gzipLevel ?? 6 }) : body]));
}

function num(x: number): string {
  return Object.is(x, -0) ? '0' : String(x);
}
