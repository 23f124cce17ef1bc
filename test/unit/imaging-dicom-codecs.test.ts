// Every transfer syntax a CT archive uses, decoded and compared with a reference decode.
// Fixtures: test/fixtures/imaging/dicom-codecs, made by scripts/reference/dicom_codec_fixtures.py
// from the dcmqi CT (a 96×80×3 crop) with independent encoders (dcmtk, GDCM, OpenJPH); golden.json
// holds pydicom 2.3.1's HU (apply_modality_lut, slices sorted along the normal) of the source for
// lossless variants and of dcmtk's/GDCM's decode for lossy ones (reference.i16 beside them).
// test/fixtures/imaging/pydicom holds files from pydicom's own test corpus (see PROVENANCE.md).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDicomSeries, readDicomSeriesAsync } from '../../app/imaging/dicom.ts';
import { parseDicom } from '../../app/imaging/dicom-parse.ts';
import { frameInfo, storedFrames } from '../../app/imaging/dicom-pixels.ts';
import { readVolume } from '../../app/imaging/io.ts';
import type { VoxelArray } from '../../app/imaging/volume.ts';
import { fixtures, hasPythonModule, python } from '../helpers/env.ts';

const dir = join(fixtures, 'imaging', 'dicom-codecs');
const golden = JSON.parse(readFileSync(join(dir, 'golden.json'), 'utf8')) as Record<string, {
  transfer_syntax: string; shape_zyx: number[]; origin_lps: number[]; min: number; max: number; sum: number; sha256_int16: string; lossy: boolean;
}>;

function int16(data: VoxelArray): Int16Array {
  return Int16Array.from(data, (x) => Math.round(x));
}
const sha = (a: Int16Array) => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');

describe('DICOM transfer syntaxes vs pydicom (real CT crop, encoded by dcmtk / GDCM / OpenJPH)', () => {
  const lossless = Object.keys(golden).filter((k) => !golden[k].lossy);
  it.each(lossless)('%s decodes exactly', (name) => {
    const g = golden[name];
    const v = readVolume(join(dir, name));
    expect(v.meta.TransferSyntaxUID).toBe(g.transfer_syntax);
    expect([v.dims[2], v.dims[1], v.dims[0]]).toEqual(g.shape_zyx);
    v.origin.forEach((x, i) => expect(x).toBeCloseTo(g.origin_lps[i], 4));
    const hu = int16(v.data);
    expect(Math.min(...hu)).toBe(g.min);
    expect(Math.max(...hu)).toBe(g.max);
    expect(sha(hu)).toBe(g.sha256_int16);
  });

  // JPEG extended 12-bit is decoded by IJG's 12-bit libjpeg (dcmjs-codecs), the decoder behind
  // dcmtk's dcmdjpeg and GDCM (pydicom's handler for this syntax): identical samples, tolerance 0.
  const lossy = Object.keys(golden).filter((k) => golden[k].lossy && k !== 'jpeg_extended_12bit');
  it('jpeg_extended_12bit equals the IJG decode exactly (dcmdjpeg = pydicom + GDCM)', () => {
    const name = 'jpeg_extended_12bit';
    const v = readVolume(join(dir, name));
    expect(v.meta.TransferSyntaxUID).toBe('1.2.840.10008.1.2.4.51');
    expect(v.warnings).toEqual([]);
    const ref = new Int16Array(new Uint8Array(readFileSync(join(dir, `${name}.reference.i16`))).buffer);
    expect(sha(int16(v.data))).toBe(sha(ref));
  });
  it.skipIf(!hasPythonModule('pydicom, gdcm, numpy'))('jpeg_extended_12bit equals pydicom + GDCM, decoded now', () => {
    const out = python(['-c', [
      'import os, sys, glob, pydicom, numpy as np',
      'os.dup2(os.open(os.devnull, os.O_WRONLY), 2)  # GDCM reports its 8-bit attempt before the 12-bit decode',
      'from pydicom.pixel_data_handlers import gdcm_handler',
      'from pydicom.pixel_data_handlers.util import apply_modality_lut',
      'pydicom.config.pixel_data_handlers = [gdcm_handler]',
      'ds = [pydicom.dcmread(f) for f in sorted(glob.glob(sys.argv[1] + "/*"))]',
      'ds.sort(key=lambda d: float(d.ImagePositionPatient[2]))',
      'v = np.stack([apply_modality_lut(d.pixel_array, d) for d in ds]).astype(np.int16)',
      'sys.stdout.write(v.tobytes().hex())',
    ].join('\n'), join(dir, 'jpeg_extended_12bit')]);
    const ref = new Int16Array(new Uint8Array(Buffer.from(out, 'hex')).buffer);
    const v = readVolume(join(dir, 'jpeg_extended_12bit'));
    expect(ref.length).toBe(v.data.length);
    // Sorted by z (the crop's normal is +z), the same order as Osteon's volume.
    expect(sha(int16(v.data))).toBe(sha(ref));
  });
  it.each(lossy)('%s matches the reference decoder', (name) => {
    const g = golden[name];
    const v = readVolume(join(dir, name));
    expect(v.meta.TransferSyntaxUID).toBe(g.transfer_syntax);
    const ref = new Int16Array(new Uint8Array(readFileSync(join(dir, `${name}.reference.i16`))).buffer);
    const hu = int16(v.data);
    let worst = 0;
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(hu[i] - ref[i]));
    // Same standard, different implementations of the inverse transform: off by at most 1 HU.
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('enhanced CT: frames out of spatial order are placed by their per-frame positions', () => {
    const a = readVolume(join(dir, 'enhanced_ct', 'ct.dcm'));
    const b = readVolume(join(dir, 'explicit_le'));
    expect(a.dims).toEqual(b.dims);
    expect(sha(int16(a.data))).toBe(sha(int16(b.data)));
    a.origin.forEach((x, i) => expect(x).toBeCloseTo(b.origin[i], 4));
  });

  // The async reader converts to HU as files arrive (int16 when it fits, else float32 after
  // all): the same voxels and array type as the synchronous reader (float32: the 8-bit JPEG
  // with a fractional slope; int16: signed 12-bit JPEG-LS).
  it('the async reader equals the sync reader (values and array type)', async () => {
    for (const name of ['jpeg_baseline_8bit', 'signed_12bit_jpegls']) {
      const a = await readDicomSeriesAsync(join(dir, name), { threads: 2 });
      const b = readDicomSeries(join(dir, name));
      expect(a.data.constructor.name, name).toBe(b.data.constructor.name);
      expect(sha(int16(a.data)), name).toBe(sha(int16(b.data)));
    }
  });

  it('the async reader decodes in workers and reports progress per file', async () => {
    const seen: number[] = [];
    const v = await readDicomSeriesAsync(join(dir, 'j2k_lossless'), { threads: 2, onProgress: (p) => seen.push(p.done) });
    expect(seen).toEqual([1, 2, 3]);
    expect(sha(int16(v.data))).toBe(golden.j2k_lossless.sha256_int16);
  });
});

describe("pydicom's own test files", () => {
  const pd = join(fixtures, 'imaging', 'pydicom');
  // The lossless variants of one MR image (pydicom test_files/README.txt) decode to the same voxels.
  const variants = ['MR_small.dcm', 'MR_small_implicit.dcm', 'MR_small_bigendian.dcm', 'MR_small_expb.dcm', 'MR_small_RLE.dcm',
    'MR_small_jp2klossless.dcm', 'MR_small_jpeg_ls_lossless.dcm', 'MR_small_padded.dcm'];
  const ref = readDicomSeries(join(pd, 'MR_small.dcm'));
  it.each(variants)('%s equals MR_small', (name) => {
    const v = readDicomSeries(join(pd, name));
    expect(v.dims).toEqual([64, 64, 1]);
    // pydicom 2.3.1: pixel_array min 127, max 2145, sum 2125338 for every variant.
    let s = 0;
    for (const x of v.data) s += x;
    expect(s).toBe(2125338);
    expect(Array.from(v.data)).toEqual(Array.from(ref.data));
  });

  // JPEG-lossy.dcm (NEMA WG04 NM1_JPLY, 12-bit JPEG extended, no patient geometry, so stored
  // values only): pydicom 2.3.1 + GDCM gives min 0, max 264, sum 3767007, arr[420, 140] = 244 (the
  // value pydicom's own GDCM test checks). Cornerstone's jpeg.js gave 9, 279, 7671814, 259.
  it('JPEG-lossy.dcm (12-bit JPEG extended) equals pydicom + GDCM', async () => {
    const p = join(pd, 'JPEG-lossy.dcm');
    const f = parseDicom(p, readFileSync(p));
    const [s] = await storedFrames(f);
    let sum = 0, mn = Infinity, mx = -Infinity;
    for (const x of s) { sum += x; mn = Math.min(mn, x); mx = Math.max(mx, x); }
    expect([mn, mx, sum]).toEqual([0, 264, 3767007]);
    expect(s[420 * frameInfo(f).columns + 140]).toBe(244);
  });

  // pydicom 2.3.1 (+GDCM/Pillow) pixel_array · slope + intercept: min, max, sum.
  it.each([
    ['CT_small.dcm', -896, 1167, -1950906],
    ['693_J2KI.dcm', -3995, 1812, -270617240],
    ['J2K_pixelrep_mismatch.dcm', -2000, 1896, -172605258],
  ] as const)('%s', (name, lo, hi, sum) => {
    const v = readDicomSeries(join(pd, name));
    let s = 0, mn = Infinity, mx = -Infinity;
    for (const x of v.data) { s += x; mn = Math.min(mn, x); mx = Math.max(mx, x); }
    expect([mn, mx, s]).toEqual([lo, hi, sum]);
  });
});
