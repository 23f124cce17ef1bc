// Bad-input corpus: every broken file is generated here into a temporary folder, read, and must
// fail with an OsteonError of the input family (CLI exit 2) whose message starts with the file
// name and names the field, without writing anything and without allocating what a hostile
// header claims.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { requireBinaryMask, requireFiniteCt, requireLabels } from '../../app/imaging/checks.ts';
import { readVolume, writeVolume } from '../../app/imaging/io.ts';
import { encodeNifti, readNifti } from '../../app/imaging/nifti.ts';
import { requireSameGrid, resampleLabels } from '../../app/imaging/resample.ts';
import type { Volume } from '../../app/imaging/volume.ts';
import { OsteonError, isInputError } from '../../app/util/errors.ts';
import { fixtures } from '../helpers/env.ts';

const dir = mkdtempSync(join(tmpdir(), 'osteon-bad-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const small: Volume = { dims: [4, 3, 2], spacing: [1, 1, 2], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], channels: 1, data: new Int16Array(24).map((_, i) => i - 5) };
const good = encodeNifti(small);

/** A valid NIfTI-1 image with header edits applied. */
function nifti(edit: (v: DataView) => void): Buffer {
  const b = Buffer.from(good);
  edit(new DataView(b.buffer, b.byteOffset, 352));
  return b;
}

function put(name: string, bytes: Uint8Array | string): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

/** Runs `f`, which must fail with an input-family OsteonError; checks file name, field and code. */
function expectInputError(f: () => unknown, file: string, field: RegExp | string, code = 'bad-input', msg?: RegExp): OsteonError {
  const before = readdirSync(dir).sort();
  let err: unknown;
  try { f(); } catch (e) { err = e; }
  expect(err, 'expected an error').toBeInstanceOf(OsteonError);
  const e = err as OsteonError;
  expect(isInputError(e)).toBe(true);
  expect(e.code).toBe(code);
  expect(e.message.startsWith(`${file}: `), e.message).toBe(true);
  if (typeof field === 'string') expect(e.field).toBe(field); else expect(e.field).toMatch(field);
  if (msg) expect(e.message).toMatch(msg);
  expect(readdirSync(dir).sort()).toEqual(before); // nothing written
  return e;
}

describe('bad input: NIfTI', () => {
  it('truncated gzip', () => {
    const gz = readFileSync(join(fixtures, 'imaging', 'tptbox', 'sub-ct_label-22_ct.nii.gz'));
    const f = put('truncated.nii.gz', gz.subarray(0, gz.length >> 1));
    expectInputError(() => readVolume(f), f, 'gzip', 'bad-input', /truncated/);
  });
  it('gzip whose data is shorter than the header says', () => {
    const f = put('short.nii.gz', gzipSync(good.subarray(0, 352 + 10)));
    expectInputError(() => readVolume(f), f, 'data', 'bad-input', /truncated: 362 bytes after decompression, the header needs 400/);
  });
  it('truncated uncompressed data', () => {
    const f = put('short.nii', good.subarray(0, 380));
    expectInputError(() => readVolume(f), f, 'data', 'bad-input', /truncated/);
  });
  it('gzip that inflates far beyond the header (bomb)', () => {
    const f = put('bomb.nii.gz', gzipSync(Buffer.concat([good, Buffer.alloc(64 * 1024 * 1024)])));
    expectInputError(() => readVolume(f), f, 'gzip', 'bad-input', /more than the 400 bytes/);
  });
  it('wrong magic', () => {
    const f = put('magic.nii', nifti((v) => v.setUint32(344, 0x78787800)));
    expectInputError(() => readVolume(f), f, 'magic');
  });
  it('not NIfTI at all (random bytes named .nii.gz, gzip of text)', () => {
    const f = put('random.nii.gz', Buffer.from('this is not an image, just some text that is long enough'.repeat(10)));
    expectInputError(() => readVolume(f), f, 'sizeof_hdr');
    const g = put('text.nii.gz', gzipSync(Buffer.from('hello')));
    expectInputError(() => readVolume(g), g, 'sizeof_hdr');
  });
  it('dim[0] out of range', () => {
    const f = put('dim0.nii.gz', gzipSync(nifti((v) => v.setInt16(40, 9, true))));
    expectInputError(() => readVolume(f), f, 'dim[0]', 'bad-input', /dim\[0\]: 9, expected 1\.\.7/);
  });
  it('dim[2] = 0', () => {
    const f = put('dim2.nii', nifti((v) => v.setInt16(44, 0, true)));
    expectInputError(() => readVolume(f), f, 'dim[2]', 'bad-input', /dim\[2\]: 0, expected >= 1/);
  });
  it('a header claiming 10^12 voxels fails before allocating', () => {
    const huge = nifti((v) => { v.setInt16(42, 10000, true); v.setInt16(44, 10000, true); v.setInt16(46, 10000, true); });
    const before = process.memoryUsage().arrayBuffers;
    for (const [name, bytes] of [['huge.nii.gz', gzipSync(huge)], ['huge.nii', huge]] as const) {
      const f = put(name, bytes);
      expectInputError(() => readVolume(f), f, 'dim', 'bad-input', /10000×10000×10000 int16 voxels = 2000000000000 bytes \(1862\.65 GiB\) exceeds the limit/);
    }
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
  });
  it('unsupported datatype names the code', () => {
    const f = put('complex.nii', nifti((v) => { v.setInt16(70, 32, true); v.setInt16(72, 64, true); }));
    expectInputError(() => readVolume(f), f, 'datatype', 'unsupported', /32 \(DT_COMPLEX64\) is not supported/);
  });
  it('empty file, missing file, folder where a file is expected', () => {
    const f = put('empty.nii.gz', '');
    expectInputError(() => readVolume(f), f, 'header', 'bad-input', /empty/);
    const m = join(dir, 'missing.nii.gz');
    expectInputError(() => readVolume(m), m, 'path', 'not-found');
    const d = join(dir, 'folder.nii.gz');
    mkdirSync(d);
    expectInputError(() => readNifti(d), d, 'path', 'bad-input', /is a folder/);
    expectInputError(() => readVolume(d), d, 'files', 'bad-input', /no DICOM files/);
    rmSync(d, { recursive: true });
  });
});

describe('bad input: NRRD, MetaImage, DICOM', () => {
  it('NRRD and MetaImage headers claiming 10^12 voxels', () => {
    const n = put('huge.nrrd', 'NRRD0004\ntype: short\ndimension: 3\nsizes: 10000 10000 10000\nencoding: gzip\n\n');
    expectInputError(() => readVolume(n), n, 'sizes', 'bad-input', /exceeds the limit/);
    const m = put('huge.mha', 'ObjectType = Image\nNDims = 3\nDimSize = 10000 10000 10000\nElementType = MET_SHORT\nElementDataFile = LOCAL\n');
    expectInputError(() => readVolume(m), m, 'DimSize', 'bad-input', /exceeds the limit/);
  });
  it('NRRD without a type, with an unknown encoding, with truncated raw data', () => {
    const a = put('notype.nrrd', 'NRRD0004\ndimension: 3\nsizes: 2 2 2\nencoding: raw\n\n');
    expectInputError(() => readVolume(a), a, 'type', 'bad-input', /required field is missing/);
    const b = put('bzip.nrrd', 'NRRD0004\ntype: uchar\ndimension: 3\nsizes: 2 2 2\nencoding: bzip2\n\n');
    expectInputError(() => readVolume(b), b, 'encoding', 'unsupported');
    const c = put('short.nrrd', 'NRRD0004\ntype: uchar\ndimension: 3\nsizes: 2 2 2\nencoding: raw\n\n\x01\x02');
    expectInputError(() => readVolume(c), c, 'data', 'bad-input', /truncated/);
  });
  it('a DICOM folder holding two series', () => {
    const d = join(fixtures, 'imaging', 'dicom-variants', 'two_series');
    expectInputError(() => readVolume(d), d, 'SeriesInstanceUID', 'bad-input', /holds 2 series/);
  });
  it('a non-DICOM file in a DICOM folder', () => {
    const d = join(dir, 'dcm');
    mkdirSync(d);
    put('dcm/junk.dcm', Buffer.alloc(300, 7));
    expectInputError(() => readVolume(d), join(d, 'junk.dcm'), 'preamble', 'bad-input', /not a DICOM file/);
    rmSync(d, { recursive: true });
  });
});

describe('bad input: content checks', () => {
  const nanCt: Volume = { ...small, data: new Float32Array(24).map((_, i) => (i % 7 === 3 ? NaN : i)) };
  // i % 7 === 3 for i < 24: voxels 3, 10, 17.
  it('NaN voxels in a CT: read fine, refused by requireFiniteCt naming the count', () => {
    const f = join(dir, 'nan.nii.gz');
    writeVolume(f, nanCt);
    const v = readVolume(f);
    rmSync(f);
    expectInputError(() => requireFiniteCt(v, f), f, 'data', 'bad-input', /3 voxel\(s\) are NaN or infinite \(first at \(3, 0, 0\)\)/);
    expectInputError(() => requireLabels(v, f), f, 'data', 'bad-input', /labels must be integers/);
  });
  it('a non-binary mask where a binary mask is expected', () => {
    const f = join(fixtures, 'imaging', 'tptbox', 'sub-ct_seg-vert_label-22_msk.nii.gz');
    const v = readVolume(f);
    expectInputError(() => requireBinaryMask(v, f), f, 'data', 'bad-input', /expected a binary mask \(0\/1\), but \d+ voxel\(s\) hold other values: 21, 22, 23/);
    const bin = { ...v, data: v.data.map((x) => (x > 0 ? 1 : 0)) };
    expect(() => requireBinaryMask(bin, f)).not.toThrow();
  });
  it('a label grid that does not match the CT', () => {
    const ctFile = join(fixtures, 'imaging', 'tptbox', 'sub-ct_label-22_ct.nii.gz');
    const ct = readVolume(ctFile);
    const labFile = join(dir, 'labels-shifted.nii.gz');
    const shifted = resampleLabels(readVolume(join(fixtures, 'imaging', 'tptbox', 'sub-ct_seg-vert_label-22_msk.nii.gz')), { ...ct, origin: [ct.origin[0] + 1.5, ct.origin[1], ct.origin[2]] });
    expectInputError(() => requireSameGrid(ct, shifted, ctFile, labFile), labFile, 'geometry', 'mismatch', /grid does not match \/\S+\/sub-ct_label-22_ct\.nii\.gz: .*origin \(78, 135, -34\.2\).*origin \(79\.5, 135, -34\.2\)/);
  });
  it('writing to an unknown extension is a usage error and writes nothing', () => {
    const f = join(dir, 'out.png');
    let err: unknown;
    try { writeVolume(f, small); } catch (e) { err = e; }
    expect((err as OsteonError).code).toBe('usage');
    expect(readdirSync(dir)).not.toContain('out.png');
  });
});

describe('bad input: paths', () => {
  it('a single DICOM file reads as one slice, saying where the spacing came from', () => {
    const v = readVolume(join(fixtures, 'imaging', 'dcmqi', 'dicom', '01.dcm'));
    expect(v.dims).toEqual([512, 512, 1]);
    expect(v.warnings[0]).toMatch(/single slice: slice spacing taken from SliceThickness/);
  });
});

describe('bad input: truncations and corrupted bytes never escape as internal errors', () => {
  // Every prefix length on a grid and a set of single-byte corruptions of small valid files in
  // each format: reading either succeeds or throws an input-family OsteonError.
  const sources: Array<[string, Buffer]> = [
    ['x.nii', good],
    ['x.nii.gz', gzipSync(good)],
    ['x.nrrd', Buffer.concat([Buffer.from('NRRD0004\ntype: short\ndimension: 3\nspace: left-posterior-superior\nsizes: 4 3 2\nspace directions: (1,0,0) (0,1,0) (0,0,2)\nendian: little\nencoding: gzip\nspace origin: (0,0,0)\n\n'), gzipSync(Buffer.from(small.data.buffer))])],
    ['x.mha', Buffer.concat([Buffer.from('ObjectType = Image\nNDims = 3\nCompressedData = False\nTransformMatrix = 1 0 0 0 1 0 0 0 1\nOffset = 0 0 0\nElementSpacing = 1 1 2\nDimSize = 4 3 2\nElementType = MET_SHORT\nElementDataFile = LOCAL\n'), Buffer.from(small.data.buffer)])],
    ['dcm/a.dcm', readFileSync(join(fixtures, 'imaging', 'dicom-variants', 'explicit_le_oblique', readdirSync(join(fixtures, 'imaging', 'dicom-variants', 'explicit_le_oblique'))[0]))],
  ];
  it.each(sources.map(([n]) => n))('%s', (name) => {
    const bytes = sources.find(([n]) => n === name)![1];
    const sub = join(dir, 'fuzz');
    mkdirSync(join(sub, 'dcm'), { recursive: true });
    const target = join(sub, name);
    const readTarget = name.startsWith('dcm/') ? join(sub, 'dcm') : target;
    const variants: Buffer[] = [];
    const step = Math.max(1, Math.floor(bytes.length / 40));
    for (let n = 0; n < bytes.length; n += step) variants.push(bytes.subarray(0, n));
    let seed = 99;
    for (let r = 0; r < 40; r++) {
      const b = Buffer.from(bytes);
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const pos = seed % Math.min(b.length, 1200);
      b[pos] ^= 0xff;
      variants.push(b);
    }
    let failures = 0;
    for (const v of variants) {
      writeFileSync(target, v);
      try {
        readVolume(readTarget);
      } catch (e) {
        failures++;
        if (!isInputError(e)) throw new Error(`${name} (${v.length} bytes) escaped as ${String(e)}`);
      }
    }
    expect(failures).toBeGreaterThan(10);
    rmSync(sub, { recursive: true });
  });
});
