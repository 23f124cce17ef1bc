// The native whole-network inference pass (native/dnnl/src/infer_net.cc via
// app/learning/native/infer-net.ts) against the engine's U-Net forward on tfjs's cpu backend
// (the reference): float32 within 1e-4 of the largest logit, bf16 within the tolerance stated
// below; predictCt at both precisions on a small CT; and the refusal of bf16 where oneDNN has no
// bf16 instructions (simulated with ONEDNN_MAX_CPU_ISA=AVX512_CORE in a child process).
// Skips with a notice when the addon is not built; the bf16 checks skip where this CPU lacks bf16.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../app/learning/backend.ts';
import { predictCt, type LoadedModel } from '../../app/learning/infer.ts';
import { createParams, disposeParams, forward, type Params, type UNetConfig } from '../../app/learning/model/unet.ts';
import { structureProbs } from '../../app/learning/predict.ts';
import { headMode } from '../../app/learning/window-accumulate.ts';
import type { HeadConfig } from '../../app/learning/heads.ts';
import { loadNative } from '../../app/learning/native/addon.ts';
import { bf16Support, nativeNetWindows, type InferencePrecision } from '../../app/learning/native/infer-net.ts';
import type { TrainConfig } from '../../app/learning/config.ts';
import { IDENTITY3, type Geometry } from '../../app/imaging/volume.ts';
import { repoRoot, skipNotice } from '../helpers/env.ts';
import { rand, relDiff } from './kernels-helpers.ts';

const native = loadNative();
const hasNet = native.addon !== null && typeof (native.addon as object as { inferNetCreate?: unknown }).inferNetCreate === 'function';
if (!hasNet) skipNotice('native whole-network inference', `the oneDNN addon with inferNet (${native.reason ?? 'built before it'})`);
const bf16 = hasNet ? bf16Support() : { ok: false, reason: 'no addon', isa: null };
if (hasNet && !bf16.ok) skipNotice('bf16 inference checks', `bf16 on this CPU (${bf16.reason})`);

/**
 * bf16 tolerance: bf16 keeps 8 significant bits (relative rounding 2^-9 ≈ 0.2 %) on every
 * activation and weight; through a U-Net's ~15 layers the logits drift by about 1 % of their range.
 * Stated bound: max |bf16 − fp32| ≤ 4 % of max |fp32 logit|, mean ≤ 0.5 %.
 */
const BF16_MAX = 0.04;
const BF16_MEAN = 0.005;

/** Parameters with non-zero random biases (createParams makes them zero), so the bias path is checked too. */
function params(cfg: UNetConfig): Params {
  const p = createParams(cfg);
  let seed = 100;
  for (const [name, v] of p) if (name.endsWith('.b')) v.assign(tf.tensor(rand(v.size, seed++).map((x) => 0.1 * x), v.shape));
  return p;
}

async function reference(p: Params, cfg: UNetConfig, x: Float32Array, shape: number[]): Promise<Float32Array> {
  await tf.setBackend('cpu');
  const y = tf.tidy(() => forward(p, cfg, tf.tensor(x, shape)));
  const v = y.dataSync() as Float32Array;
  y.dispose();
  return v;
}

function meanRel(a: Float32Array, b: Float32Array): number {
  let s = 0, m = 0;
  for (let i = 0; i < a.length; i++) { s += Math.abs(a[i] - b[i]); m = Math.max(m, Math.abs(b[i])); }
  return s / a.length / m;
}

async function compare(cfg: UNetConfig, shape: number[], precision: InferencePrecision): Promise<{ max: number; mean: number; impl: string }> {
  const p = params(cfg);
  try {
    const x = rand(shape.reduce((a, b) => a * b, 1), 7);
    const ref = await reference(p, cfg, x, shape);
    const net = nativeNetWindows(p, cfg, precision);
    try {
      const got = (await net.run({ x, shape })).slice();
      const again = await net.run({ x, shape });
      expect(again).toEqual(got);
      return { max: relDiff(got, ref), mean: meanRel(got, ref), impl: net.impl() };
    } finally {
      net.release();
    }
  } finally {
    disposeParams(p);
  }
}

const cfg2: UNetConfig = { spatialDims: 2, inChannels: 3, outChannels: 5, filters: [8, 16, 32], normalization: 'none', seed: 3 };
const cfg3: UNetConfig = { spatialDims: 3, inChannels: 1, outChannels: 3, filters: [4, 8], normalization: 'none', seed: 4 };

describe.skipIf(!hasNet)('native whole-network inference pass', () => {
  beforeAll(async () => { await initBackend({ prefer: 'wasm+dnnl' }); });
  afterAll(async () => { await tf.setBackend('wasm'); });

  it('float32 matches the U-Net forward on the cpu backend, 2D [2,32,32,3] 8-16-32 and 3D [1,16,16,16,1] 4-8', async () => {
    const a = await compare(cfg2, [2, 32, 32, 3], 'fp32');
    const b = await compare(cfg3, [1, 16, 16, 16, 1], 'fp32');
    process.stderr.write(`\nnative fp32 pass vs cpu: 2D max ${a.max.toExponential(2)}, 3D max ${b.max.toExponential(2)} (of max |logit|)\n`);
    expect(a.max).toBeLessThan(1e-4);
    expect(b.max).toBeLessThan(1e-4);
    expect(a.impl).toMatch(/head /);
  });

  it('with the head activation fused: structure probabilities equal structureProbs of the logits (every head), within 1e-6', async () => {
    const cfg: UNetConfig = { ...cfg2, outChannels: 5 };
    const p = params(cfg);
    try {
      const shape = [1, 16, 16, 3];
      const x = rand(16 * 16 * 3, 8).map((v) => 3 * v);
      await tf.setBackend('cpu');
      const heads: Array<[HeadConfig, boolean]> = [
        [{ kind: 'sigmoid', channels: 5 } as HeadConfig, true], [{ kind: 'joint', parts: 3 } as HeadConfig, true],
        [{ kind: 'softmax', classes: 5 } as HeadConfig, true], [{ kind: 'softmax', classes: 5 } as HeadConfig, false],
      ];
      for (const [head, hasWhole] of heads) {
        await tf.setBackend('cpu');
        const want = tf.tidy(() => structureProbs(forward(p, cfg, tf.tensor(x, shape)), head, hasWhole)).dataSync() as Float32Array;
        const net = nativeNetWindows(p, cfg, 'fp32', headMode(head, hasWhole));
        try {
          expect(net.logits).toBe(false);
          const got = await net.run({ x, shape });
          expect(got.length).toBe(want.length);
          let worst = 0;
          for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
          expect(worst, `${head.kind} hasWhole=${hasWhole}`).toBeLessThan(1e-6);
        } finally {
          net.release();
        }
      }
    } finally {
      disposeParams(p);
    }
  });

  it('refuses a model with instance normalisation, naming why', () => {
    const cfg: UNetConfig = { ...cfg2, normalization: 'instance' };
    const p = createParams(cfg);
    try {
      expect(() => nativeNetWindows(p, cfg, 'fp32')).toThrow(/instance normalisation/);
    } finally {
      disposeParams(p);
    }
  });

  it.skipIf(!bf16.ok)(`bf16 agrees with the float32 forward within ${BF16_MAX * 100} % (max) / ${BF16_MEAN * 100} % (mean) of the largest logit, 2D and 3D`, async () => {
    const a = await compare(cfg2, [2, 32, 32, 3], 'bf16');
    const b = await compare(cfg3, [1, 16, 16, 16, 1], 'bf16');
    process.stderr.write(`\nnative bf16 pass vs cpu fp32 (${bf16.isa}): 2D max ${a.max.toExponential(2)} mean ${a.mean.toExponential(2)}, 3D max ${b.max.toExponential(2)} mean ${b.mean.toExponential(2)}\n  ${a.impl.slice(0, 300)}\n`);
    expect(a.max).toBeLessThan(BF16_MAX);
    expect(b.max).toBeLessThan(BF16_MAX);
    expect(a.mean).toBeLessThan(BF16_MEAN);
    expect(b.mean).toBeLessThan(BF16_MEAN);
    expect(a.impl).toMatch(/bf16/);
  });

  it.skipIf(!bf16.ok)('predictCt at fp32 and bf16 on a small CT: probabilities within 0.05, the precision recorded', async () => {
    const model: UNetConfig = { spatialDims: 2, inChannels: 1, outChannels: 4, filters: [8, 16], normalization: 'none', seed: 5 };
    const p = params(model);
    const config = {
      model, head: { kind: 'joint', parts: 2, posWeight: 3, a: 1, b: 1, c: 0 }, normalization: { windowHu: [-1000, 2000], mean: 0, std: 600 }, sampling: { context: 0 },
      layout: { ids: ['whole', 'p1', 'p2'], hasWhole: true },
    } as unknown as TrainConfig;
    const loaded: LoadedModel = { runDir: '(test)', config, params: p, checkpoint: '(random)', plan: null, calibration: null };
    const dims: [number, number, number] = [40, 36, 5];
    const hu = Int16Array.from(rand(dims[0] * dims[1] * dims[2], 9), (v) => Math.round(v * 1200));
    const geometry: Geometry = { dims, spacing: [1, 1, 2], origin: [0, 0, 0], direction: [...IDENTITY3] };
    try {
      const run = (precision: InferencePrecision) => predictCt(loaded, hu, geometry, { postprocess: 'none', hierarchy: 'none', probabilities: true, precision });
      const f = await run('fp32');
      const h = await run('bf16');
      expect(f.stats.precision).toBe('fp32');
      expect(h.stats.precision).toBe('bf16');
      expect(h.stats.precisionDetail).toMatch(/bf16 \(asked for; oneDNN avx512_core_(amx|bf16)/);
      let worst = 0;
      f.probs!.forEach((pf, k) => { for (let i = 0; i < pf.length; i++) worst = Math.max(worst, Math.abs(pf[i] - h.probs![k][i])); });
      process.stderr.write(`\npredictCt fp32 vs bf16 on 40×36×5: max probability difference ${worst.toExponential(2)}\n`);
      expect(worst).toBeLessThan(0.05);
    } finally {
      disposeParams(p);
    }
  });

  it('where oneDNN has no bf16 (ONEDNN_MAX_CPU_ISA=AVX512_CORE): bf16 is refused naming why, auto falls back to fp32', () => {
    const script = `
      import { initBackend } from './app/learning/backend.ts';
      import { resolvePrecision } from './app/learning/infer.ts';
      await initBackend({ prefer: 'wasm+dnnl' });
      const model = { config: { model: { spatialDims: 2, inChannels: 1, outChannels: 2, filters: [8], normalization: 'none', seed: 0 } } };
      let refused = null;
      try { resolvePrecision(model, 'bf16'); } catch (e) { refused = { code: e.code, message: e.message }; }
      console.log(JSON.stringify({ refused, auto: resolvePrecision(model, 'auto') }));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: repoRoot, encoding: 'utf8', env: { ...process.env, ONEDNN_MAX_CPU_ISA: 'AVX512_CORE' }, timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { refused: { code: string; message: string } | null; auto: { precision: string; detail: string } };
    expect(out.refused?.code).toBe('unsupported');
    expect(out.refused?.message).toMatch(/bf16 is not available here: this CPU has no bf16 instructions oneDNN can use \(its ISA: avx512_core/);
    expect(out.auto.precision).toBe('fp32');
    expect(out.auto.detail).toMatch(/^auto: fp32 \(this CPU has no bf16/);
  });
});
