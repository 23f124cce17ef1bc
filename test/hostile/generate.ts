/**
 * Hostile-file generator: writes small valid images, then derives files that a hostile tester
 * (or a broken PACS export) would hand Osteon: wrong and huge sizes, prototype-named types, data
 * files that escape their folder or point at devices, decompression bombs, truncations, torn
 * JSON, DICOM with Rows = 0, poisoned project.json and checkpoints. Code, not checked-in blobs:
 * every file is made fresh in a temporary folder.
 *
 * Each case says how it enters Osteon (`as`), which file names an error may name, and (when it
 * is fixed) the field.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import { writeMetaImage } from '../../app/imaging/metaimage.ts';
import { encodeNifti, writeNifti } from '../../app/imaging/nifti.ts';
import { writeNrrd } from '../../app/imaging/nrrd.ts';
import type { Volume } from '../../app/imaging/volume.ts';
import { fixtures } from '../helpers/env.ts';

export type HostileRole = 'ct' | 'labels' | 'schema' | 'project' | 'checkpoint';

export interface HostileCase {
  /** Short unique name (also the file's stem). */
  name: string;
  format: string;
  /** Where the file goes: the CT, the label file, the schema, a project folder, a checkpoint. */
  as: HostileRole;
  /** The path handed to Osteon (a file, or a folder for DICOM and projects). */
  path: string;
  /** Base names an error may name (the file itself, its data file, a DICOM slice). */
  names: string[];
  field?: string;
}

/** The valid companions every case is paired with. */
export interface HostileSet {
  dir: string;
  ct: string;
  labels: string;
  schema: string;
  cases: HostileCase[];
}

const DIMS: [number, number, number] = [8, 8, 4];

function volume(data: Int16Array | Uint8Array): Volume {
  return { dims: DIMS, spacing: [1, 1, 2], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], data, channels: 1 };
}

export function validCt(): Volume {
  const n = DIMS[0] * DIMS[1] * DIMS[2];
  const d = new Int16Array(n);
  for (let i = 0; i < n; i++) d[i] = (i * 37) % 400 - 100;
  return volume(d);
}

export function validLabels(): Volume {
  const n = DIMS[0] * DIMS[1] * DIMS[2];
  const d = new Uint8Array(n);
  for (let i = 0; i < n; i++) d[i] = i % 8 < 3 ? 1 : i % 8 < 6 ? 2 : 0;
  return volume(d);
}

export const VALID_SCHEMA = {
  schema: 'osteon-labels/1', name: 'hostile', description: 'two parts',
  structures: [
    { id: 'a', name: 'A', colour: '#ff0000', role: 'part', source: { kind: 'labelmap', values: [1] } },
    { id: 'b', name: 'B', colour: '#00ff00', role: 'part', source: { kind: 'labelmap', values: [2] } },
  ],
};

/** A NIfTI-1 header (348 bytes + 4) for `dims` of datatype code `code`, editable in place. */
function niftiBytes(vol: Volume): Buffer {
  return encodeNifti(vol);
}

function nrrdText(fields: Record<string, string>, extra: string[] = []): string {
  return ['NRRD0004', ...Object.entries(fields).map(([k, v]) => `${k}: ${v}`), ...extra].join('\n') + '\n\n';
}

const NRRD_BASE: Record<string, string> = {
  type: 'short', dimension: '3', space: 'left-posterior-superior', sizes: DIMS.join(' '),
  'space directions': '(1,0,0) (0,1,0) (0,0,2)', kinds: 'domain domain domain', endian: 'little', encoding: 'raw',
  'space origin': '(0,0,0)',
};

function mhaText(fields: Record<string, string>): string {
  return Object.entries(fields).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n';
}

const MHA_BASE: Record<string, string> = {
  ObjectType: 'Image', NDims: '3', BinaryData: 'True', BinaryDataByteOrderMSB: 'False', CompressedData: 'False',
  TransformMatrix: '1 0 0 0 1 0 0 0 1', Offset: '0 0 0', ElementSpacing: '1 1 2', DimSize: DIMS.join(' '), ElementType: 'MET_SHORT',
  ElementDataFile: 'LOCAL',
};

/** Little-endian explicit-VR DICOM element. */
function el(group: number, elem: number, vr: string, value: Buffer): Buffer {
  const pad = value.length % 2 ? Buffer.concat([value, Buffer.from([vr === 'UI' ? 0 : 0x20])]) : value;
  const long = ['OB', 'OW', 'OF', 'SQ', 'UT', 'UN'].includes(vr);
  const h = Buffer.alloc(long ? 12 : 8);
  h.writeUInt16LE(group, 0);
  h.writeUInt16LE(elem, 2);
  h.write(vr, 4, 'latin1');
  if (long) h.writeUInt32LE(pad.length, 8);
  else h.writeUInt16LE(pad.length, 6);
  return Buffer.concat([h, pad]);
}

const us = (n: number) => { const b = Buffer.alloc(2); b.writeUInt16LE(n & 0xffff); return b; };
const s = (t: string) => Buffer.from(t, 'latin1');

export interface SliceOptions {
  rows?: number; cols?: number; bits?: number; samples?: number; ts?: string; iop?: string; ipp?: string;
  spacing?: string; pixels?: Buffer; frames?: string; series?: string; omit?: string[];
}

/** One CT slice, explicit VR little endian (or the transfer syntax given). */
export function dicomSlice(k: number, o: SliceOptions = {}): Buffer {
  const rows = o.rows ?? 8, cols = o.cols ?? 8, bits = o.bits ?? 16;
  const ts = o.ts ?? '1.2.840.10008.1.2.1';
  const metaBody = Buffer.concat([el(0x0002, 0x0010, 'UI', s(ts))]);
  const meta = Buffer.concat([el(0x0002, 0x0000, 'UL', (() => { const b = Buffer.alloc(4); b.writeUInt32LE(metaBody.length); return b; })()), metaBody]);
  const omit = new Set(o.omit ?? []);
  const parts: Array<[string, Buffer]> = [
    ['sop', el(0x0008, 0x0016, 'UI', s('1.2.840.10008.5.1.4.1.1.2'))],
    ['modality', el(0x0008, 0x0060, 'CS', s('CT'))],
    ['series', el(0x0020, 0x000e, 'UI', s(o.series ?? '1.2.3.4.5'))],
    ['ipp', el(0x0020, 0x0032, 'DS', s(o.ipp ?? `0\\0\\${2 * k}`))],
    ['iop', el(0x0020, 0x0037, 'DS', s(o.iop ?? '1\\0\\0\\0\\1\\0'))],
    ['samples', el(0x0028, 0x0002, 'US', us(o.samples ?? 1))],
    ...(o.frames ? [['frames', el(0x0028, 0x0008, 'IS', s(o.frames))] as [string, Buffer]] : []),
    ['rows', el(0x0028, 0x0010, 'US', us(rows))],
    ['cols', el(0x0028, 0x0011, 'US', us(cols))],
    ['spacing', el(0x0028, 0x0030, 'DS', s(o.spacing ?? '1\\1'))],
    ['bits', el(0x0028, 0x0100, 'US', us(bits))],
    ['sign', el(0x0028, 0x0103, 'US', us(1))],
    ['pixels', el(0x7fe0, 0x0010, 'OW', o.pixels ?? Buffer.alloc(rows * cols * 2, 1))],
  ];
  return Buffer.concat([Buffer.alloc(128), s('DICM'), meta, ...parts.filter(([n]) => !omit.has(n)).map(([, b]) => b)]);
}

function series(dir: string, n: number, o: SliceOptions | ((k: number) => SliceOptions)): void {
  mkdirSync(dir, { recursive: true });
  for (let k = 0; k < n; k++) writeFileSync(join(dir, `s${k}.dcm`), dicomSlice(k, typeof o === 'function' ? o(k) : o));
}

/** Writes the set into `dir` (which must exist and be empty). */
export function generateHostile(dir: string): HostileSet {
  const cases: HostileCase[] = [];
  const add = (c: Omit<HostileCase, 'names'> & { names?: string[] }) => cases.push({ ...c, names: c.names ?? [basename(c.path)] });
  const okDir = join(dir, 'ok');
  mkdirSync(okDir, { recursive: true });
  const ct = join(okDir, 'ct.nii.gz');
  const labels = join(okDir, 'labels.nii.gz');
  const schema = join(okDir, 'schema.json');
  writeNifti(ct, validCt());
  writeNifti(labels, validLabels());
  writeFileSync(schema, JSON.stringify(VALID_SCHEMA));
  const outside = join(dir, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.raw'), Buffer.alloc(DIMS[0] * DIMS[1] * DIMS[2] * 2, 7));
  const sub = (name: string) => {
    const d = join(dir, name);
    mkdirSync(d, { recursive: true });
    return d;
  };

  // ---------------- NIfTI-1 (.nii, .nii.gz) ----------------
  const n1 = sub('nifti1');
  const base = niftiBytes(validCt());
  const nii = (name: string, edit: (b: Buffer) => Buffer | void, field?: string, gz = false) => {
    const b = Buffer.from(base);
    const out = edit(b) ?? b;
    const p = join(n1, `${name}.nii${gz ? '.gz' : ''}`);
    writeFileSync(p, gz ? gzipSync(out) : out);
    add({ name: `nifti1-${name}`, format: 'nifti1', as: 'ct', path: p, field });
  };
  nii('sizeof-hdr', (b) => { b.writeInt32LE(347, 0); }, 'sizeof_hdr');
  for (const d0 of [0, 8, -1, 300]) nii(`dim0-${d0}`, (b) => { b.writeInt16LE(d0, 40); }, 'dim[0]');
  for (const [i, v] of [[1, 0], [2, -5], [3, 0], [1, -32768]]) nii(`dim${i}-${v}`, (b) => { b.writeInt16LE(v, 40 + 2 * i); }, `dim[${i}]`);
  nii('dims-huge', (b) => { for (const i of [1, 2, 3]) b.writeInt16LE(32767, 40 + 2 * i); }, 'dim');
  nii('dims-huge-4d', (b) => { b.writeInt16LE(4, 40); for (const i of [1, 2, 3, 4]) b.writeInt16LE(32767, 40 + 2 * i); }, 'dim');
  for (const code of [0, 1, 32, 128, 1024, 1280, 1536, 1792, 2048, 2304, 9999, -1]) nii(`datatype-${code}`, (b) => { b.writeInt16LE(code, 70); }, 'datatype');
  for (const off of [-352, Number.NaN, 100, 1e30]) nii(`vox-offset-${String(off)}`, (b) => { b.writeFloatLE(off, 108); }, 'vox_offset');
  nii('magic-bad', (b) => { b.write('abc\0', 344, 'latin1'); }, 'magic');
  nii('magic-analyze', (b) => { b.write('\0\0\0\0', 344, 'latin1'); }, 'magic');
  nii('truncated-header', (b) => b.subarray(0, 200), 'header');
  nii('truncated-data', (b) => b.subarray(0, 352 + 100), 'data');
  nii('data-missing', (b) => b.subarray(0, 352), 'data');
  {
    const p = join(n1, 'gz-truncated.nii.gz');
    const gz = gzipSync(base);
    writeFileSync(p, gz.subarray(0, Math.floor(gz.length / 2)));
    add({ name: 'nifti1-gz-truncated', format: 'nifti1', as: 'ct', path: p });
    const q = join(n1, 'gz-corrupt.nii.gz');
    const c = Buffer.from(gz);
    for (let i = 40; i < c.length - 8; i += 7) c[i] ^= 0x5a;
    writeFileSync(q, c);
    add({ name: 'nifti1-gz-corrupt', format: 'nifti1', as: 'ct', path: q });
    const r = join(n1, 'gz-not-gzip-body.nii.gz');
    writeFileSync(r, Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), Buffer.alloc(200, 0xff)]));
    add({ name: 'nifti1-gz-garbage', format: 'nifti1', as: 'ct', path: r });
    // An honest bomb: 1610³ uint8 voxels of zeros, a few MB of gzip.
    const bombHeader = Buffer.from(base.subarray(0, 352));
    bombHeader.writeInt16LE(2, 70);
    bombHeader.writeInt16LE(8, 72);
    for (const i of [1, 2, 3]) bombHeader.writeInt16LE(1610, 40 + 2 * i);
    const zeros = Buffer.alloc(1 << 20);
    const member = gzipSync(Buffer.concat([bombHeader, zeros]), { level: 9 });
    const p2 = join(n1, 'bomb-1610.nii.gz');
    writeFileSync(p2, member);
    // Under the 4 GiB ceiling, but the stream holds far less than it claims: refused as truncated.
    add({ name: 'nifti1-bomb-1610', format: 'nifti1', as: 'ct', path: p2, field: 'data' });
    const big = Buffer.from(bombHeader);
    for (const i of [1, 2, 3]) big.writeInt16LE(1700, 40 + 2 * i);
    const p4 = join(n1, 'bomb-1700.nii.gz');
    writeFileSync(p4, gzipSync(Buffer.concat([big, zeros]), { level: 9 }));
    add({ name: 'nifti1-bomb-1700', format: 'nifti1', as: 'ct', path: p4, field: 'dim' });
    // A gzip that inflates to more than its header says (a small header, a big body).
    const p3 = join(n1, 'gz-overlong.nii.gz');
    writeFileSync(p3, gzipSync(Buffer.concat([base, Buffer.alloc(64 * 1024 * 1024)]), { level: 9 }));
    add({ name: 'nifti1-gz-overlong', format: 'nifti1', as: 'ct', path: p3, field: 'gzip' });
  }
  {
    const p = join(n1, 'empty.nii');
    writeFileSync(p, '');
    add({ name: 'nifti1-empty', format: 'nifti1', as: 'ct', path: p, field: 'header' });
    const q = join(n1, 'random.nii');
    writeFileSync(q, Buffer.from(Array.from({ length: 600 }, (_, i) => (i * 97 + 13) & 0xff)));
    add({ name: 'nifti1-random', format: 'nifti1', as: 'ct', path: q });
    const r = join(n1, 'devzero.nii');
    symlinkSync('/dev/zero', r);
    add({ name: 'nifti1-devzero', format: 'nifti1', as: 'ct', path: r });
  }

  // ---------------- NIfTI-2 ----------------
  const n2 = sub('nifti2');
  const nifti2 = (name: string, edit: (b: Buffer) => void, field?: string) => {
    const b = Buffer.alloc(544 + 8 * 8 * 4 * 2);
    b.writeInt32LE(540, 0);
    b.write('n+2\0\r\n\x1a\n', 4, 'latin1');
    b.writeInt16LE(4, 12);
    b.writeInt16LE(16, 14);
    const dim = [3, 8, 8, 4, 1, 1, 1, 1];
    dim.forEach((d, i) => b.writeBigInt64LE(BigInt(d), 16 + 8 * i));
    [1, 1, 1, 2, 0, 0, 0, 0].forEach((p, i) => b.writeDoubleLE(p, 104 + 8 * i));
    b.writeBigInt64LE(544n, 168);
    b.writeDoubleLE(1, 176);
    edit(b);
    const p = join(n2, `${name}.nii`);
    writeFileSync(p, b);
    add({ name: `nifti2-${name}`, format: 'nifti2', as: 'ct', path: p, field });
  };
  nifti2('dims-2e18', (b) => { for (const i of [1, 2, 3]) b.writeBigInt64LE(2n ** 60n, 16 + 8 * i); }, 'dim');
  nifti2('dim1-negative', (b) => { b.writeBigInt64LE(-8n, 24); }, 'dim[1]');
  nifti2('dim0-9', (b) => { b.writeBigInt64LE(9n, 16); }, 'dim[0]');
  nifti2('vox-offset-negative', (b) => { b.writeBigInt64LE(-1n, 168); }, 'vox_offset');
  nifti2('vox-offset-huge', (b) => { b.writeBigInt64LE(2n ** 40n, 168); }, 'data');
  nifti2('magic-bad', (b) => { b.write('n+1\0', 4, 'latin1'); }, 'magic');
  nifti2('datatype-complex', (b) => { b.writeInt16LE(1792, 12); }, 'datatype');
  nifti2('dims-7d-huge', (b) => { b.writeBigInt64LE(7n, 16); for (let i = 1; i <= 7; i++) b.writeBigInt64LE(1000n, 16 + 8 * i); }, 'dim');
  {
    const p = join(n2, 'truncated-header.nii');
    const b = Buffer.alloc(300);
    b.writeInt32LE(540, 0);
    writeFileSync(p, b);
    add({ name: 'nifti2-truncated-header', format: 'nifti2', as: 'ct', path: p, field: 'header' });
  }

  // ---------------- Analyze / NIfTI pairs (.hdr + .img) ----------------
  const an = sub('analyze');
  const pairHeader = Buffer.from(base.subarray(0, 348));
  pairHeader.write('ni1\0', 344, 'latin1');
  pairHeader.writeFloatLE(0, 108);
  const pair = (name: string, img: ((p: string) => void) | null, field?: string, names?: string[], edit?: (b: Buffer) => void) => {
    const h = join(an, `${name}.hdr`);
    const b = Buffer.from(pairHeader);
    edit?.(b);
    writeFileSync(h, b);
    if (img) img(join(an, `${name}.img`));
    add({ name: `analyze-${name}`, format: 'analyze', as: 'ct', path: h, field, names: names ?? [`${name}.hdr`, `${name}.img`] });
  };
  pair('img-missing', null, 'magic');
  pair('img-truncated', (p) => writeFileSync(p, Buffer.alloc(100)), 'data');
  pair('img-devzero', (p) => symlinkSync('/dev/zero', p));
  pair('img-outside', (p) => symlinkSync(join(outside, 'secret.raw'), p), 'img');
  pair('img-folder', (p) => mkdirSync(p));
  pair('plain-analyze', (p) => writeFileSync(p, Buffer.alloc(512)), 'magic', undefined, (b) => b.write('\0\0\0\0', 344, 'latin1'));
  pair('img-dangling', (p) => symlinkSync(join(an, 'nowhere.img'), p));
  pair('hdr-dims-huge', (p) => writeFileSync(p, Buffer.alloc(512)), 'dim', undefined, (b) => { for (const i of [1, 2, 3]) b.writeInt16LE(30000, 40 + 2 * i); });

  // ---------------- NRRD (attached) ----------------
  const nr = sub('nrrd');
  const payload = Buffer.from(validCt().data.buffer);
  const nrrd = (name: string, fields: Record<string, string | null>, body: Buffer = payload, field?: string, extra: string[] = [], names?: string[]) => {
    const f: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...NRRD_BASE, ...fields })) if (v !== null) f[k] = v;
    const p = join(nr, `${name}.nrrd`);
    writeFileSync(p, Buffer.concat([Buffer.from(nrrdText(f, extra), 'latin1'), body]));
    add({ name: `nrrd-${name}`, format: 'nrrd', as: 'ct', path: p, field, names });
  };
  for (const t of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'block', 'int64', 'long long']) nrrd(`type-${t.replace(/\W/g, '_')}`, { type: t }, payload, 'type');
  for (const d of ['0', '5', 'abc', '-3', '1e9']) nrrd(`dimension-${d}`, { dimension: d }, payload, 'dimension');
  for (const [n, v] of [['zero', '8 0 4'], ['negative', '8 -8 4'], ['text', 'a b c'], ['count', '8 8'], ['huge', '100000 100000 100000'], ['fraction', '8 8.5 4']]) nrrd(`sizes-${n}`, { sizes: v }, payload, 'sizes');
  nrrd('encoding-missing', { encoding: null }, payload, 'encoding');
  nrrd('encoding-bzip2', { encoding: 'bzip2' }, payload, 'encoding');
  nrrd('encoding-proto', { encoding: '__proto__' }, payload, 'encoding');
  nrrd('endian-middle', { endian: 'middle' }, payload, 'endian');
  for (const [n, v] of [['abc', 'abc'], ['minus5', '-5'], ['fraction', '1.5'], ['huge', '99999999999999999']]) nrrd(`byte-skip-${n}`, { 'byte skip': v }, payload, 'byte skip');
  for (const [n, v] of [['abc', 'abc'], ['negative', '-1'], ['too-many', '5']]) nrrd(`line-skip-${n}`, { 'line skip': v }, payload, 'line skip');
  nrrd('raw-truncated', {}, payload.subarray(0, 100), 'data');
  nrrd('raw-extra', {}, Buffer.concat([payload, Buffer.alloc(1000)]), 'data');
  nrrd('gzip-corrupt', { encoding: 'gzip' }, Buffer.alloc(300, 0x55), 'gzip');
  nrrd('gzip-truncated', { encoding: 'gzip' }, gzipSync(payload).subarray(0, 30));
  nrrd('gzip-overlong', { encoding: 'gzip' }, gzipSync(Buffer.alloc(32 * 1024 * 1024)), 'gzip');
  nrrd('gzip-bomb-claim', { encoding: 'gzip', sizes: '1610 1610 1610', type: 'uchar' }, gzipSync(Buffer.alloc(1 << 20), { level: 9 }), 'data');
  nrrd('gzip-bomb-claim-5g', { encoding: 'gzip', sizes: '1710 1710 1710', type: 'uchar' }, gzipSync(Buffer.alloc(1 << 20), { level: 9 }), 'sizes');
  nrrd('ascii-short', { encoding: 'ascii' }, Buffer.from('1 2 3'), 'data');
  nrrd('ascii-text', { encoding: 'ascii' }, Buffer.from('x '.repeat(256)), 'data');
  nrrd('space-proto', { space: 'constructor' }, payload, 'space');
  nrrd('space-unknown', { space: 'scanner-xyz' }, payload, 'space');
  nrrd('directions-count', { 'space directions': '(1,0,0) (0,1,0)' }, payload, 'space directions');
  nrrd('directions-text', { 'space directions': '(a,b,c) (0,1,0) (0,0,1)' }, payload, 'space directions');
  nrrd('directions-two-none', { 'space directions': 'none none (0,0,1)' }, payload, 'space directions');
  nrrd('kinds-count', { kinds: 'domain' }, payload, 'kinds');
  nrrd('origin-text', { 'space origin': '(x,y,z)' }, payload, 'space origin');
  nrrd('malformed-line', {}, payload, 'header', ['this line has no separator']);
  nrrd('magic-9', {}, payload, 'magic');
  writeFileSync(cases[cases.length - 1].path, Buffer.concat([Buffer.from(nrrdText(NRRD_BASE).replace('NRRD0004', 'NRRD0009'), 'latin1'), payload]));
  {
    const p = join(nr, 'no-blank-line.nrrd');
    writeFileSync(p, 'NRRD0004\n' + '# comment line to make the header long\n'.repeat(40_000));
    add({ name: 'nrrd-no-blank-line', format: 'nrrd', as: 'ct', path: p, field: 'header' });
    const q = join(nr, 'proto-keys.nrrd');
    writeFileSync(q, Buffer.concat([Buffer.from(nrrdText({ ...NRRD_BASE, type: '__proto__' }, ['__proto__:=x', 'constructor:=y', 'Segment0___proto__:=z']), 'latin1'), payload]));
    add({ name: 'nrrd-proto-keys', format: 'nrrd', as: 'ct', path: q, field: 'type' });
  }

  // ---------------- NHDR (detached) ----------------
  const nh = sub('nhdr');
  const nhdr = (name: string, dataFile: string, setup: (dir: string) => void, fields: Record<string, string> = {}, field = 'data file', names?: string[]) => {
    const d = join(nh, name);
    mkdirSync(d);
    setup(d);
    const p = join(d, `${name}.nhdr`);
    writeFileSync(p, nrrdText({ ...NRRD_BASE, ...fields, 'data file': dataFile }));
    add({ name: `nhdr-${name}`, format: 'nhdr', as: 'ct', path: p, field, names: names ?? [`${name}.nhdr`] });
  };
  nhdr('etc-passwd-dotdot', '../../../../../../../../etc/passwd', () => {});
  nhdr('etc-passwd-absolute', '/etc/passwd', () => {});
  nhdr('outside-dotdot', '../../outside/secret.raw', () => {});
  nhdr('outside-symlink', 'data.raw', (d) => symlinkSync(join(outside, 'secret.raw'), join(d, 'data.raw')));
  nhdr('outside-dir-symlink', 'sub/secret.raw', (d) => symlinkSync(outside, join(d, 'sub')));
  nhdr('devzero', 'data.raw', (d) => symlinkSync('/dev/zero', join(d, 'data.raw')));
  nhdr('devzero-gzip', 'data.raw.gz', (d) => symlinkSync('/dev/zero', join(d, 'data.raw.gz')), { encoding: 'gzip' });
  nhdr('dangling', 'data.raw', (d) => symlinkSync(join(d, 'nowhere.raw'), join(d, 'data.raw')));
  nhdr('missing', 'data.raw', () => {});
  nhdr('is-folder', 'data.raw', (d) => mkdirSync(join(d, 'data.raw')));
  nhdr('list', 'LIST', () => {});
  nhdr('windows-drive', 'C:\\Windows\\win.ini', () => {});
  nhdr('unc', '\\\\server\\share\\x.raw', () => {});
  nhdr('nul-byte', 'data\0.raw', () => {});
  nhdr('truncated-data', 'data.raw', (d) => writeFileSync(join(d, 'data.raw'), payload.subarray(0, 10)), {}, 'data', ['truncated-data.nhdr', 'data.raw']);
  nhdr('oversized-data', 'data.raw', (d) => writeFileSync(join(d, 'data.raw'), Buffer.alloc(10 * 1024 * 1024)), {}, 'data', ['oversized-data.nhdr', 'data.raw']);
  nhdr('gzip-bomb', 'data.raw.gz', (d) => writeFileSync(join(d, 'data.raw.gz'), gzipSync(Buffer.alloc(48 * 1024 * 1024), { level: 9 })), { encoding: 'gzip' }, 'gzip', ['gzip-bomb.nhdr', 'data.raw.gz']);
  nhdr('gzip-oversized-file', 'data.raw.gz', (d) => writeFileSync(join(d, 'data.raw.gz'), Buffer.alloc(2 * 1024 * 1024, 0x77)), { encoding: 'gzip' }, 'data', ['gzip-oversized-file.nhdr', 'data.raw.gz']);
  {
    // A fifo never ends: must be refused as not a regular file, without a read.
    const d = join(nh, 'fifo');
    mkdirSync(d);
    writeFileSync(join(d, 'fifo.nhdr'), nrrdText({ ...NRRD_BASE, 'data file': '/proc/self/fd/0' }));
    add({ name: 'nhdr-proc-fd', format: 'nhdr', as: 'ct', path: join(d, 'fifo.nhdr'), field: 'data file' });
  }

  // ---------------- MetaImage (.mha, .mhd) ----------------
  const mh = sub('metaimage');
  const mha = (name: string, fields: Record<string, string | null>, body: Buffer = payload, field?: string, names?: string[]) => {
    const f: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...MHA_BASE, ...fields })) if (v !== null) f[k] = v;
    const ordered = { ...f };
    delete ordered.ElementDataFile;
    const text = mhaText(ordered) + (f.ElementDataFile !== undefined ? `ElementDataFile = ${f.ElementDataFile}\n` : '');
    const p = join(mh, `${name}.mha`);
    writeFileSync(p, Buffer.concat([Buffer.from(text, 'latin1'), body]));
    add({ name: `mha-${name}`, format: 'mha', as: 'ct', path: p, field, names });
  };
  for (const t of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'MET_LONG_LONG', 'MET_STRING']) mha(`type-${t.replace(/\W/g, '_')}`, { ElementType: t }, payload, 'ElementType');
  for (const d of ['0', '4', 'abc', '1']) mha(`ndims-${d}`, { NDims: d }, payload, 'NDims');
  for (const [n, v] of [['zero', '8 0 4'], ['huge', '70000 70000 70000'], ['text', 'x y z'], ['count', '8 8']]) mha(`dimsize-${n}`, { DimSize: v }, payload, 'DimSize');
  mha('datafile-missing-line', { ElementDataFile: null }, payload, 'header');
  mha('truncated', {}, payload.subarray(0, 50), 'data');
  mha('extra-bytes', {}, Buffer.concat([payload, Buffer.alloc(999)]), 'data');
  mha('compressed-corrupt', { CompressedData: 'True' }, Buffer.alloc(200, 0x42), 'CompressedData');
  mha('compressed-overlong', { CompressedData: 'True' }, deflateSync(Buffer.alloc(16 * 1024 * 1024)), 'CompressedData');
  mha('compressed-short', { CompressedData: 'True' }, deflateSync(payload.subarray(0, 40)), 'data');
  mha('channels-zero', { ElementNumberOfChannels: '0' }, payload, 'ElementNumberOfChannels');
  mha('channels-text', { ElementNumberOfChannels: 'many' }, payload, 'ElementNumberOfChannels');
  mha('spacing-text', { ElementSpacing: 'a b c' }, payload, 'ElementSpacing');
  mha('matrix-short', { TransformMatrix: '1 0 0' }, payload, 'TransformMatrix');
  mha('no-object-type', { ObjectType: null, NDims: null, ElementDataFile: null }, payload, 'header');
  mha('malformed-line', { 'no equals here\nNDims': '3' }, payload, 'header');
  const mhd = (name: string, dataFile: string, setup: (dir: string) => void, fields: Record<string, string> = {}, field = 'ElementDataFile', names?: string[]) => {
    const d = join(mh, name);
    mkdirSync(d);
    setup(d);
    const f = { ...MHA_BASE, ...fields };
    delete (f as Record<string, string>).ElementDataFile;
    const p = join(d, `${name}.mhd`);
    writeFileSync(p, mhaText(f) + `ElementDataFile = ${dataFile}\n`);
    add({ name: `mhd-${name}`, format: 'mhd', as: 'ct', path: p, field, names: names ?? [`${name}.mhd`] });
  };
  mhd('etc-passwd-dotdot', '../../../../../../../../etc/passwd', () => {});
  mhd('etc-passwd-absolute', '/etc/passwd', () => {});
  mhd('outside-symlink', 'data.raw', (d) => symlinkSync(join(outside, 'secret.raw'), join(d, 'data.raw')));
  mhd('devzero', 'data.raw', (d) => symlinkSync('/dev/zero', join(d, 'data.raw')));
  mhd('missing', 'data.raw', () => {});
  mhd('folder', 'data.raw', (d) => mkdirSync(join(d, 'data.raw')));
  mhd('list', 'LIST', () => {});
  mhd('pattern', 'slice%03d.raw 0 3 1', () => {});
  mhd('header-size-text', 'data.raw', (d) => writeFileSync(join(d, 'data.raw'), payload), { HeaderSize: 'abc' }, 'HeaderSize');
  mhd('header-size-negative', 'data.raw', (d) => writeFileSync(join(d, 'data.raw'), payload), { HeaderSize: '-7' }, 'HeaderSize');
  mhd('oversized-data', 'data.raw', (d) => writeFileSync(join(d, 'data.raw'), Buffer.alloc(5 * 1024 * 1024)), {}, 'data', ['oversized-data.mhd', 'data.raw']);
  mhd('compressed-oversized-file', 'data.zraw', (d) => writeFileSync(join(d, 'data.zraw'), Buffer.alloc(3 * 1024 * 1024, 1)), { CompressedData: 'True' }, 'CompressedData', ['compressed-oversized-file.mhd', 'data.zraw']);

  // ---------------- DICOM folders ----------------
  const dc = sub('dicom');
  const dicom = (name: string, make: (d: string) => void, field?: string, names?: string[]) => {
    const d = join(dc, name);
    mkdirSync(d);
    make(d);
    add({ name: `dicom-${name}`, format: 'dicom', as: 'ct', path: d, field, names: names ?? [name, ...readdirSync(d)] });
  };
  dicom('rows-zero', (d) => series(d, 3, { rows: 0, pixels: Buffer.alloc(0) }), 'Rows');
  dicom('columns-zero', (d) => series(d, 3, { cols: 0, pixels: Buffer.alloc(0) }), 'Columns');
  dicom('rows-missing', (d) => series(d, 3, { omit: ['rows'] }), 'Rows');
  dicom('pixels-short', (d) => series(d, 3, { pixels: Buffer.alloc(20) }), 'PixelData');
  dicom('rows-huge', (d) => series(d, 3, { rows: 65535, cols: 65535, pixels: Buffer.alloc(16) }));
  dicom('bits-12', (d) => series(d, 3, { bits: 12 }), 'BitsAllocated');
  dicom('bits-64', (d) => series(d, 3, { bits: 64 }), 'BitsAllocated');
  dicom('rgb', (d) => series(d, 3, { samples: 3 }), 'SamplesPerPixel');
  dicom('multiframe', (d) => series(d, 3, { frames: '5' }), 'PerFrameFunctionalGroupsSequence');
  dicom('iop-text', (d) => series(d, 3, { iop: 'a\\b\\c\\d\\e\\f' }), 'ImageOrientationPatient');
  dicom('iop-not-orthogonal', (d) => series(d, 3, { iop: '1\\0\\0\\1\\0\\0' }), 'ImageOrientationPatient');
  dicom('ipp-missing', (d) => series(d, 3, { omit: ['ipp'] }), 'ImagePositionPatient');
  dicom('duplicate-slices', (d) => series(d, 3, { ipp: '0\\0\\0' }), 'ImagePositionPatient');
  dicom('spacing-zero', (d) => series(d, 3, { spacing: '0\\0' }), 'PixelSpacing');
  dicom('mixed-rows', (d) => series(d, 3, (k) => ({ rows: k === 1 ? 4 : 8 })), 'Rows');
  dicom('compressed-ts', (d) => series(d, 2, { ts: '1.2.840.10008.1.2.4.50' }), 'PixelData');
  dicom('ts-proto', (d) => series(d, 2, { ts: 'constructor' }), 'TransferSyntaxUID');
  dicom('ts-unknown', (d) => series(d, 2, { ts: '1.2.3.999' }), 'TransferSyntaxUID');
  dicom('no-pixels', (d) => series(d, 2, { omit: ['pixels'] }), 'files');
  dicom('only-dangling-symlink', (d) => symlinkSync(join(d, 'gone.dcm'), join(d, 'a.dcm')), 'files');
  dicom('empty-folder', () => {}, 'files');
  dicom('not-dicom', (d) => writeFileSync(join(d, 'a.dcm'), Buffer.alloc(300, 0x41)), 'preamble');
  dicom('truncated-element', (d) => writeFileSync(join(d, 'a.dcm'), dicomSlice(0).subarray(0, 200)));
  dicom('two-series', (d) => { series(d, 2, { series: '1.2.3' }); writeFileSync(join(d, 'z.dcm'), dicomSlice(5, { series: '9.9.9' })); }, 'SeriesInstanceUID');
  {
    // Compressed pixel data: the fixture's JPEG 2000 slice, truncated.
    const j2k = join(fixtures, 'imaging', 'dicom-variants', 'jpeg2000', 'j2k.dcm');
    if (existsSync(j2k)) {
      dicom('jpeg2000-truncated', (d) => { const b = readFileSync(j2k); writeFileSync(join(d, 'j2k.dcm'), b.subarray(0, Math.floor(b.length * 0.6))); });
      dicom('jpeg2000-zeroed', (d) => { const b = Buffer.from(readFileSync(j2k)); b.fill(0, Math.floor(b.length * 0.5)); writeFileSync(join(d, 'j2k.dcm'), b); });
    }
  }

  // ---------------- Label maps (on the valid CT) ----------------
  const lb = sub('labels');
  const lab = (name: string, vol: Volume, field?: string, ext = '.nii.gz') => {
    const p = join(lb, `${name}${ext}`);
    if (ext === '.nrrd') writeNrrd(p, vol);
    else if (ext === '.mha') writeMetaImage(p, vol);
    else writeNifti(p, vol);
    add({ name: `labels-${name}`, format: 'labels', as: 'labels', path: p, field });
  };
  const L = validLabels();
  lab('empty', { ...L, data: new Uint8Array(L.data.length) }, 'data');
  lab('negative', { ...L, data: Int16Array.from(L.data, (x) => (x ? -x : 0)) }, 'data');
  lab('fraction', { ...L, data: Float32Array.from(L.data, (x) => x * 0.5) }, 'data');
  lab('nan', { ...L, data: Float32Array.from(L.data, (x) => (x ? Number.NaN : 0)) }, 'data');
  lab('too-many-values', { ...L, data: Uint16Array.from(L.data, (_, i) => i % 256 + 1) }, 'data');
  lab('grid-dims', { ...L, dims: [8, 8, 2], data: L.data.subarray(0, 128) });
  lab('grid-spacing', { ...L, spacing: [2, 2, 2] });
  lab('grid-origin', { ...L, origin: [50, 0, 0] });
  lab('grid-dims-nrrd', { ...L, dims: [4, 8, 8], data: L.data }, undefined, '.nrrd');
  lab('grid-dims-mha', { ...L, dims: [8, 4, 8], data: L.data }, undefined, '.mha');
  lab('huge-value', { ...L, data: Float32Array.from(L.data, (x) => (x ? 1e9 : 0)) }, 'data');

  // ---------------- Label schema JSON ----------------
  const sc = sub('schema');
  const schemaCase = (name: string, text: string | Buffer, field?: string) => {
    const p = join(sc, `${name}.json`);
    writeFileSync(p, text);
    add({ name: `schema-${name}`, format: 'schema', as: 'schema', path: p, field });
  };
  const sj = (edit: (s: Record<string, unknown>) => void) => {
    const x = structuredClone(VALID_SCHEMA) as Record<string, unknown>;
    edit(x);
    return JSON.stringify(x);
  };
  schemaCase('not-json', '{"schema": ', '(json)');
  schemaCase('bom-not-json', '\uFEFF{oops', '(json)');
  schemaCase('empty', '', '(json)');
  schemaCase('array', '[]', '(top level)');
  schemaCase('null', 'null', '(top level)');
  schemaCase('description-20mb', sj((s) => { s.description = 'x'.repeat(20 * 1024 * 1024); }), '(file)');
  schemaCase('description-long', sj((s) => { s.description = 'x'.repeat(20_000); }), 'description');
  schemaCase('proto-key', '{"__proto__": {"polluted": true}, "schema": "osteon-labels/1"}');
  schemaCase('constructor-key', JSON.stringify(VALID_SCHEMA).replace('{', '{"constructor":{"prototype":{"polluted":true}},'));
  schemaCase('no-structures', sj((s) => { s.structures = []; }), 'structures');
  schemaCase('dup-ids', sj((s) => { (s.structures as Array<Record<string, unknown>>)[1].id = 'a'; }));
  schemaCase('bad-colour', sj((s) => { (s.structures as Array<Record<string, unknown>>)[0].colour = 'red'; }));
  schemaCase('bad-role', sj((s) => { (s.structures as Array<Record<string, unknown>>)[0].role = 'constructor'; }));
  schemaCase('bad-kind', sj((s) => { (s.structures as Array<Record<string, unknown>>)[0].source = { kind: '__proto__' }; }));
  schemaCase('mask-outside', sj((s) => {
    s.structures = [{ id: 'a', name: 'A', colour: '#ff0000', role: 'part', source: { kind: 'mask', file: '../../../../etc/passwd' } }];
  }));
  schemaCase('mask-absolute', sj((s) => {
    s.structures = [{ id: 'a', name: 'A', colour: '#ff0000', role: 'part', source: { kind: 'mask', file: '/etc/passwd' } }];
  }));
  schemaCase('wrong-tag', sj((s) => { s.schema = 'osteon-labels/99'; }), 'schema');
  schemaCase('deep-nesting', '['.repeat(100_000) + ']'.repeat(100_000));
  schemaCase('too-many-structures', sj((s) => {
    s.structures = Array.from({ length: 300 }, (_, i) => ({ id: `s${i}`, name: `S${i}`, colour: '#ffffff', role: 'part', source: { kind: 'labelmap', values: [i + 1] } }));
  }), 'structures');
  {
    const p = join(sc, 'folder.json');
    mkdirSync(p);
    add({ name: 'schema-folder', format: 'schema', as: 'schema', path: p, field: '(file)' });
  }

  // ---------------- project.json ----------------
  const pj = sub('projects');
  const project = (name: string, text: string | null, field?: string, setup?: (d: string) => void) => {
    const d = join(pj, name);
    mkdirSync(join(d, 'cases'), { recursive: true });
    if (text !== null) writeFileSync(join(d, 'project.json'), text);
    setup?.(d);
    add({ name: `project-${name}`, format: 'project.json', as: 'project', path: d, field, names: ['project.json', name] });
  };
  const good = { format: 'osteon-project', schemaVersion: 1, name: 'p', created: '2026-01-01T00:00:00.000Z', cases: [], runs: [] };
  const pjs = (edit: (x: Record<string, unknown>) => void) => {
    const x = structuredClone(good) as Record<string, unknown>;
    edit(x);
    return JSON.stringify(x);
  };
  project('missing', null, 'path');
  project('not-json', '{', '(json)');
  project('empty', '', '(json)');
  project('array', '[]', '(top level)');
  project('wrong-format', pjs((x) => { x.format = 'constructor'; }), 'format');
  project('version-2', pjs((x) => { x.schemaVersion = 2; }), 'schemaVersion');
  project('cases-object', pjs((x) => { x.cases = { __proto__: {} }; }), 'cases');
  project('proto-key', '{"__proto__":{"polluted":1},"format":"osteon-project"}');
  project('extra-key', pjs((x) => { x.evil = true; }));
  project('case-id-dotdot', pjs((x) => { x.cases = [{ id: '../../etc', name: 'x', importedAt: '', status: 'imported', files: { ct: 'ct.nii.gz' }, sources: { ct: '/x' } }]; }));
  project('case-file-dotdot', pjs((x) => { x.cases = [{ id: 'a', name: 'x', importedAt: '', status: 'imported', files: { ct: '../../../etc/passwd' }, sources: { ct: '/x' } }]; }));
  project('run-id-bad', pjs((x) => { x.runs = [{ id: '../x', kind: 'train', created: '' }]; }));
  project('name-huge', pjs((x) => { x.name = 'n'.repeat(10_000); }), 'name');
  project('sparse-100mb', null, '(file)', (d) => { writeFileSync(join(d, 'project.json'), '{'); truncateSync(join(d, 'project.json'), 100 * 1024 * 1024); });
  project('folder', null, 'path', (d) => mkdirSync(join(d, 'project.json')));

  // ---------------- run checkpoints ----------------
  const ck = sub('checkpoints');
  const ckpt = (name: string, header: unknown, dataBytes = 64, field?: string, raw?: Buffer) => {
    const p = join(ck, `${name}.ckpt`);
    if (raw) {
      writeFileSync(p, raw);
    } else {
      const h = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
      const b = Buffer.alloc(12 + h.length + dataBytes);
      b.write('OSTNCKPT', 0, 'latin1');
      b.writeUInt32LE(h.length, 8);
      h.copy(b, 12);
      writeFileSync(p, b);
    }
    add({ name: `checkpoint-${name}`, format: 'checkpoint', as: 'checkpoint', path: p, field });
  };
  const ckHeader = (tensors: unknown, extra: Record<string, unknown> = {}) => ({ format: 'osteon-checkpoint/1', epoch: 1, meta: {}, tensors, ...extra });
  ckpt('magic', null, 0, 'magic', Buffer.from('NOTACKPT0000'));
  ckpt('short', null, 0, 'magic', Buffer.from('OST'));
  ckpt('header-len-huge', null, 0, 'header', (() => { const b = Buffer.alloc(40); b.write('OSTNCKPT'); b.writeUInt32LE(0xffffffff, 8); return b; })());
  ckpt('header-not-json', '{nope', 0, 'header');
  ckpt('format', ckHeader([], { format: 'other' }), 0, 'format');
  ckpt('tensors-missing', { format: 'osteon-checkpoint/1', epoch: 1, meta: {} }, 0, 'tensors');
  ckpt('tensors-object', ckHeader({ length: 5 }), 0, 'tensors');
  ckpt('tensors-null', ckHeader(null), 0, 'tensors');
  ckpt('shape-negative', ckHeader([{ name: 'param:w', shape: [-1, 4], dtype: 'float32', offset: 0, length: -4 }]));
  ckpt('shape-huge', ckHeader([{ name: 'param:w', shape: [1e6, 1e6], dtype: 'float32', offset: 0, length: 1e12 }]));
  ckpt('shape-text', ckHeader([{ name: 'param:w', shape: 'abc', dtype: 'float32', offset: 0, length: 3 }]));
  ckpt('offset-beyond', ckHeader([{ name: 'param:w', shape: [4], dtype: 'float32', offset: 1 << 20, length: 4 }]));
  ckpt('offset-negative', ckHeader([{ name: 'param:w', shape: [4], dtype: 'float32', offset: -8, length: 4 }]));
  ckpt('offset-unaligned', ckHeader([{ name: 'param:w', shape: [4], dtype: 'float32', offset: 3, length: 4 }]));
  ckpt('length-mismatch', ckHeader([{ name: 'param:w', shape: [4], dtype: 'float32', offset: 0, length: 5 }]));
  ckpt('name-proto', ckHeader([{ name: '__proto__', shape: [4], dtype: 'float32', offset: 0, length: 4 }]));
  ckpt('epoch-text', ckHeader([], { epoch: 'one' }), 0, 'epoch');
  ckpt('meta-array', ckHeader([], { meta: [1, 2] }), 0, 'meta');
  ckpt('dtype-bad', ckHeader([{ name: 'param:w', shape: [4], dtype: 'complex64', offset: 0, length: 4 }]));
  {
    const p = join(ck, 'sparse-huge.ckpt');
    writeFileSync(p, 'OSTNCKPT');
    truncateSync(p, 6 * 1024 * 1024 * 1024);
    add({ name: 'checkpoint-sparse-huge', format: 'checkpoint', as: 'checkpoint', path: p, field: 'file' });
  }

  // Mixed: a valid header naming data through a chain of links that ends outside.
  {
    const d = join(nh, 'link-chain');
    mkdirSync(d);
    symlinkSync(join(outside, 'secret.raw'), join(d, 'b.raw'));
    symlinkSync(join(d, 'b.raw'), join(d, 'a.raw'));
    const p = join(d, 'link-chain.nhdr');
    writeFileSync(p, nrrdText({ ...NRRD_BASE, 'data file': 'a.raw' }));
    add({ name: 'nhdr-link-chain', format: 'nhdr', as: 'ct', path: p, field: 'data file' });
  }
  return { dir, ct, labels, schema, cases };
}
