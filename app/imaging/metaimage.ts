/**
 * MetaImage reader/writer (.mha with LOCAL data, .mhd + separate data file), as ITK writes it
 * (https://itk.org/Wiki/ITK/MetaIO/Documentation). World is LPS. TransformMatrix lists the
 * direction of index axis 0, then axis 1, then axis 2 (ITK MetaImageIO), i.e. column-major.
 * CompressedData = True is a zlib stream.
 */
import { deflateSync, inflateSync } from 'node:zlib';
import { badInput, usageError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { affineOf, splitAffine } from './affine.ts';
import { allocate, bytesOf, dtypeOf, voxelBytes, voxelsFromBytes, type DType } from './dtype.ts';
import { maxCompressedSize, readExactly, readHead, requireFile, resolveDataFile, sizeText } from './files.ts';
import { MAX_TEXT_HEADER, channelsLast, checkPayload, parseNumbers, parseSizes } from './text-header.ts';
import { defaultMaxBytes, type LoadedVolume, type ReadOptions } from './types.ts';
import type { Volume, VoxelArray } from './volume.ts';

/** ElementType → dtype. A Map, so `ElementType = constructor` finds nothing. */
const TYPES = new Map<string, DType>(Object.entries({
  MET_CHAR: 'int8', MET_UCHAR: 'uint8', MET_SHORT: 'int16', MET_USHORT: 'uint16',
  MET_INT: 'int32', MET_UINT: 'uint32', MET_LONG: 'int32', MET_ULONG: 'uint32', MET_FLOAT: 'float32', MET_DOUBLE: 'float64',
} satisfies Record<string, DType>));
const WRITE_TYPES: Record<DType, string> = {
  int8: 'MET_CHAR', uint8: 'MET_UCHAR', int16: 'MET_SHORT', uint16: 'MET_USHORT',
  int32: 'MET_INT', uint32: 'MET_UINT', float32: 'MET_FLOAT', float64: 'MET_DOUBLE',
};

function parseHeader(file: string, buf: Buffer): { f: Map<string, string>; dataStart: number } {
  const f = new Map<string, string>();
  let pos = 0;
  while (pos < buf.length && pos < MAX_TEXT_HEADER) {
    let nl = buf.indexOf(10, pos);
    if (nl < 0) nl = buf.length;
    const line = buf.toString('latin1', pos, nl).replace(/\r$/, '');
    pos = nl + 1;
    if (line.trim() === '') continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw badInput(file, 'header', `malformed line "${line.slice(0, 80)}"`);
    const key = line.slice(0, eq).trim();
    f.set(key, line.slice(eq + 1).trim());
    if (key === 'ElementDataFile') return { f, dataStart: pos };
  }
  if (!f.has('ObjectType') && !f.has('NDims')) throw badInput(file, 'header', 'not a MetaImage file (no ObjectType/NDims)');
  throw badInput(file, 'ElementDataFile', 'required field is missing (it must be the last header line)');
}

export function readMetaImage(path: string, opts: ReadOptions = {}): LoadedVolume {
  const fileSize = requireFile(path);
  const { f, dataStart } = parseHeader(path, readHead(path, Math.min(fileSize, MAX_TEXT_HEADER)));
  const get = (k: string) => {
    const v = f.get(k);
    if (v === undefined) throw badInput(path, k, 'required field is missing');
    return v;
  };
  const ndims = parseNumbers(path, 'NDims', get('NDims'), 1)[0];
  if (ndims !== 2 && ndims !== 3) throw badInput(path, 'NDims', `${ndims}, expected 2 or 3`, 'unsupported');
  const size = parseSizes(path, 'DimSize', get('DimSize'), ndims);
  const dtype = TYPES.get(get('ElementType'));
  if (!dtype) throw badInput(path, 'ElementType', `"${f.get('ElementType')?.slice(0, 40)}" is not supported (${[...TYPES.keys()].join(', ')})`, 'unsupported');
  const channels = Number(f.get('ElementNumberOfChannels') ?? 1);
  if (!Number.isInteger(channels) || channels < 1) throw badInput(path, 'ElementNumberOfChannels', `${f.get('ElementNumberOfChannels')}, expected an integer >= 1`);
  const dims = [size[0], size[1], size[2] ?? 1] as [number, number, number];
  const count = dims[0] * dims[1] * dims[2] * channels;
  const payload = checkPayload(path, 'DimSize', count, bytesOf(dtype), opts.maxBytes ?? defaultMaxBytes());
  const spacing = f.has('ElementSpacing') ? parseNumbers(path, 'ElementSpacing', f.get('ElementSpacing')!, ndims) : new Array<number>(ndims).fill(1);
  const originText = f.get('Offset') ?? f.get('Position') ?? f.get('Origin');
  const origin = originText ? parseNumbers(path, 'Offset', originText, ndims) : new Array<number>(ndims).fill(0);
  const tmText = f.get('TransformMatrix') ?? f.get('Rotation') ?? f.get('Orientation');
  const tm = tmText ? parseNumbers(path, 'TransformMatrix', tmText, ndims * ndims) : ndims === 3 ? [1, 0, 0, 0, 1, 0, 0, 0, 1] : [1, 0, 0, 1];
  const col = (c: number): number[] => (ndims === 3 ? tm.slice(3 * c, 3 * c + 3) : c < 2 ? [...tm.slice(2 * c, 2 * c + 2), 0] : [0, 0, 1]);
  const sp = [spacing[0], spacing[1], spacing[2] ?? 1];
  const o = [origin[0], origin[1], origin[2] ?? 0];
  const affine = [0, 1, 2].flatMap((r) => [col(0)[r] * sp[0], col(1)[r] * sp[1], col(2)[r] * sp[2], o[r]]);
  const warnings: string[] = [];
  const geom = splitAffine(affine, path, 'TransformMatrix', warnings);
  const msb = /^true$/i.test(f.get('BinaryDataByteOrderMSB') ?? f.get('ElementByteOrderMSB') ?? 'False');
  const bytes = metaBytes(path, fileSize, f, dataStart, payload);
  const raw = voxelsFromBytes(dtype, bytes, bytes.length - payload, count, !msb);
  // MetaImage interleaves channels (channel fastest); Osteon keeps them slowest.
  const data: VoxelArray = channels > 1 ? channelsLast(raw, allocate(dtype, count), [channels, dims[0], dims[1], dims[2]], 0) : raw;
  const meta: Record<string, string> = {};
  for (const [k, v] of f) meta[k] = v;
  return { ...geom, dims, channels, data, format: 'metaimage', warnings, meta };
}

/** HeaderSize: bytes to skip before the data; -1 means "the data is at the end of the file". */
function headerSize(file: string, f: Map<string, string>): number {
  const text = f.get('HeaderSize');
  if (text === undefined) return 0;
  const n = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(n) || n < -1) throw badInput(file, 'HeaderSize', `"${text.slice(0, 40)}", expected an integer >= -1`);
  return n;
}

/**
 * The payload bytes, read only after the data file is known to hold exactly the claim (raw) or
 * at most what an honest zlib stream of it can take (compressed, inflated with a cap).
 */
function metaBytes(file: string, fileSize: number, f: Map<string, string>, dataStart: number, payload: number): Buffer {
  const where = f.get('ElementDataFile')!;
  let dataFile = file;
  let start = dataStart;
  let size = fileSize;
  if (where !== 'LOCAL') {
    if (/^LIST|%/.test(where)) throw badInput(file, 'ElementDataFile', `"${where.slice(0, 200)}": multi-file data is not supported`, 'unsupported');
    dataFile = resolveDataFile(file, where, 'ElementDataFile');
    start = 0;
    size = requireFile(dataFile, 'ElementDataFile');
  }
  const avail = Math.max(0, size - start);
  if (/^true$/i.test(f.get('CompressedData') ?? 'False')) {
    const bound = maxCompressedSize(payload);
    if (avail > bound) throw badInput(dataFile, 'CompressedData', `${sizeText(avail)} of zlib data, more than any compression of the ${sizeText(payload)} DimSize describes`);
    const packed = readExactly(dataFile, avail, start);
    let bytes: Buffer;
    try {
      bytes = inflateSync(packed, { maxOutputLength: payload + 1024 * 1024, chunkSize: Math.max(64 * 1024, payload + 1024) });
    } catch (e) {
      throw badInput(dataFile, 'CompressedData', `zlib data is corrupt or larger than the ${sizeText(payload)} DimSize describes (${(e as Error).message})`);
    }
    if (bytes.length < payload) throw badInput(dataFile, 'data', `truncated: ${bytes.length} bytes after decompression, ${payload} needed`);
    return bytes.subarray(0, payload);
  }
  const skip = where === 'LOCAL' ? 0 : headerSize(file, f);
  const offset = skip === -1 ? avail - payload : skip;
  if (offset < 0 || avail < offset + payload) throw badInput(dataFile, 'data', `truncated: ${avail} bytes, ${skip === -1 ? payload : offset + payload} needed`);
  if (skip !== -1 && avail > offset + payload) throw badInput(dataFile, 'data', `${avail} data bytes, but the header describes ${offset + payload} (DimSize × ElementType${offset ? ' + HeaderSize' : ''})`);
  return readExactly(dataFile, payload, start + offset);
}

export interface MetaImageWriteOptions {
  compress?: boolean;
}

/** Writes a single-file .mha (LOCAL data, zlib-compressed by default) atomically. */
export function writeMetaImage(path: string, vol: Volume, opts: MetaImageWriteOptions = {}): void {
  if (!/\.mha$/i.test(path)) throw usageError(`${path}: a MetaImage output must end in .mha (single file)`);
  const compress = opts.compress ?? true;
  const a = affineOf(vol);
  const d = vol.direction;
  const tm = [d[0], d[3], d[6], d[1], d[4], d[7], d[2], d[5], d[8]];
  let body: Uint8Array = voxelBytes(vol.data);
  if (vol.channels > 1) {
    const n = vol.dims[0] * vol.dims[1] * vol.dims[2];
    const inter = allocate(dtypeOf(vol.data), vol.data.length);
    for (let c = 0; c < vol.channels; c++) for (let i = 0; i < n; i++) inter[i * vol.channels + c] = vol.data[c * n + i];
    body = voxelBytes(inter);
  }
  if (compress) body = deflateSync(body);
  const lines = [
    'ObjectType = Image', 'NDims = 3', 'BinaryData = True', 'BinaryDataByteOrderMSB = False',
    `CompressedData = ${compress ? 'True' : 'False'}`, ...(compress ? [`CompressedDataSize = ${body.length}`] : []),
    `TransformMatrix = ${tm.map(String).join(' ')}`, `Offset = ${[a[3], a[7], a[11]].map(String).join(' ')}`,
    'CenterOfRotation = 0 0 0', `ElementSpacing = ${vol.spacing.map(String).join(' ')}`, `DimSize = ${vol.dims.join(' ')}`,
    ...(vol.channels > 1 ? [`ElementNumberOfChannels = ${vol.channels}`] : []),
    `ElementType = ${WRITE_TYPES[dtypeOf(vol.data)]}`, 'ElementDataFile = LOCAL',
  ];
  writeFileAtomic(path, Buffer.concat([Buffer.from(lines.join('\n') + '\n', 'latin1'), body]));
}
