// Whole-volume prediction streamed slab by slab (app/learning/predict.ts predictSlabs) and blended
// by window-accumulate.ts (native in the oneDNN addon, JS otherwise). The reference is the
// previous, unstreamed algorithm, written out below from the code it replaced: tfjs computes the
// head's probabilities (structureProbs), the block is mirrored back in JS and added into
// whole-volume float32 accumulators with data/block.ts accumulateBlock, then divided by the
// summed weights. Small volumes and batch size 1, so a prediction goes through many slabs.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../app/learning/backend.ts';
import type { TrainConfig } from '../../app/learning/config.ts';
import { accumulateBlock, extractBlock, type BlockSpec } from '../../app/learning/data/block.ts';
import { axialAxis } from '../../app/learning/data/case.ts';
import { normalize, normalizeInto, type Normalization } from '../../app/learning/data/normalize.ts';
import type { HeadConfig } from '../../app/learning/heads.ts';
import { predictCt, type LoadedModel } from '../../app/learning/infer.ts';
import { createParams, disposeParams, forward, sizeMultiple, type Params, type UNetConfig } from '../../app/learning/model/unet.ts';
import { loadNative } from '../../app/learning/native/addon.ts';
import { binarize, predictSlabs, predictVolume, structureProbs, type PredictOptions } from '../../app/learning/predict.ts';
import { accumulateWindows, HEAD_MODE, nativeAccumulateActive, normalizeWeights, structuresOf, useNativeAccumulate, type AccumulateSpec, type HeadMode } from '../../app/learning/window-accumulate.ts';
import { IDENTITY3, type Geometry } from '../../app/imaging/volume.ts';

const native = loadNative();
const addon = native.addon;

beforeAll(async () => { await initBackend(); });
afterAll(() => { useNativeAccumulate(addon); });

function geometryOf(dims: [number, number, number]): Geometry {
  return { dims, spacing: [1, 1, 2], origin: [0, 0, 0], direction: [...IDENTITY3] };
}

function volume(dims: [number, number, number]): Float32Array {
  const n = dims[0] * dims[1] * dims[2];
  return Float32Array.from({ length: n }, (_, v) => Math.sin(v * 0.37) + (v % dims[0]) / dims[0]);
}

function gaussianWeights(size: number[]): Float32Array {
  const w = new Float32Array(size[0] * size[1] * size[2]);
  const g = size.map((n) => {
    const sigma = n / 8, c = (n - 1) / 2;
    return Float32Array.from({ length: n }, (_, i) => Math.exp(-((i - c) ** 2) / (2 * sigma * sigma)));
  });
  let q = 0;
  for (let a = 0; a < size[0]; a++) for (let b = 0; b < size[1]; b++) for (let c = 0; c < size[2]; c++) w[q++] = Math.max(g[0][a] * g[1][b] * g[2][c], 1e-3);
  return w;
}

function flipBlock(src: Float32Array, size: number[], ch: number, flip: boolean[]): Float32Array {
  if (!flip.some(Boolean)) return src;
  const out = new Float32Array(src.length);
  const [s0, s1, s2] = size;
  for (let a = 0; a < s0; a++) for (let b = 0; b < s1; b++) for (let c = 0; c < s2; c++) {
    const fa = flip[0] ? s0 - 1 - a : a, fb = flip[1] ? s1 - 1 - b : b, fc = flip[2] ? s2 - 1 - c : c;
    const from = ((a * s1 + b) * s2 + c) * ch, to = ((fa * s1 + fb) * s2 + fc) * ch;
    for (let k = 0; k < ch; k++) out[to + k] = src[from + k];
  }
  return out;
}

function windowStarts(dim: number, size: number, step: number): number[] {
  if (size >= dim) return [Math.floor((dim - size) / 2)];
  const n = Math.ceil((dim - size) / step) + 1;
  return Array.from({ length: n }, (_, i) => Math.round((i * (dim - size)) / (n - 1)));
}

/** The previous predictVolume: whole-volume accumulators, tfjs activations, JS blending. */
async function unstreamed(params: Params, model: UNetConfig, head: HeadConfig, image: Float32Array, geometry: Geometry, opts: PredictOptions): Promise<Float32Array[]> {
  const dims = geometry.dims as [number, number, number];
  const nvox = dims[0] * dims[1] * dims[2];
  const S = head.kind === 'softmax' ? head.classes - 1 + (opts.hasWhole ? 1 : 0) : head.kind === 'joint' ? head.parts + 1 : head.channels;
  const acc = Array.from({ length: S }, () => new Float32Array(nvox));
  const wsum = new Float32Array(nvox);
  const m = sizeMultiple(model);
  const jobs: Array<{ spec: BlockSpec; out: BlockSpec; flip: boolean[] }> = [];
  let inSize: [number, number, number], outSize: [number, number, number], weights: Float32Array | null = null;
  const flips: boolean[][] = [[false, false, false]];
  if (model.spatialDims === 2) {
    const s = axialAxis(geometry);
    const others = [0, 1, 2].filter((a) => a !== s);
    const axes: [number, number, number] = [others[1], others[0], s];
    const H = Math.ceil(dims[axes[0]] / m) * m, W = Math.ceil(dims[axes[1]] / m) * m;
    inSize = [H, W, 2 * opts.context + 1];
    outSize = [H, W, 1];
    const r0 = Math.floor((dims[axes[0]] - H) / 2), c0 = Math.floor((dims[axes[1]] - W) / 2);
    for (const a of opts.ttaFlipAxes ?? []) { const b = axes.indexOf(a); if (b === 0 || b === 1) { const f = [false, false, false]; f[b] = true; flips.push(f); } }
    for (let t = 0; t < dims[s]; t++) for (const f of flips) {
      jobs.push({ spec: { axes, start: [r0, c0, t - opts.context], size: inSize, flip: [f[0], f[1], false] }, out: { axes, start: [r0, c0, t], size: outSize }, flip: f });
    }
  } else {
    const axes: [number, number, number] = [2, 1, 0];
    const patch = opts.patch ?? [64, 64, 64];
    inSize = [patch[0], patch[1], patch[2]];
    outSize = inSize;
    weights = gaussianWeights(inSize);
    const overlap = opts.overlap ?? 0.5;
    const starts = axes.map((a, b) => windowStarts(dims[a], inSize[b], Math.max(1, Math.round(inSize[b] * (1 - overlap)))));
    for (const a of opts.ttaFlipAxes ?? []) { const b = axes.indexOf(a); const f = [false, false, false]; f[b] = true; flips.push(f); }
    for (const z of starts[0]) for (const y of starts[1]) for (const x of starts[2]) for (const f of flips) {
      jobs.push({ spec: { axes, start: [z, y, x], size: inSize, flip: f as [boolean, boolean, boolean] }, out: { axes, start: [z, y, x], size: outSize }, flip: f });
    }
  }
  const batchSize = opts.batchSize ?? 4;
  const inVol = inSize[0] * inSize[1] * inSize[2], outVol = outSize[0] * outSize[1] * outSize[2];
  for (let j0 = 0; j0 < jobs.length; j0 += batchSize) {
    const batch = jobs.slice(j0, j0 + batchSize);
    const x = new Float32Array(batch.length * inVol);
    batch.forEach((job, b) => extractBlock(image, dims, job.spec, opts.fill, x, b * inVol));
    const shape = model.spatialDims === 2 ? [batch.length, ...inSize] : [batch.length, ...inSize, 1];
    const probs = tf.tidy(() => structureProbs(forward(params, model, tf.tensor(x, shape)), head, opts.hasWhole));
    const p = (await probs.data()) as Float32Array;
    probs.dispose();
    batch.forEach((job, b) => {
      const block = flipBlock(p.subarray(b * outVol * S, (b + 1) * outVol * S), outSize, S, job.flip);
      for (let k = 0; k < S; k++) accumulateBlock(block, dims, job.out, acc[k], weights, k === 0 ? wsum : null, S, k);
    });
  }
  for (let v = 0; v < nvox; v++) {
    const w = wsum[v];
    if (w > 0 && w !== 1) for (let k = 0; k < S; k++) acc[k][v] /= w;
  }
  return acc;
}

function maxDiff(a: Float32Array[], b: Float32Array[]): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  a.forEach((x, k) => {
    expect(x.length).toBe(b[k].length);
    for (let v = 0; v < x.length; v++) worst = Math.max(worst, Math.abs(x[v] - b[k][v]));
  });
  return worst;
}

interface Case { name: string; model: UNetConfig; head: HeadConfig; dims: [number, number, number]; opts: PredictOptions }

const cases: Case[] = [
  {
    name: '2D joint head, 2.5D context, flip TTA', model: { spatialDims: 2, inChannels: 3, outChannels: 5, filters: [4, 8], normalization: 'none', seed: 3 },
    head: { kind: 'joint', parts: 3, posWeight: 3, a: 1, b: 1, c: 0 }, dims: [12, 10, 9], opts: { context: 1, fill: -1, hasWhole: true, ttaFlipAxes: [0], batchSize: 1 },
  },
  {
    name: '2D softmax head without a whole, batch 3', model: { spatialDims: 2, inChannels: 1, outChannels: 4, filters: [4, 8], normalization: 'none', seed: 4 },
    head: { kind: 'softmax', classes: 4 }, dims: [11, 9, 8], opts: { context: 0, fill: -1, hasWhole: false, batchSize: 3 },
  },
  {
    name: '3D sigmoid head, Gaussian-blended windows with flip TTA', model: { spatialDims: 3, inChannels: 1, outChannels: 3, filters: [2, 4], normalization: 'none', seed: 1 },
    head: { kind: 'sigmoid', channels: 3 }, dims: [13, 11, 21], opts: { context: 0, patch: [8, 8, 8], overlap: 0.5, fill: -1, hasWhole: true, ttaFlipAxes: [2], batchSize: 1 },
  },
  {
    name: '3D softmax head with a whole, batch 3 (batches straddle window rows)', model: { spatialDims: 3, inChannels: 1, outChannels: 4, filters: [2, 4], normalization: 'none', seed: 2 },
    head: { kind: 'softmax', classes: 4 }, dims: [10, 12, 19], opts: { context: 0, patch: [8, 8, 8], overlap: 0.5, fill: -1, hasWhole: true, batchSize: 3 },
  },
];

describe('streamed whole-volume prediction', () => {
  for (const c of cases) {
    it(`equals the previous unstreamed prediction: ${c.name}`, async () => {
      const p = createParams(c.model);
      const geometry = geometryOf(c.dims);
      const image = volume(c.dims);
      const before = await unstreamed(p, c.model, c.head, image, geometry, c.opts);
      const slabs: Array<[number, number]> = [];
      const after = await predictVolume(p, c.model, c.head, image, geometry, c.opts);
      await predictSlabs(p, c.model, c.head, image, geometry, c.opts, (z0, z1) => { slabs.push([z0, z1]); });
      // The slabs tile volume axis 2 in order, several of them.
      expect(slabs[0][0]).toBe(0);
      slabs.forEach(([z0, z1], i) => { expect(z1).toBeGreaterThan(z0); if (i > 0) expect(z0).toBe(slabs[i - 1][1]); });
      expect(slabs[slabs.length - 1][1]).toBe(c.dims[2]);
      expect(slabs.length).toBeGreaterThan(2);
      // The activations now run in float32 C++ or JS instead of tfjs: equal to float32 rounding.
      expect(maxDiff(after, before)).toBeLessThan(2e-6);
      // And the JS blending gives what the native one gives.
      if (addon) {
        useNativeAccumulate(null);
        const js = await predictVolume(p, c.model, c.head, image, geometry, c.opts);
        useNativeAccumulate(addon);
        expect(maxDiff(js, after)).toBeLessThan(1e-6);
      }
      disposeParams(p);
    });
  }

  it('reads raw HU a slab at a time and normalises them as the whole-volume normalisation does', async () => {
    const c = cases[2];
    const p = createParams(c.model);
    const geometry = geometryOf(c.dims);
    const hu = Int16Array.from(volume(c.dims), (x) => Math.round(x * 700));
    const norm: Normalization = { windowHu: [-1000, 2000], mean: 40, std: 420 };
    const whole = await predictVolume(p, c.model, c.head, normalize(hu, norm), geometry, c.opts);
    const parts: Float32Array[] = whole.map((w) => new Float32Array(w.length));
    const plane = c.dims[0] * c.dims[1];
    await predictSlabs(p, c.model, c.head, { raw: hu, map: (raw, from, to, out, at) => normalizeInto(raw, from, to, norm, out, at) }, geometry, c.opts, (z0, _z1, probs) => {
      probs.forEach((q, k) => parts[k].set(q, z0 * plane));
    });
    expect(maxDiff(parts, whole)).toBe(0);
    disposeParams(p);
  });

  it('predictCt: masks from streamed slabs equal thresholding the whole probability volumes', async () => {
    const model: UNetConfig = { spatialDims: 2, inChannels: 1, outChannels: 4, filters: [4, 8], normalization: 'none', seed: 7 };
    const head: HeadConfig = { kind: 'sigmoid', channels: 4 };
    const dims: [number, number, number] = [12, 10, 9];
    const norm: Normalization = { windowHu: [-1000, 2000], mean: 0, std: 500 };
    const params = createParams(model);
    const config = { model, head, normalization: norm, sampling: { context: 0 }, layout: { ids: ['whole', 'a', 'b', 'c'], hasWhole: true } } as unknown as TrainConfig;
    const loaded: LoadedModel = { runDir: '(in memory)', config, params, checkpoint: '(in memory)', plan: null, calibration: null };
    const hu = Int16Array.from(volume(dims), (x) => Math.round(x * 600));
    const geometry = geometryOf(dims);
    const th = [0.5, 0.45, 0.5, 0.55];
    const pr = await predictCt(loaded, hu, geometry, { postprocess: 'none', hierarchy: 'none', consistency: 'on', thresholds: th, probabilities: true, precision: 'fp32' });
    const probs = await predictVolume(params, model, head, normalize(hu, norm), geometry, { context: 0, fill: (-1000 - 0) / 500, hasWhole: true });
    expect(maxDiff(pr.probs!, probs)).toBe(0);
    const { enforceConsistency } = await import('../../app/learning/postprocess.ts');
    const want = enforceConsistency(binarize(probs, head, true, th), probs);
    want.forEach((m, k) => expect(Buffer.from(pr.masks[k]).equals(Buffer.from(m))).toBe(true));
    expect(want[1].some((x) => x === 1) && want[1].some((x) => x === 0)).toBe(true);
    const lean = await predictCt(loaded, hu, geometry, { postprocess: 'none', hierarchy: 'none', consistency: 'on', thresholds: th, precision: 'fp32' });
    expect(lean.probs).toBeNull();
    lean.masks.forEach((m, k) => expect(Buffer.from(m).equals(Buffer.from(pr.masks[k]))).toBe(true));
    disposeParams(params);
  });
});

describe('window accumulate: native (oneDNN addon) against JS', () => {
  const modes: Array<[string, HeadMode]> = [['probs', HEAD_MODE.probs], ['sigmoid', HEAD_MODE.sigmoid], ['joint', HEAD_MODE.joint], ['softmax with whole', HEAD_MODE.softmaxWhole], ['softmax parts', HEAD_MODE.softmaxParts]];
  for (const [name, mode] of modes) {
    it.skipIf(!addon)(`head ${name}: the same sums and weights (${addon ? 'addon loaded' : `no addon: ${native.reason}`})`, () => {
      useNativeAccumulate(addon);
      expect(nativeAccumulateActive()).toBe(true);
      const C = 5, S = structuresOf(mode, C);
      const slab: [number, number, number] = [9, 7, 6];
      const size: [number, number, number] = [4, 5, 3];
      // Windows partly outside the slab, flipped, overlapping; block axis b = slab axis axes[b].
      const spec: AccumulateSpec = {
        mode, channels: C, size, axes: [2, 0, 1], slab,
        starts: [[-1, 2, 3], [0, 0, 0], [3, -2, 5], [2, 6, 1]],
        flips: [[false, false, false], [true, false, true], [false, true, false], [true, true, true]],
      };
      const blockVox = size[0] * size[1] * size[2];
      let seed = 11;
      const rand = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
      const values = Float32Array.from({ length: spec.starts.length * blockVox * C }, () => (mode === HEAD_MODE.probs ? rand() : (rand() - 0.5) * 12));
      const weights = Float32Array.from({ length: blockVox }, () => 0.001 + rand());
      const n = slab[0] * slab[1] * slab[2];
      for (const w of [weights, null]) {
        const run = (impl: 'auto' | 'js') => {
          const acc = Array.from({ length: S }, () => new Float32Array(n).fill(0.25));
          const wsum = new Float32Array(n);
          accumulateWindows(spec, values, w, acc, wsum, impl);
          accumulateWindows(spec, values, w, acc, wsum, impl);
          normalizeWeights(n, acc, wsum, impl);
          return { acc, wsum };
        };
        const a = run('auto'), b = run('js');
        expect(Buffer.from(a.wsum.buffer).equals(Buffer.from(b.wsum.buffer))).toBe(true);
        expect(a.wsum.some((x) => x === 0) && a.wsum.some((x) => x > 1)).toBe(true);
        if (mode === HEAD_MODE.probs) a.acc.forEach((x, k) => expect(Buffer.from(x.buffer).equals(Buffer.from(b.acc[k].buffer))).toBe(true));
        else expect(maxDiff(a.acc, b.acc)).toBeLessThan(1e-6);
      }
    });
  }

  it.skipIf(!addon)('rejects a geometry that does not match the buffers', () => {
    const a = addon as unknown as { accumulateWindows: (...x: unknown[]) => void };
    const g = Int32Array.from([5, 4, HEAD_MODE.joint, 2, 2, 2, 2, 1, 0, 4, 4, 4, 1]);
    expect(() => a.accumulateWindows(g, new Int32Array(6), new Float32Array(8 * 5 - 1), null, Array.from({ length: 4 }, () => new Float32Array(64)), new Float32Array(64))).toThrow(/values/);
    expect(() => a.accumulateWindows(g, new Int32Array(6), new Float32Array(8 * 5), null, Array.from({ length: 3 }, () => new Float32Array(64)), new Float32Array(64))).toThrow(/acc/);
    const bad = Int32Array.from(g); bad[1] = 5;
    expect(() => a.accumulateWindows(bad, new Int32Array(6), new Float32Array(8 * 5), null, Array.from({ length: 5 }, () => new Float32Array(64)), new Float32Array(64))).toThrow(/structures/);
  });
});
