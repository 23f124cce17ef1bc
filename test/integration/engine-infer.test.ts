// Whole-volume prediction: flip TTA is the average of the plain and the mirrored prediction,
// the 3D sliding window's Gaussian blending is normalised (a position-independent model gives
// the same probability everywhere), and early stopping ends a run that stops improving.
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../app/learning/backend.ts';
import type { HeadConfig } from '../../app/learning/heads.ts';
import { createParams, disposeParams, type UNetConfig } from '../../app/learning/model/unet.ts';
import { predictVolume } from '../../app/learning/predict.ts';
import { prepareRun } from '../../app/learning/run.ts';
import { train } from '../../app/learning/train.ts';
import { IDENTITY3, type Geometry } from '../../app/imaging/volume.ts';
import { writePhantomSet } from '../../app/phantom/write.ts';

const head: HeadConfig = { kind: 'joint', parts: 3, posWeight: 3, a: 1, b: 1, c: 0 };

beforeAll(async () => { await initBackend(); });

function volume(dims: [number, number, number]): { image: Float32Array; geometry: Geometry } {
  const n = dims[0] * dims[1] * dims[2];
  const image = Float32Array.from({ length: n }, (_, v) => Math.sin(v * 0.37) + ((v % dims[0]) / dims[0]));
  return { image, geometry: { dims, spacing: [1, 1, 2], origin: [0, 0, 0], direction: [...IDENTITY3] } };
}

/** Mirrors a volume along index axis 0 (i). */
function flipI(a: Float32Array, dims: [number, number, number]): Float32Array {
  const out = new Float32Array(a.length);
  for (let v = 0; v < a.length; v++) {
    const i = v % dims[0];
    out[v - i + (dims[0] - 1 - i)] = a[v];
  }
  return out;
}

describe('predictVolume', () => {
  it('flip TTA averages the plain and the mirrored prediction', async () => {
    const cfg: UNetConfig = { spatialDims: 2, inChannels: 1, outChannels: 5, filters: [4, 8], normalization: 'none', seed: 3 };
    const p = createParams(cfg);
    const dims: [number, number, number] = [12, 10, 3];
    const { image, geometry } = volume(dims);
    const opts = { context: 0, fill: -1, hasWhole: true };
    const plain = await predictVolume(p, cfg, head, image, geometry, opts);
    const mirrored = (await predictVolume(p, cfg, head, flipI(image, dims), geometry, opts)).map((m) => flipI(m, dims));
    const tta = await predictVolume(p, cfg, head, image, geometry, { ...opts, ttaFlipAxes: [0] });
    let worst = 0;
    tta.forEach((t, k) => t.forEach((x, v) => { worst = Math.max(worst, Math.abs(x - (plain[k][v] + mirrored[k][v]) / 2)); }));
    expect(worst).toBeLessThan(1e-5);
    disposeParams(p);
  });

  it('3D sliding-window blending is normalised: a position-independent model is flat', async () => {
    const cfg: UNetConfig = { spatialDims: 3, inChannels: 1, outChannels: 5, filters: [2, 4], normalization: 'none', seed: 1 };
    const p = createParams(cfg);
    // Zero every weight; the head's bias alone decides the output, the same at every voxel.
    for (const v of p.values()) v.assign(tf.zerosLike(v));
    p.get('head.b')!.assign(tf.tensor1d([0.4, 1, -1, 0.5, 0]));
    const dims: [number, number, number] = [20, 14, 11];
    const { image, geometry } = volume(dims);
    const probs = await predictVolume(p, cfg, head, image, geometry, { context: 0, patch: [8, 8, 8], overlap: 0.5, fill: -1, hasWhole: true });
    const expectWhole = 1 / (1 + Math.exp(-0.4));
    const z = [1, -1, 0.5, 0].map(Math.exp), sum = z.reduce((a, b) => a + b, 0);
    for (const v of [0, 123, probs[0].length - 1]) {
      expect(probs[0][v]).toBeCloseTo(expectWhole, 5);
      for (let k = 1; k <= 3; k++) expect(probs[k][v]).toBeCloseTo(z[k] / sum, 5);
    }
    disposeParams(p);
  });
});

describe('early stopping', () => {
  it('stops when mean validation Dice has not improved for `patience` validations', async () => {
    const root = mkdtempSync(join(tmpdir(), 'osteon-early-'));
    writePhantomSet(join(root, 'data'), { cases: 2, seed: 5, dims: [16, 16, 8], spacing: 4, noiseHu: 20 });
    const r = prepareRun({
      dataDir: join(root, 'data'), runDir: join(root, 'run'), head: 'joint', spatialDims: 2, filters: [4, 8], normalization: 'none',
      context: 0, epochs: 10, stepsPerEpoch: 1, batchSize: 2, learningRate: 1e-7, validateEvery: 1, earlyStoppingPatience: 2, seed: 1,
      posWeight: [3], lossWeights: { a: 1, b: 1, c: 0 }, split: { kind: 'cases', ids: ['case-001'] }, flipAxes: [],
    }, null);
    // With a learning rate of 1e-7 the predictions do not change, so Dice never improves.
    const done = await train(r.config, r.train, r.val, { runDir: join(root, 'run'), onEvent: () => {} });
    expect(done.reason).toBe('early-stopped');
    expect(done.epoch).toBe(3);
    expect(done.bestEpoch).toBe(1);
  });
});
