// NIfTI read/write against nibabel. Golden values: test/fixtures/imaging/variants/golden.json
// and test/fixtures/imaging/golden.json, written by scripts/reference/imaging_variants.py and
// scripts/reference/imaging_golden.py (nibabel 5.0.0, np.asarray(img.dataobj), affine
// converted to LPS with diag(-1,-1,1)). The fixtures are committed, so these run on a fresh clone.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DTYPES, allocate, dtypeOf, type DType } from '../../app/imaging/dtype.ts';
import { readVolume, writeVolume } from '../../app/imaging/io.ts';
import { encodeNifti, readNifti } from '../../app/imaging/nifti.ts';
import { axisCodes, indexToWorldMatrix, sameGrid, type Mat3, type Volume } from '../../app/imaging/volume.ts';
import { OsteonError } from '../../app/util/errors.ts';
import { fixtures, hasPythonModule, python, skipNotice } from '../helpers/env.ts';
import { expectGolden, loadGolden, voxelHash } from '../fixtures/imaging/golden.ts';

const variants = join(fixtures, 'imaging', 'variants');
const tmp = mkdtempSync(join(tmpdir(), 'osteon-nifti-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('readNifti: header variants written by nibabel', () => {
  const golden = loadGolden('variants/golden.json');
  const readable = Object.keys(golden).filter((f) => f !== 'heavy_shear.nii.gz');
  it.each(readable)('%s', (name) => {
    const g = golden[name];
    const v = readNifti(join(variants, name));
    if (name.startsWith('scaled')) {
      expect(dtypeOf(v.data)).toBe('float32'); // slope 0.5, inter -10 → float32 (nibabel: float64)
      expectGolden(v, g, { exact: false, tol: 1e-4 });
    } else {
      // Orthonormalising the slightly sheared affine moves its columns by ~1e-3 mm.
      expectGolden(v, g, { affineTol: name === 'slight_shear.nii.gz' ? 2 : 4 });
    }
    expect(v.format).toBe(name.startsWith('nifti2') ? 'nifti2' : 'nifti1');
    if (name === 'slight_shear.nii.gz') expect(v.warnings.join()).toMatch(/not quite orthogonal/);
    if (name === 'method1.nii') expect(v.meta.xform).toBe('pixdim');
    if (name === 'sform_wins.nii.gz') expect(axisCodes(v).join('')).toBe('PIR');
    if (name === 'qform_only_lefthanded.nii.gz') expect(v.meta.xform).toBe('qform');
  });

  it('refuses a heavily sheared sform with an unsupported error naming the field', () => {
    const f = join(variants, 'heavy_shear.nii.gz');
    expect(() => readNifti(f)).toThrow(OsteonError);
    try { readNifti(f); } catch (e) {
      expect((e as OsteonError).code).toBe('unsupported');
      expect((e as OsteonError).field).toBe('sform');
      expect((e as Error).message).toMatch(/^\/\S+\/heavy_shear\.nii\.gz: sform: the axes are sheared by 1\d\.\d\d°/);
    }
  });
});

describe('readNifti: committed real data (TPTBox PIR CT + masks, dcmqi label)', () => {
  const golden = loadGolden('golden.json');
  const table: Array<[string, string]> = [
    ['tptbox/sub-ct_label-22_ct.nii.gz', 'tptbox-lumbar-subregions/sub-ct_label-22_ct.nii.gz'],
    ['tptbox/sub-ct_seg-vert_label-22_msk.nii.gz', 'tptbox-lumbar-subregions/sub-ct_seg-vert_label-22_msk.nii.gz'],
    ['tptbox/sub-ct_seg-subreg_label-22_msk.nii.gz', 'tptbox-lumbar-subregions/sub-ct_seg-subreg_label-22_msk.nii.gz'],
    ['dcmqi/liver_spine_seg.nii.gz', 'dcmqi-ct3slice-spine/liver_spine_seg.nii.gz'],
  ];
  it.each(table)('%s', (rel, key) => {
    const v = readVolume(join(fixtures, 'imaging', rel));
    expectGolden(v, golden[key]);
    if (rel.startsWith('tptbox')) expect(axisCodes(v).join('')).toBe('PIR');
  });
});

/** A small oblique, left-handed volume whose voxels span the whole range of `t`. */
function synthetic(t: DType, channels = 1): Volume {
  const dims: [number, number, number] = [5, 4, 3];
  const n = dims[0] * dims[1] * dims[2] * channels;
  const data = allocate(t, n);
  const ranges: Record<DType, [number, number]> = {
    uint8: [0, 255], int8: [-128, 127], int16: [-32768, 32767], uint16: [0, 65535],
    int32: [-2147483648, 2147483647], uint32: [0, 4294967295], float32: [-3.4e38, 3.4e38], float64: [-1e300, 1e300],
  };
  const [lo, hi] = ranges[t];
  for (let i = 0; i < n; i++) data[i] = i === 0 ? lo : i === n - 1 ? hi : t.startsWith('float') ? (i - n / 2) * 1.37 : (i * 7919) % Math.min(hi - lo, 1e6) + lo;
  const c = Math.cos(0.3), s = Math.sin(0.3);
  const direction: Mat3 = [c, -s, 0, s, c, 0, 0, 0, -1]; // rotated about z, third axis flipped
  return { dims, spacing: [0.7, 0.8, 2.5], origin: [-12.5, 40.25, -100], direction, data, channels };
}

describe('writeNifti → readNifti round trip', () => {
  const cases = DTYPES.flatMap((t) => [[t, '.nii.gz'], [t, '.nii']] as Array<[DType, string]>);
  it.each(cases)('%s %s is lossless, geometry within float32', (t, ext) => {
    const v = synthetic(t);
    const f = join(tmp, `rt-${t}${ext}`);
    writeVolume(f, v);
    const w = readVolume(f);
    expect(dtypeOf(w.data)).toBe(t);
    expect(Array.from(w.data)).toEqual(Array.from(v.data));
    expect(w.dims).toEqual(v.dims);
    const a = indexToWorldMatrix(v), b = indexToWorldMatrix(w);
    a.forEach((x, i) => expect(b[i]).toBeCloseTo(x, 4));
  });

  it('keeps channels as dim[4]', () => {
    const v = synthetic('uint8', 3);
    const f = join(tmp, 'rt-4d.nii.gz');
    writeVolume(f, v);
    const w = readVolume(f);
    expect(w.channels).toBe(3);
    expect(voxelHash(w)).toBe(voxelHash(v));
  });

  const nibabel = hasPythonModule('nibabel');
  if (!nibabel) skipNotice('nibabel read-back', 'python3 nibabel');
  it.skipIf(!nibabel)('writes sform and qform that nibabel reads back as the same affine and voxels', () => {
    const results: Record<string, unknown> = {};
    for (const t of DTYPES) {
      const v = synthetic(t, t === 'uint8' ? 2 : 1);
      const f = join(tmp, `nib-${t}.nii.gz`);
      writeVolume(f, v);
      results[t] = { file: f, affine: indexToWorldMatrix(v).slice(0, 12), hash: voxelHash(v) };
    }
    const script = [
      'import sys, json, hashlib, numpy as np, nibabel as nib',
      'cases = json.load(sys.stdin); out = {}',
      'for t, c in cases.items():',
      '  im = nib.load(c["file"]); a = np.diag([-1., -1., 1., 1.]) @ im.affine',
      '  q = np.diag([-1., -1., 1., 1.]) @ im.get_qform()',
      '  arr = np.asarray(im.dataobj); le = arr.astype(arr.dtype.newbyteorder("<"))',
      '  out[t] = {"dtype": arr.dtype.name, "affine": a[:3].reshape(-1).tolist(), "qform": q[:3].reshape(-1).tolist(),',
      '            "hash": hashlib.sha256(le.tobytes(order="F")).hexdigest(), "codes": [int(im.header["sform_code"]), int(im.header["qform_code"])]}',
      'print(json.dumps(out))',
    ].join('\n');
    const got = JSON.parse(python(['-c', script], JSON.stringify(results))) as Record<string, { dtype: string; affine: number[]; qform: number[]; hash: string; codes: number[] }>;
    for (const t of DTYPES) {
      const want = results[t] as { affine: number[]; hash: string };
      expect(got[t].dtype).toBe(t);
      expect(got[t].hash).toBe(want.hash);
      expect(got[t].codes).toEqual([1, 1]);
      want.affine.forEach((x, i) => expect(got[t].affine[i]).toBeCloseTo(x, 4));
      want.affine.forEach((x, i) => expect(got[t].qform[i]).toBeCloseTo(x, 4));
    }
  });

  it('does not modify the source bytes when reading', () => {
    const f = join(fixtures, 'imaging', 'variants', 'bigendian_int16.nii');
    const before = readFileSync(f);
    readNifti(f);
    expect(readFileSync(f).equals(before)).toBe(true);
  });
});

describe('readNifti: .hdr/.img pair', () => {
  it('reads the image file beside the header (magic ni1, vox_offset 0)', () => {
    const v = synthetic('int16');
    const bytes = encodeNifti(v);
    const hdr = Buffer.from(bytes.subarray(0, 348));
    hdr.write('ni1\0', 344, 'latin1');
    hdr.writeFloatLE(0, 108);
    writeFileSync(join(tmp, 'pair.hdr'), hdr);
    writeFileSync(join(tmp, 'pair.img'), bytes.subarray(352));
    const w = readVolume(join(tmp, 'pair.hdr'));
    expect(Array.from(w.data)).toEqual(Array.from(v.data));
    expect(sameGrid(w, v, 1e-4)).toBe(true);
  });
});
