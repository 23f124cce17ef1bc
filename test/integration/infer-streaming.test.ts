// Streaming inference (issue 19): a volume's windows (2D slices with their context, 3D patches)
// go through the device a batch at a time and the volume stays on the host. With a small forced
// window budget, or a small device binding limit, the volume is processed in many passes of one
// window each, and the result equals the unstreamed prediction: every window in one pass, as if
// the whole volume were on the device at once. Runs on this process's CPU ladder (the windows'
// arithmetic is the same on every backend; webgpu's is checked in webgpu-train.test.ts and, on
// the GPU host page, in test/e2e/gpu-host.test.ts).
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../app/learning/backend.ts';
import type { HeadConfig } from '../../app/learning/heads.ts';
import { createParams, disposeParams, type UNetConfig } from '../../app/learning/model/unet.ts';
import { localWindows, predictVolumeWith, type InferencePlan, type PredictOptions, type WindowBatch } from '../../app/learning/predict.ts';
import { largestTensorBytes } from '../../app/learning/webgpu/memory.ts';
import { IDENTITY3, type Geometry } from '../../app/imaging/volume.ts';

const head: HeadConfig = { kind: 'joint', parts: 3, posWeight: 3, a: 1, b: 1, c: 0 };

beforeAll(async () => { await initBackend(); });

function volume(dims: [number, number, number]): { image: Float32Array; geometry: Geometry } {
  const n = dims[0] * dims[1] * dims[2];
  const image = Float32Array.from({ length: n }, (_, v) => Math.sin(v * 0.37) + ((v % dims[0]) / dims[0]));
  return { image, geometry: { dims, spacing: [1, 1, 2], origin: [0, 0, 0], direction: [...IDENTITY3] } };
}

/** Predicts with a window runner that counts passes and the largest batch it was given. */
async function counted(cfg: UNetConfig, params: ReturnType<typeof createParams>, v: ReturnType<typeof volume>, opts: PredictOptions) {
  const local = localWindows(params, cfg, head, true);
  let passes = 0, largestBatch = 0;
  let plan: InferencePlan | null = null;
  const probs = await predictVolumeWith(async (b: WindowBatch) => { passes++; largestBatch = Math.max(largestBatch, b.shape[0]); return local.run(b); },
    cfg, head, v.image, v.geometry, { ...opts, onPlan: (p) => { plan = p; } });
  return { probs, passes, largestBatch, plan: plan! as InferencePlan };
}

function worstDifference(a: Float32Array[], b: Float32Array[]): number {
  let worst = 0;
  a.forEach((x, k) => x.forEach((p, v) => { worst = Math.max(worst, Math.abs(p - b[k][v])); }));
  return worst;
}

describe('streaming inference', () => {
  it('2.5D: a small window budget streams one slice per pass, equal to all slices in one pass', async () => {
    const cfg: UNetConfig = { spatialDims: 2, inChannels: 3, outChannels: 5, filters: [4, 8], normalization: 'instance', seed: 3 };
    const params = createParams(cfg);
    const v = volume([16, 12, 10]);
    const base = { context: 1, fill: -1, hasWhole: true };
    const oneWindow = largestTensorBytes({ batch: 1, patch: [12, 16], filters: cfg.filters, inChannels: 3, outChannels: 5 });
    const streamed = await counted(cfg, params, v, { ...base, batchSize: 8, windowBudget: oneWindow });
    const whole = await counted(cfg, params, v, { ...base, batchSize: 1000 });
    expect(streamed.plan).toMatchObject({ windows: 10, batch: 1, calls: 10, window: [12, 16, 3] });
    expect(streamed.passes).toBe(10);
    expect(streamed.largestBatch).toBe(1);
    expect(streamed.plan.largestTensorBytes).toBeLessThanOrEqual(oneWindow);
    expect(streamed.plan.text).toMatch(/10 windows of 12×16×3, 1 per pass \(10 passes\).*stays on the host/);
    expect(whole.passes).toBe(1);
    expect(whole.largestBatch).toBe(10);
    const worst = worstDifference(streamed.probs, whole.probs);
    process.stderr.write(`2.5D streamed (10 passes) vs unstreamed (1 pass): max abs difference ${worst.toExponential(2)}\n`);
    expect(worst).toBeLessThan(1e-6);
    disposeParams(params);
  });

  it('3D: a small device binding limit streams one patch per pass, equal to every patch in one pass', async () => {
    const cfg: UNetConfig = { spatialDims: 3, inChannels: 1, outChannels: 5, filters: [2, 4], normalization: 'instance', seed: 1 };
    const params = createParams(cfg);
    const v = volume([20, 14, 11]);
    const base = { context: 0, patch: [8, 8, 8], overlap: 0.5, fill: -1, hasWhole: true };
    const oneWindow = largestTensorBytes({ batch: 1, patch: [8, 8, 8], filters: cfg.filters, inChannels: 1, outChannels: 5 });
    // A binding limit that fits one window and not two (the plan keeps 80% of it).
    const streamed = await counted(cfg, params, v, { ...base, batchSize: 4, bindingLimit: Math.ceil(oneWindow / 0.8) + 1 });
    const whole = await counted(cfg, params, v, { ...base, batchSize: 1000 });
    // Starts along 11, 14, 20 with a step of 4: 2 × 3 × 4 = 24 windows.
    expect(streamed.plan).toMatchObject({ windows: 24, batch: 1, calls: 24, window: [8, 8, 8], limitBytes: Math.ceil(oneWindow / 0.8) + 1 });
    expect(streamed.passes).toBe(24);
    expect(streamed.largestBatch).toBe(1);
    expect(whole.passes).toBe(1);
    expect(whole.largestBatch).toBe(24);
    const worst = worstDifference(streamed.probs, whole.probs);
    process.stderr.write(`3D streamed (24 passes) vs unstreamed (1 pass): max abs difference ${worst.toExponential(2)}\n`);
    expect(worst).toBeLessThan(1e-6);
    disposeParams(params);
  });

  it('stops between window batches when its signal is aborted', async () => {
    const cfg: UNetConfig = { spatialDims: 2, inChannels: 1, outChannels: 5, filters: [4, 8], normalization: 'none', seed: 2 };
    const params = createParams(cfg);
    const v = volume([8, 8, 6]);
    const ac = new AbortController();
    const local = localWindows(params, cfg, head, true);
    let passes = 0;
    const run = predictVolumeWith(async (b) => { if (++passes === 2) ac.abort(); return local.run(b); }, cfg, head, v.image, v.geometry, { context: 0, fill: -1, hasWhole: true, batchSize: 1, signal: ac.signal });
    await expect(run).rejects.toMatchObject({ code: 'cancelled' });
    expect(passes).toBe(2);
    disposeParams(params);
  });
});
