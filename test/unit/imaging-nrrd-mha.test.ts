// NRRD and MetaImage read/write. References: the dcmqi NRRD labels against their NIfTI twin
// (made by the data curator with nibabel from the same voxels, test/fixtures/imaging/PROVENANCE.md;
// label counts 107098 liver / 12439 spine from ../shared/data/dcmqi-ct3slice-spine/PROVENANCE.md),
// and hand-written headers whose expected geometry is derived in the comments.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { DTYPES, allocate, dtypeOf, type DType } from '../../app/imaging/dtype.ts';
import { readVolume, writeVolume } from '../../app/imaging/io.ts';
import { writeNrrd } from '../../app/imaging/nrrd.ts';
import { axisCodes, indexToWorldMatrix, sameGrid, type Volume } from '../../app/imaging/volume.ts';
import { fixtures } from '../helpers/env.ts';
import { differing } from '../fixtures/imaging/golden.ts';

const dcmqi = join(fixtures, 'imaging', 'dcmqi');
const tmp = mkdtempSync(join(tmpdir(), 'osteon-nrrd-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function count(v: Volume, value: number): number {
  let n = 0;
  for (let i = 0; i < v.data.length; i++) if (v.data[i] === value) n++;
  return n;
}

describe('NRRD: dcmqi labels equal their NIfTI twin', () => {
  const nii = readVolume(join(dcmqi, 'liver_spine_seg.nii.gz'));
  it('liver_spine_seg.nrrd (int16, gzip, LPS)', () => {
    const v = readVolume(join(dcmqi, 'liver_spine_seg.nrrd'));
    expect(v.format).toBe('nrrd');
    expect(dtypeOf(v.data)).toBe('int16');
    expect(sameGrid(v, nii)).toBe(true);
    expect(differing(v, nii)).toBe(0);
    expect([count(v, 1), count(v, 2)]).toEqual([107098, 12439]);
  });
  it('spine_seg.nrrd holds label 2 only, on the same voxels', () => {
    const v = readVolume(join(dcmqi, 'spine_seg.nrrd'));
    expect(sameGrid(v, nii)).toBe(true);
    expect(differing(v, { ...nii, data: nii.data.map((x) => (x === 2 ? 2 : 0)) })).toBe(0);
    expect(count(v, 2)).toBe(12439);
  });
});

describe('NRRD: Slicer .seg.nrrd with overlapping segments in layers', () => {
  // 2 layers × 3×2×2 voxels, layer axis FIRST (fastest), as Slicer writes it; space RAS.
  // LPS direction = diag(-1,-1,1) · RAS directions; LPS origin = (-10, -20, 30).
  const layerFirst = [1, 0, 1, 0, 0, 3, 1, 0, 0, 0, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  const header = [
    'NRRD0004', '# Complete NRRD file format specification at:', 'type: unsigned char', 'dimension: 4',
    'space: right-anterior-superior', 'sizes: 2 3 2 2', 'space directions: none (0.5,0,0) (0,0.75,0) (0,0,2)',
    'kinds: list domain domain domain', 'encoding: gzip', 'space origin: (10,20,30)',
    'Segment0_ID:=Segment_1', 'Segment0_LabelValue:=1', 'Segment0_Layer:=0', 'Segment0_Name:=vertebra L1',
    'Segment1_ID:=Segment_2', 'Segment1_LabelValue:=3', 'Segment1_Layer:=1', 'Segment1_Name:=L1 body',
    'Segment1_Color:=0.5 0.5 0.2', '',
  ].join('\n') + '\n';
  const f = join(tmp, 'test.seg.nrrd');
  writeFileSync(f, Buffer.concat([Buffer.from(header), gzipSync(Buffer.from(layerFirst))]));
  const v = readVolume(f);
  it('moves the layer axis to channels and converts RAS to LPS', () => {
    expect(v.dims).toEqual([3, 2, 2]);
    expect(v.channels).toBe(2);
    expect(indexToWorldMatrix(v).slice(0, 12)).toEqual([-0.5, 0, 0, -10, 0, -0.75, 0, -20, 0, 0, 2, 30]);
    const n = 12;
    for (let s = 0; s < n; s++) for (let c = 0; c < 2; c++) expect(v.data[c * n + s]).toBe(layerFirst[s * 2 + c]);
  });
  it('exposes Segment{N}_* as segments and keeps the other key/values', () => {
    expect(v.segments).toEqual([
      { index: 0, id: 'Segment_1', name: 'vertebra L1', labelValue: 1, layer: 0 },
      { index: 1, id: 'Segment_2', name: 'L1 body', labelValue: 3, layer: 1 },
    ]);
    expect(v.meta.Segment1_Color).toBe('0.5 0.5 0.2');
  });
  it('writes segments back and reads the same volume', () => {
    const out = join(tmp, 'back.seg.nrrd');
    writeNrrd(out, v, { segments: v.segments });
    const w = readVolume(out);
    expect(w.segments).toEqual(v.segments);
    expect(Array.from(w.data)).toEqual(Array.from(v.data));
    expect(sameGrid(w, v)).toBe(true);
  });
});

describe('NRRD: detached header, raw big-endian data, spacings only', () => {
  it('reads .nhdr + .raw', () => {
    const data = Buffer.alloc(2 * 2 * 2 * 2);
    for (let i = 0; i < 8; i++) data.writeInt16BE(i * 1000 - 3000, i * 2);
    writeFileSync(join(tmp, 'x.raw'), data);
    writeFileSync(join(tmp, 'x.nhdr'), 'NRRD0004\ntype: short\ndimension: 3\nsizes: 2 2 2\nspacings: 1.5 2 3\nendian: big\nencoding: raw\ndata file: x.raw\n');
    const v = readVolume(join(tmp, 'x.nhdr'));
    expect(Array.from(v.data)).toEqual([-3000, -2000, -1000, 0, 1000, 2000, 3000, 4000]);
    expect(v.spacing).toEqual([1.5, 2, 3]);
    expect(v.warnings.join()).toMatch(/assuming LPS/);
  });
});

describe('MetaImage: ITK-style .mha with a PIR TransformMatrix', () => {
  // The TPTBox CT is PIR: LPS index→world columns (0,1.5,0), (0,0,-1.5), (-1.5,0,0), origin
  // (78,135,-34.2). ITK writes TransformMatrix as the direction of axis 0, then 1, then 2.
  const ct = readVolume(join(fixtures, 'imaging', 'tptbox', 'sub-ct_label-22_ct.nii.gz'));
  it('reads the same geometry and voxels as the NIfTI', () => {
    const body = deflateSync(Buffer.from(ct.data.buffer, ct.data.byteOffset, ct.data.byteLength));
    const header = [
      'ObjectType = Image', 'NDims = 3', 'BinaryData = True', 'BinaryDataByteOrderMSB = False', 'CompressedData = True',
      `CompressedDataSize = ${body.length}`, 'TransformMatrix = 0 1 0 0 0 -1 -1 0 0', 'Offset = 78 135 -34.2',
      'CenterOfRotation = 0 0 0', 'AnatomicalOrientation = PIR', 'ElementSpacing = 1.5 1.5 1.5', 'DimSize = 73 47 73',
      'ElementType = MET_SHORT', 'ElementDataFile = LOCAL',
    ].join('\n') + '\n';
    const f = join(tmp, 'ct.mha');
    writeFileSync(f, Buffer.concat([Buffer.from(header), body]));
    const v = readVolume(f);
    expect(axisCodes(v).join('')).toBe('PIR');
    expect(sameGrid(v, ct)).toBe(true);
    expect(Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength).equals(Buffer.from(ct.data.buffer, ct.data.byteOffset, ct.data.byteLength))).toBe(true);
  });
});

function synthetic(t: DType, channels: number): Volume {
  const dims: [number, number, number] = [4, 3, 2];
  const n = 24 * channels;
  const data = allocate(t, n);
  for (let i = 0; i < n; i++) data[i] = t === 'int8' || t === 'int16' || t === 'int32' || t.startsWith('float') ? i * 3 - 40 : i * 5;
  const c = Math.cos(0.4), s = Math.sin(0.4);
  return { dims, spacing: [0.7, 0.8, 2.5], origin: [1.25, -7.5, 33], direction: [1, 0, 0, 0, c, -s, 0, s, c], data, channels };
}

describe('round trips', () => {
  const cases = DTYPES.flatMap((t) => ['.nrrd', '.mha'].flatMap((e) => [[t, e, 1], [t, e, 3]] as Array<[DType, string, number]>));
  it.each(cases)('%s %s channels=%i', (t, ext, channels) => {
    const v = synthetic(t, channels);
    const f = join(tmp, `rt-${t}-${channels}${ext}`);
    writeVolume(f, v);
    const w = readVolume(f);
    expect(dtypeOf(w.data)).toBe(t);
    expect(w.channels).toBe(channels);
    expect(Array.from(w.data)).toEqual(Array.from(v.data));
    expect(sameGrid(w, v, 1e-9)).toBe(true);
  });
});
