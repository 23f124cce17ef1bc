// Resampling and grid checks. Exact cases are derived by hand in the comments; the oblique case
// is compared with scipy.ndimage.map_coordinates (order 0 / order 1, prefilter off) on indices
// computed independently in numpy from the two affines (skipped visibly without scipy).
import { describe, expect, it } from 'vitest';
import { requireSameGrid, resample, resampleCt, resampleLabels } from '../../app/imaging/resample.ts';
import { describeGeometry, indexToWorldMatrix, type Geometry, type Mat3, type Volume } from '../../app/imaging/volume.ts';
import { OsteonError } from '../../app/util/errors.ts';
import { hasPythonModule, python, skipNotice } from '../helpers/env.ts';

const I3: Mat3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];

function vol(dims: [number, number, number], f: (i: number, j: number, k: number) => number, g: Partial<Geometry> = {}, type: 'int16' | 'float32' | 'uint8' = 'float32'): Volume {
  const n = dims[0] * dims[1] * dims[2];
  const data = type === 'int16' ? new Int16Array(n) : type === 'uint8' ? new Uint8Array(n) : new Float32Array(n);
  for (let k = 0; k < dims[2]; k++) for (let j = 0; j < dims[1]; j++) for (let i = 0; i < dims[0]; i++) data[i + dims[0] * (j + dims[1] * k)] = f(i, j, k);
  return { dims, spacing: [1, 1, 1], origin: [0, 0, 0], direction: I3, channels: 1, data, ...g };
}

describe('resample', () => {
  const src = vol([4, 3, 2], (i, j, k) => i + 10 * j + 100 * k, { spacing: [0.5, 2, 3], origin: [10, -5, 7] }, 'int16');

  it('identity grid: both interpolations return the voxels unchanged, without mutating the input', () => {
    const before = Array.from(src.data);
    expect(Array.from(resampleLabels(src, src).data)).toEqual(before);
    expect(Array.from(resampleCt(src, src).data)).toEqual(before);
    expect(Array.from(src.data)).toEqual(before);
    expect(resampleLabels(src, src).data).toBeInstanceOf(Int16Array);
    expect(resampleCt(src, src).data).toBeInstanceOf(Float32Array);
  });

  it('the same world grid stored with flipped i and j axes is an exact permutation', () => {
    // RAS-style storage of the same grid: direction diag(-1,-1,1), origin at the far corner.
    const flipped: Geometry = { dims: [4, 3, 2], spacing: [0.5, 2, 3], direction: [-1, 0, 0, 0, -1, 0, 0, 0, 1], origin: [10 + 1.5, -5 + 4, 7] };
    const out = resampleLabels(src, flipped);
    for (let k = 0; k < 2; k++) for (let j = 0; j < 3; j++) for (let i = 0; i < 4; i++) {
      expect(out.data[i + 4 * (j + 3 * k)]).toBe((3 - i) + 10 * (2 - j) + 100 * k);
    }
    expect(Array.from(resampleCt(src, flipped).data)).toEqual(Array.from(out.data));
  });

  it('half a voxel along i: linear averages neighbours; beyond the last voxel gets the fill value', () => {
    const shifted: Geometry = { dims: [4, 3, 2], spacing: [0.5, 2, 3], direction: I3, origin: [10.25, -5, 7] };
    const ct = resampleCt(src, shifted);
    expect(Array.from(ct.data.slice(0, 4))).toEqual([0.5, 1.5, 2.5, -1024]);
    const lab = resampleLabels(src, { ...shifted, origin: [10.3, -5, 7] });
    expect(Array.from(lab.data.slice(0, 4))).toEqual([1, 2, 3, 0]);
  });

  it('integer output from linear is rounded and clamped to the type', () => {
    const big = vol([2, 1, 1], (i) => (i === 0 ? 30000 : 32767), {}, 'int16');
    const out = resample(big, { ...big, dims: [3, 1, 1], origin: [-0.5, 0, 0] }, { interpolation: 'linear', fill: -40000, dtype: 'int16' });
    // Source x = -0.5 and 1.5 are outside [0, 1] → fill -40000 clamped to -32768; x = 0.5 → 31383.5 → 31384.
    expect(Array.from(out.data)).toEqual([-32768, 31384, -32768]);
  });

  const scipy = hasPythonModule('scipy.ndimage');
  if (!scipy) skipNotice('resample vs scipy', 'python3 scipy');
  it.skipIf(!scipy)('oblique target vs scipy map_coordinates', () => {
    const s = vol([7, 6, 5], (i, j, k) => Math.sin(i * 1.3) * 100 + j * j * 7 - k * 31 + ((i * 7 + j * 3 + k) % 5), { spacing: [1.1, 0.9, 2.0], origin: [-3, 2, 5] });
    const c = Math.cos(0.35), sn = Math.sin(0.35);
    const t: Geometry = { dims: [9, 8, 4], spacing: [0.83, 0.77, 2.3], direction: [c, 0, sn, 0, 1, 0, -sn, 0, c], origin: [-4.1, 1.3, 4.2] };
    const lin = resampleCt(s, t, -1000), nn = resampleLabels(s, t);
    const script = [
      'import sys, json, numpy as np; from scipy.ndimage import map_coordinates',
      'a = json.load(sys.stdin); d = np.array(a["data"], dtype=np.float64).reshape(a["sdims"], order="F")',
      'S = np.array(a["S"]).reshape(4, 4); T = np.array(a["T"]).reshape(4, 4)',
      'ii = np.indices(a["tdims"]).reshape(3, -1, order="F"); hom = np.vstack([ii, np.ones(ii.shape[1])])',
      'src = (np.linalg.inv(S) @ T @ hom)[:3]',
      'inside = np.all((src > -1e-6) & (src < np.array(a["sdims"])[:, None] - 1 + 1e-6), axis=0)',
      'lin = map_coordinates(d, src, order=1, mode="nearest", prefilter=False); lin[~inside] = -1000',
      'r = np.round(src).astype(int); ok = np.all((r >= 0) & (r < np.array(a["sdims"])[:, None]), axis=0)',
      'nn = np.zeros(ii.shape[1]); rc = np.clip(r, 0, np.array(a["sdims"])[:, None] - 1); nn[ok] = d[rc[0], rc[1], rc[2]][ok]',
      'print(json.dumps({"lin": lin.tolist(), "nn": nn.tolist(), "inside": int(inside.sum())}))',
    ].join('\n');
    const ref = JSON.parse(python(['-c', script], JSON.stringify({ data: Array.from(s.data), sdims: s.dims, tdims: t.dims, S: indexToWorldMatrix(s), T: indexToWorldMatrix(t) }))) as { lin: number[]; nn: number[]; inside: number };
    expect(ref.inside).toBeGreaterThan(50); // partly inside, partly outside the source
    ref.lin.forEach((x, i) => expect(lin.data[i]).toBeCloseTo(x, 3));
    expect(Array.from(nn.data)).toEqual(ref.nn.map((x) => Math.fround(x)));
  });
});

describe('requireSameGrid', () => {
  const a = vol([4, 3, 2], () => 0);
  it('accepts the same grid and refuses another, naming both files and both geometries', () => {
    expect(() => requireSameGrid(a, { ...a }, 'ct.nii.gz', 'labels.nii.gz')).not.toThrow();
    const b = { ...a, spacing: [1, 1, 1.5] as [number, number, number] };
    try {
      requireSameGrid(a, b, '/x/ct.nii.gz', '/x/labels.nii.gz');
      throw new Error('expected a mismatch');
    } catch (e) {
      const err = e as OsteonError;
      expect(err).toBeInstanceOf(OsteonError);
      expect(err.code).toBe('mismatch');
      expect(err.file).toBe('/x/labels.nii.gz');
      expect(err.message).toMatch(/^\/x\/labels\.nii\.gz: geometry: grid does not match \S*ct\.nii\.gz/);
      expect(err.message).toContain(describeGeometry(a));
      expect(err.message).toContain(describeGeometry(b));
    }
  });
});
