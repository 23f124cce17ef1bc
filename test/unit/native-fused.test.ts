// The fused network kernels of the oneDNN addon (native/dnnl/src/fused.cc, pool.cc;
// app/learning/native/fused.ts) against tfjs's cpu backend, values and gradients, 2D and 3D:
// conv + bias + ReLU (app/learning/model/fused.ts, one kernel forward, one ReLU+bias-gradient
// pass backward), max pool forward and the vectorised max pool backward, softmax. Then a whole training step of the joint-head U-Net
// (loss, every gradient, the parameters after an Adam step) with and without the fusions on the
// same native path, 2D and 3D: within 1e-5 relative. Skips with a notice when the addon is absent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../app/learning/backend.ts';
import { lossFor } from '../../app/learning/heads.ts';
import { CONV_BIAS, RELU_BIAS_GRAD, convBias, convBiasRelu, reluBiasGrad } from '../../app/learning/model/fused.ts';
import { createParams, disposeParams, forward, type UNetConfig } from '../../app/learning/model/unet.ts';
import { loadNative } from '../../app/learning/native/addon.ts';
import { registerNativeKernels, setFusedKernels, unregisterNativeKernels } from '../../app/learning/native/register.ts';
import { fusedCounts } from '../../app/learning/native/fused.ts';
import { nativeCounts } from '../../app/learning/native/run.ts';
import { skipNotice } from '../helpers/env.ts';
import { expectClose, on, printWorst, rand, relDiff, size } from './kernels-helpers.ts';

const native = loadNative();
if (!native.addon) skipNotice('oneDNN fused kernel tests', `the addon (${native.reason})`);

interface ConvCase { name: string; x: number[]; f: number[]; s: number; pad: 'same' | 'valid'; linear?: boolean }
const convCases: ConvCase[] = [
  { name: '2D 7x9 C3→4 3x3 same N2', x: [2, 7, 9, 3], f: [3, 3, 3, 4], s: 1, pad: 'same' },
  { name: '2D 8x8 C1→8 3x3 same (first layer)', x: [1, 8, 8, 1], f: [3, 3, 1, 8], s: 1, pad: 'same' },
  { name: '2D 7x7 C2→3 3x3 s2 valid', x: [1, 7, 7, 2], f: [3, 3, 2, 3], s: 2, pad: 'valid' },
  { name: '3D 5x4x6 C4→2 3x3x3 same', x: [1, 5, 4, 6, 4], f: [3, 3, 3, 4, 2], s: 1, pad: 'same' },
  { name: '3D 4x4x4 C2→5 3x3x3 same N2', x: [2, 4, 4, 4, 2], f: [3, 3, 3, 2, 5], s: 1, pad: 'same' },
  { name: '3D 5x5x5 C1→3 3x3x3 s2 same', x: [1, 5, 5, 5, 1], f: [3, 3, 3, 1, 3], s: 2, pad: 'same' },
  { name: '2D 6x5 C4→5 1x1 valid linear (head)', x: [2, 6, 5, 4], f: [1, 1, 4, 5], s: 1, pad: 'valid', linear: true },
  { name: '3D 4x3x5 C6→5 1x1x1 valid linear (head)', x: [1, 4, 3, 5, 6], f: [1, 1, 1, 6, 5], s: 1, pad: 'valid', linear: true },
];

/** y, dy/dx, dy/dW, dy/db of relu(conv(x,W)+b)·r summed (no relu when linear), and the ReLU+bias gradient on its own. */
function runConv(c: ConvCase): tf.Tensor[] {
  const x = tf.tensor(rand(size(c.x), 1), c.x);
  const w = tf.tensor(rand(size(c.f), 2), c.f);
  // A bias that moves some outputs across 0, so the ReLU mask matters.
  const b = tf.tensor1d(rand(c.f[c.f.length - 1], 5).map((v) => 0.5 * v));
  const f = (a: tf.Tensor, k: tf.Tensor, bb: tf.Tensor): tf.Tensor => (c.linear ? convBias : convBiasRelu)(a, k, bb, c.s, c.pad);
  const y = f(x, w, b);
  const r = tf.tensor(rand(y.size, 3), y.shape);
  const grads = tf.grads((a: tf.Tensor, k: tf.Tensor, bb: tf.Tensor) => f(a, k, bb).mul(r).sum())([x, w, b]);
  return [y, ...grads, ...reluBiasGrad(r, y)];
}

function runPoolSoftmax(): tf.Tensor[] {
  const x4 = tf.tensor4d(rand(2 * 8 * 6 * 3, 7), [2, 8, 6, 3]);
  const x4odd = tf.tensor4d(rand(1 * 7 * 5 * 2, 8), [1, 7, 5, 2]);
  const x5 = tf.tensor5d(rand(2 * 4 * 6 * 4 * 3, 9), [2, 4, 6, 4, 3]);
  const x5odd = tf.tensor5d(rand(1 * 5 * 7 * 3 * 2, 10), [1, 5, 7, 3, 2]);
  // Channels >= 4 take the vectorised backward (4 at a time, then the rest); values rounded to
  // a few levels give ties, where the first maximum in (d, h, w) order must get dy.
  const x4c = tf.tensor4d(rand(2 * 8 * 6 * 6, 11).map((v) => Math.round(2 * v)), [2, 8, 6, 6]);
  const x5c = tf.tensor5d(rand(1 * 6 * 4 * 5 * 9, 12).map((v) => Math.round(2 * v)), [1, 6, 4, 5, 9]);
  const x5c8 = tf.tensor5d(rand(2 * 4 * 4 * 4 * 8, 16), [2, 4, 4, 4, 8]);
  const out: tf.Tensor[] = [];
  const pools: Array<[tf.Tensor, (t: tf.Tensor) => tf.Tensor]> = [
    [x4, (t) => tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid')],
    [x4, (t) => tf.maxPool(t as tf.Tensor4D, 3, 2, 'same')],
    [x4odd, (t) => tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid')],
    [x4odd, (t) => tf.maxPool(t as tf.Tensor4D, 2, 2, 'same')],
    [x5, (t) => tf.maxPool3d(t as tf.Tensor5D, 2, 2, 'valid')],
    [x5, (t) => tf.maxPool3d(t as tf.Tensor5D, 3, 2, 'same')],
    [x5odd, (t) => tf.maxPool3d(t as tf.Tensor5D, 2, 2, 'valid')],
    [x5odd, (t) => tf.maxPool3d(t as tf.Tensor5D, [3, 2, 2], [1, 2, 2], 'same')],
    [x4c, (t) => tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid')],
    [x4c, (t) => tf.maxPool(t as tf.Tensor4D, 3, 2, 'same')],
    [x5c, (t) => tf.maxPool3d(t as tf.Tensor5D, 2, 2, 'valid')],
    [x5c, (t) => tf.maxPool3d(t as tf.Tensor5D, 3, 2, 'same')],
    [x5c8, (t) => tf.maxPool3d(t as tf.Tensor5D, 2, 2, 'valid')],
  ];
  for (const [x, f] of pools) {
    const y = f(x);
    const r = tf.tensor(rand(y.size, 13), y.shape);
    out.push(y, tf.grad((t: tf.Tensor) => f(t).mul(r).sum())(x));
  }
  // Softmax above the native threshold (2^14 elements): 5 classes as the joint head, 3D logits.
  const logits = tf.tensor(rand(2 * 12 * 12 * 12 * 5, 14).map((v) => 6 * v), [2, 12, 12, 12, 5]);
  const r = tf.tensor(rand(logits.size, 15), logits.shape);
  out.push(tf.softmax(logits), tf.grad((t: tf.Tensor) => tf.softmax(t).mul(r).sum())(logits));
  return out;
}

beforeAll(async () => {
  expect((await initBackend({ prefer: 'wasm' })).name).toBe('wasm');
  if (native.addon) {
    const { kernels } = registerNativeKernels();
    for (const k of [CONV_BIAS, RELU_BIAS_GRAD, 'MaxPool', 'MaxPool3D', 'Softmax']) expect(kernels).toContain(`wasm+dnnl:${k}`);
  }
});
afterAll(() => {
  unregisterNativeKernels();
  printWorst('native-fused');
});

/** Runs fn on wasm+dnnl and cpu; each kernel in `kernels` must have run natively `n` times (no silent fallback). */
async function compare(tag: string, fn: () => tf.Tensor[], kernels: Record<string, number>): Promise<void> {
  const before = nativeCounts();
  const servedBefore = fusedCounts();
  const got = await on('wasm', fn);
  const after = nativeCounts();
  expect(after.errors - before.errors, after.lastError ?? '').toBe(0);
  const served = fusedCounts();
  for (const [k, n] of Object.entries(kernels)) expect((served[k] ?? 0) - (servedBefore[k] ?? 0), k).toBe(n);
  const ref = await on('cpu', fn);
  expectClose(tag, got, ref);
}

describe.skipIf(!native.addon)('fused oneDNN kernels vs the cpu backend', () => {
  for (const c of convCases) {
    it(`conv+bias${c.linear ? '' : '+ReLU'} ${c.name}: y, dx, dW, db, ReLU+bias gradient`, async () => {
      expect(tf.getKernel(CONV_BIAS, 'wasm')).toBeDefined();
      // Linear: the backward has no ReLU pass (only the direct reluBiasGrad call runs it).
      await compare(`convBias ${c.name}`, () => runConv(c), { OsteonConvBias: 2, OsteonReluBiasGrad: c.linear ? 1 : 2 });
    });
  }

  it('max pool 2D / 3D forward and gradients (valid, same, odd sizes, overlapping windows, ties, 2-9 channels); softmax and its gradient', () => compare('pool+softmax', runPoolSoftmax, { MaxPool: 12, MaxPool3D: 14, Softmax: 2 }));

  it('without the addon kernels the same op composes tfjs ops (wasm matches cpu)', async () => {
    setFusedKernels(false);
    try {
      expect(tf.getKernel(CONV_BIAS, 'wasm')).toBeUndefined();
      for (const c of [convCases[3], convCases[7]]) {
        const got = await on('wasm', () => runConv(c));
        const ref = await on('cpu', () => runConv(c));
        expectClose(`composed ${c.name}`, got, ref);
      }
    } finally {
      setFusedKernels(true);
    }
  });

  it('leaks neither tensors nor wasm heap buffers', async () => {
    await tf.setBackend('wasm');
    const all = (): void => {
      for (const c of convCases) tf.tidy(() => void runConv(c));
      tf.tidy(() => void runPoolSoftmax());
    };
    all();
    const tensors = tf.memory().numTensors;
    const ids = tf.engine().backend.numDataIds();
    all();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.engine().backend.numDataIds()).toBe(ids);
  });

  it('the addon rejects short buffers and bad pool geometry', () => {
    const a = native.addon!;
    expect(() => a.reluBiasGrad(4, 2, new Float32Array(8), new Float32Array(7), new Float32Array(8), null)).toThrow(/need 8/);
    expect(() => a.softmax(2, 3, new Float32Array(6), new Float32Array(5))).toThrow(/need 6/);
    const geo = Int32Array.from([1, 1, 4, 4, 1, 1, 2, 2, 1, 2, 2, 1, 2, 2, 0, 0, 0]);
    expect(a.maxPoolImpl(geo)).toMatch(/\w+/);
    expect(() => a.maxPool(geo, new Float32Array(16), new Float32Array(3))).toThrow(/need 4/);
    // An output size no padding gives.
    const bad = Int32Array.from([1, 1, 9, 9, 1, 1, 2, 2, 1, 2, 2, 1, 2, 2, 0, 0, 0]);
    expect(() => a.maxPool(bad, new Float32Array(81), new Float32Array(4))).toThrow(/padding/);
  });
});

/** Loss, every gradient and the parameters after one Adam step of the joint-head U-Net on wasm+dnnl. */
async function step(cfg: UNetConfig, xShape: number[]): Promise<Map<string, Float32Array>> {
  await tf.setBackend('wasm');
  const p = createParams(cfg);
  const names = [...p.keys()];
  const opt = tf.train.adam(1e-3);
  try {
    const out = tf.tidy(() => {
      const x = tf.tensor(rand(size(xShape), 21), xShape);
      const spatial = xShape.slice(0, -1);
      const labels = tf.tensor(rand(size(spatial), 22).map((v) => Math.floor((v + 1) * 2) % 4), spatial, 'int32');
      const whole = tf.cast(tf.greater(labels, 0), 'float32');
      const loss = lossFor({ kind: 'joint', parts: 3, posWeight: 3, a: 1, b: 1, c: 0.5 });
      const f = (): tf.Scalar => loss(forward(p, cfg, x), { whole, labels }).total as tf.Scalar;
      const { value, grads } = tf.variableGrads(f, [...p.values()]);
      opt.applyGradients(grads as tf.NamedTensorMap as Parameters<typeof opt.applyGradients>[0]);
      return [value, ...names.map((n) => grads[p.get(n)!.name]), ...names.map((n) => tf.clone(p.get(n)!))];
    });
    const data = out.map((t) => t.dataSync() as Float32Array);
    tf.dispose(out);
    const m = new Map<string, Float32Array>([['loss', data[0]]]);
    names.forEach((n, i) => {
      m.set(`grad ${n}`, data[1 + i]);
      m.set(`param ${n}`, data[1 + names.length + i]);
    });
    return m;
  } finally {
    opt.dispose();
    disposeParams(p);
  }
}

async function fusedVsUnfused(cfg: UNetConfig, xShape: number[]): Promise<void> {
  const before = nativeCounts();
  const served = fusedCounts();
  const fused = await step(cfg, xShape);
  expect(nativeCounts().errors).toBe(before.errors);
  // Two conv blocks per level and per decoder stage (plus the linear head in OsteonConvBias).
  const convs = 2 * (2 * cfg.filters.length - 1);
  expect(fusedCounts().OsteonConvBias - (served.OsteonConvBias ?? 0)).toBe(convs + 1);
  expect(fusedCounts().OsteonReluBiasGrad - (served.OsteonReluBiasGrad ?? 0)).toBe(convs);
  // One transposed conv + bias per decoder stage, forward and filter+bias gradient (model/upconv.ts).
  expect(fusedCounts().OsteonConvTransposeBias - (served.OsteonConvTransposeBias ?? 0)).toBe(cfg.filters.length - 1);
  expect(fusedCounts().OsteonConvTransposeBiasGrad - (served.OsteonConvTransposeBiasGrad ?? 0)).toBe(cfg.filters.length - 1);
  // One pool-and-keep per encoder level but the last: its gradient sums the pool's and the skip's in one pass (model/poolskip.ts).
  expect(fusedCounts().OsteonMaxPoolSkipGrad - (served.OsteonMaxPoolSkipGrad ?? 0)).toBe(cfg.filters.length - 1);
  setFusedKernels(false);
  let unfused: Map<string, Float32Array>;
  try {
    unfused = await step(cfg, xShape);
  } finally {
    setFusedKernels(true);
  }
  let worst = 0;
  for (const [k, ref] of unfused) {
    const d = relDiff(fused.get(k)!, ref);
    worst = Math.max(worst, d);
    expect(d, `${k}: fused vs unfused`).toBeLessThan(1e-5);
  }
  process.stderr.write(`\nU-Net ${cfg.spatialDims}D joint-head step, fused vs unfused: loss ${fused.get('loss')![0]} vs ${unfused.get('loss')![0]}, worst max|diff|/max|ref| ${worst.toExponential(2)} over ${unfused.size} tensors\n`);
}

describe.skipIf(!native.addon)('a joint-head training step with and without the fusions', () => {
  it('2D [2,32,32,1] filters 8-16-32', () =>
    fusedVsUnfused({ spatialDims: 2, inChannels: 1, outChannels: 5, filters: [8, 16, 32], normalization: 'none', seed: 5 }, [2, 32, 32, 1]));
  it('3D [1,16,16,16,1] filters 4-8-16', () =>
    fusedVsUnfused({ spatialDims: 3, inChannels: 1, outChannels: 5, filters: [4, 8, 16], normalization: 'none', seed: 6 }, [1, 16, 16, 16, 1]));
});
