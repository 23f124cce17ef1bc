// The engine's data path: block extraction, batch sampling, splits and the U-Net's size.
// Parameter counts are those of the reference PyTorch U-Net (bench/reference/unet_ref.py):
// 481,813 for the 2D reference model and 350,493 for the 3D one.
import { tf } from '../../app/learning/backend.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import { extractTransformed } from '../../app/learning/data/affine2d.ts';
import { accumulateBlock, extractBlock } from '../../app/learning/data/block.ts';
import { makeTrainingCase, sliceSlab, splitBlocks, splitSlab, type TrainingCase } from '../../app/learning/data/case.ts';
import { Rng } from '../../app/learning/data/rng.ts';
import { sampleBatch, type SamplingConfig } from '../../app/learning/data/sampler.ts';
import { countParams, createParams, disposeParams, forward } from '../../app/learning/model/unet.ts';
import { makeLabelSet } from '../../app/labels/labelset.ts';
import { validateLabelSchema } from '../../app/labels/schema.ts';
import { IDENTITY3, type Geometry } from '../../app/imaging/volume.ts';

beforeAll(async () => { await tf.setBackend('cpu'); });

const schema = validateLabelSchema({
  schema: 'osteon-labels/1', name: 't', description: 'test', structures: [
    { id: 'w', name: 'W', colour: '#ffffff', role: 'whole', source: { kind: 'labelmap', values: [1, 2, 3] } },
    { id: 'a', name: 'A', colour: '#ff0000', role: 'part', source: { kind: 'labelmap', values: [1] } },
    { id: 'b', name: 'B', colour: '#00ff00', role: 'part', source: { kind: 'labelmap', values: [2] } },
  ],
});

/** A 6×5×4 case: part a in x<2, part b in x≥4, the whole also covers x 2..3 (a rim in no part). */
function tinyCase(id = 'c'): TrainingCase {
  const g: Geometry = { dims: [6, 5, 4], spacing: [1, 1, 2], origin: [0, 0, 0], direction: [...IDENTITY3] };
  const n = 6 * 5 * 4;
  const w = new Uint8Array(n), a = new Uint8Array(n), b = new Uint8Array(n);
  const img = new Float32Array(n);
  for (let v = 0; v < n; v++) {
    const x = v % 6, y = Math.floor(v / 6) % 5;
    img[v] = v;
    if (y >= 1 && y <= 3) { w[v] = 1; if (x < 2) a[v] = 1; if (x >= 4) b[v] = 1; }
  }
  return makeTrainingCase(id, g, img, makeLabelSet(schema, g, [w, a, b]), true);
}

describe('extractBlock', () => {
  it('copies a box in the requested axis order, fills outside, mirrors on request', () => {
    const c = tinyCase();
    const out = new Float32Array(2 * 3 * 1);
    // axes [row=j, col=i, slice=k]: rows j=1..2, cols i=4..6 (6 is outside), slice k=2.
    extractBlock(c.image, c.geometry.dims, { axes: [1, 0, 2], start: [1, 4, 2], size: [2, 3, 1] }, -9, out);
    const at = (i: number, j: number, k: number) => i + 6 * (j + 5 * k);
    expect(Array.from(out)).toEqual([at(4, 1, 2), at(5, 1, 2), -9, at(4, 2, 2), at(5, 2, 2), -9]);
    extractBlock(c.image, c.geometry.dims, { axes: [1, 0, 2], start: [1, 4, 2], size: [2, 3, 1], flip: [false, true, false] }, -9, out);
    expect(Array.from(out)).toEqual([-9, at(5, 1, 2), at(4, 1, 2), -9, at(5, 2, 2), at(4, 2, 2)]);
  });

  it('accumulateBlock puts a block back where extractBlock took it', () => {
    const c = tinyCase();
    const spec = { axes: [2, 1, 0] as [number, number, number], start: [-1, 0, 0] as [number, number, number], size: [6, 5, 6] as [number, number, number] };
    const block = new Float32Array(6 * 5 * 6);
    extractBlock(c.image, c.geometry.dims, spec, 0, block);
    const acc = new Float32Array(c.image.length), wsum = new Float32Array(c.image.length);
    accumulateBlock(block, c.geometry.dims, spec, acc, null, wsum);
    expect(Array.from(acc)).toEqual(Array.from(c.image));
    expect(wsum.every((w) => w === 1)).toBe(true);
  });
});

describe('sampleBatch', () => {
  const cfg: SamplingConfig = { spatialDims: 2, patch: [8, 8], context: 1, foregroundFraction: 1 / 3, flipAxes: [], jitterScale: 0, jitterShift: 0, rotationDeg: 0, scaleMax: 1, spatialProbability: 0 };

  it('is deterministic per seed and lays targets out channels-last', () => {
    const c = tinyCase();
    const a = sampleBatch([c], cfg, { head: 'sigmoid', fill: -1 }, new Rng(5), 6);
    const b = sampleBatch([c], cfg, { head: 'sigmoid', fill: -1 }, new Rng(5), 6);
    expect(Array.from(a.x)).toEqual(Array.from(b.x));
    expect(a.x.length).toBe(6 * 8 * 8 * 3);
    expect(a.multiHot!.length).toBe(6 * 8 * 8 * 3);
    // Multi-hot keeps overlap (whole and a part on one voxel), so it is never a one-hot.
    let overlap = 0;
    for (let q = 0; q < a.multiHot!.length; q += 3) if (a.multiHot![q] + a.multiHot![q + 1] + a.multiHot![q + 2] > 1) overlap++;
    expect(overlap).toBeGreaterThan(0);
  });

  it('gives the joint head a whole mask and an integer part map', () => {
    const c = tinyCase();
    const b = sampleBatch([c], cfg, { head: 'joint', fill: -1 }, new Rng(1), 4);
    expect(b.labels).toBeInstanceOf(Int32Array);
    expect(new Set(b.labels)).toEqual(new Set([0, 1, 2]));
    // Every labelled part voxel is inside the whole.
    for (let v = 0; v < b.labels!.length; v++) if (b.labels![v] > 0) expect(b.whole![v]).toBe(1);
  });

  it('samples exactly the block when the rotation is 0 and the scale 1', () => {
    const c = tinyCase();
    const a = new Float32Array(4 * 3 * 2), b = new Float32Array(4 * 3 * 2);
    extractBlock(c.image, c.geometry.dims, { axes: [1, 0, 2], start: [1, 2, 1], size: [4, 3, 2] }, -5, a);
    // Block centre (1.5, 1) maps to volume (row 2.5, col 3).
    extractTransformed(c.image, c.geometry.dims, { axes: [1, 0, 2], centre: [2.5, 3], angleRad: 0, scale: 1, flip: [false, false] }, [1, 2], [4, 3], -5, true, b, 0);
    expect(Array.from(b)).toEqual(Array.from(a));
  });

  it('rotates image and labels together and keeps labels integer', () => {
    const c = tinyCase();
    const b = sampleBatch([c], { ...cfg, context: 0, rotationDeg: 40, scaleMax: 1.2, spatialProbability: 1 }, { head: 'joint', fill: -1 }, new Rng(2), 8);
    for (const v of b.labels!) expect([0, 1, 2]).toContain(v);
    for (const v of b.whole!) expect([0, 1]).toContain(v);
    // Labelled part voxels stay inside the whole after the transform.
    for (let v = 0; v < b.labels!.length; v++) if (b.labels![v] > 0) expect(b.whole![v]).toBe(1);
  });

  it('centres at least a third of the samples on foreground', () => {
    const c = tinyCase();
    const big = { ...cfg, patch: [4, 4] };
    const b = sampleBatch([c], big, { head: 'sigmoid', fill: -1 }, new Rng(3), 30);
    let withFg = 0;
    for (let s = 0; s < 30; s++) {
      let any = 0;
      for (let v = 0; v < 16; v++) any += b.multiHot![(s * 16 + v) * 3];
      if (any > 0) withFg++;
    }
    expect(withFg).toBeGreaterThanOrEqual(10);
  });
});

describe('splitSlab', () => {
  it('splits along an axis with the origin of the second slab moved by the cut', () => {
    const c = tinyCase();
    const [a, b] = splitSlab(c, 2, 0.5);
    expect(a.geometry.dims).toEqual([6, 5, 2]);
    expect(b.geometry.dims).toEqual([6, 5, 2]);
    expect(b.geometry.origin).toEqual([0, 0, 4]);
    expect(b.image[0]).toBe(c.image[6 * 5 * 2]);
    expect(a.foreground.length + b.foreground.length).toBe(c.foreground.length);
  });

  it('cuts blocks: every third validates, ids name the slices, the voxels are the slices\' own', () => {
    const c = tinyCase();
    const [train, val] = splitBlocks(c, 2, 1, 3); // 4 slices → blocks 0,1 train, 2 validates, 3 trains
    expect(train.map((x) => x.id)).toEqual(['c:slab0-1', 'c:slab1-2', 'c:slab3-4']);
    expect(val.map((x) => x.id)).toEqual(['c:slab2-3']);
    const mid = sliceSlab(c, 2, 1, 3);
    expect(mid.geometry.dims).toEqual([6, 5, 2]);
    expect(mid.geometry.origin).toEqual([0, 0, 2]);
    expect([...mid.image]).toEqual([...c.image.subarray(30, 90)]);
  });
});

describe('U-Net', () => {
  it('has the reference model\'s parameter counts (PyTorch bench_unet.py) and keeps shapes', () => {
    const p2 = createParams({ spatialDims: 2, inChannels: 1, outChannels: 5, filters: [16, 32, 64, 128], normalization: 'none', seed: 1 });
    expect(countParams(p2)).toBe(481813);
    const y = tf.tidy(() => forward(p2, { spatialDims: 2, inChannels: 1, outChannels: 5, filters: [16, 32, 64, 128], normalization: 'none', seed: 1 }, tf.zeros([2, 16, 24, 1])));
    expect(y.shape).toEqual([2, 16, 24, 5]);
    y.dispose();
    disposeParams(p2);
    const p3 = createParams({ spatialDims: 3, inChannels: 1, outChannels: 5, filters: [8, 16, 32, 64], normalization: 'none', seed: 1 });
    expect(countParams(p3)).toBe(350493);
    disposeParams(p3);
  });

  it('refuses inputs that the poolings cannot halve', () => {
    const cfg = { spatialDims: 2 as const, inChannels: 1, outChannels: 2, filters: [4, 8], normalization: 'instance' as const, seed: 0 };
    const p = createParams(cfg);
    expect(() => tf.tidy(() => forward(p, cfg, tf.zeros([1, 7, 8, 1])))).toThrow(/multiple of 2/);
    disposeParams(p);
  });
});
