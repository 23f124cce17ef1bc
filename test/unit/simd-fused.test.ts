// The pure-wasm rung's fused training ops (app/learning/kernels/simd/fused.ts, kernels.as.ts):
// - conv + bias (+ ReLU), its ReLU and bias gradient, max pool + skip and its gradient, 2D and 3D,
//   against tfjs's cpu backend (values and gradients);
// - the head loss in the SIMD module (BCE with pos_weight, CE with class weights, soft Dice when
//   weighted) against the unfused tfjs ops on the same backend, values and gradients;
// - the SIMD Adam against tf.train.adam: bit for bit;
// - two full U-Net training steps with every fusion against the same steps with none
//   (OSTEON_FUSE=0's graph), 2D and 3D, on 1 and 2 threads: both losses and every parameter
//   within 1e-5 relative. (At lr 1e-3, the bench's and timing.ts's: Adam's first update is about
//   lr·g/(|g| + ε), so where |g| is near ε a float32 rounding of g moves a weight by a fraction of
//   lr; at lr 1e-2 that reached 2e-5 of a tensor's largest weight while the gradients agreed
//   within 6e-7.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../app/learning/backend.ts';
import { lossFor, type HeadConfig } from '../../app/learning/heads.ts';
import { convBias, convBiasRelu } from '../../app/learning/model/fused.ts';
import { maxPoolSkip } from '../../app/learning/model/poolskip.ts';
import { convTransposeBias } from '../../app/learning/model/upconv.ts';
import { createParams, disposeParams, forward, type UNetConfig } from '../../app/learning/model/unet.ts';
import { setSimdFusedKernels, simdFusedCounts } from '../../app/learning/kernels/simd/fused.ts';
import { startWasmThreads, stopWasmThreads } from '../../app/learning/kernels/parallel/pool.ts';
import { setWinograd } from '../../app/learning/kernels/simd/winograd.ts';
import { FusedAdam, fusedCounts, fusionActive, setFusion } from '../../app/learning/native/loss-adam.ts';
import { compareFinite, expectClose, printWorst, rand, relDiff, size } from './kernels-helpers.ts';
import { evaluate, rng, type LossFn } from './fused-loss-helpers.ts';

let kernels: string[] = [];

beforeAll(async () => {
  const r = await initBackend({ prefer: 'wasm' });
  expect(r.name).toBe('wasm');
  kernels = r.kernels;
}, 120_000);
afterAll(async () => {
  printWorst('simd-fused');
  setFusion(true);
  setSimdFusedKernels(true);
  await stopWasmThreads();
});

const t = (shape: number[], seed: number): tf.Tensor => tf.tensor(rand(size(shape), seed), shape);

/** y and d<y, r>/dx for each x, r a fixed random cotangent (several outputs: summed). */
function withGrads(f: (...xs: tf.Tensor[]) => tf.Tensor[], xs: tf.Tensor[]): tf.Tensor[] {
  const ys = f(...xs);
  const rs = ys.map((y, i) => t(y.shape, 99 + i));
  const gs = tf.grads((...a: tf.Tensor[]) => tf.addN(f(...a).map((y, i) => tf.sum(tf.mul(y, rs[i])))))(xs);
  return [...ys, ...gs];
}

const served = (k: string): number => simdFusedCounts()[k] ?? 0;

describe('fused network ops on the pure-wasm rung vs the cpu backend', () => {
  it('are registered and named in the backend report', () => {
    for (const k of ['OsteonConvBias', 'OsteonReluBiasGrad', 'OsteonMaxPoolSkip', 'OsteonMaxPoolSkipGrad', 'OsteonConvTransposeBias', 'OsteonConvTransposeBiasGrad']) expect(kernels).toContain(`wasm-simd:${k}`);
    expect(fusionActive()).toBe(true);
  });

  const convCases: Array<[string, number[], number[], number, 'same' | 'valid']> = [
    ['2D C3→8 3x3 same', [2, 9, 7, 3], [3, 3, 3, 8], 1, 'same'],
    ['2D C1→5 3x3 stride 2 valid', [1, 11, 10, 1], [3, 3, 1, 5], 2, 'valid'],
    ['3D C2→6 3³ same', [1, 5, 6, 4, 2], [3, 3, 3, 2, 6], 1, 'same'],
    ['3D C4→3 2x3x3 valid, N 2', [2, 4, 5, 5, 4], [2, 3, 3, 4, 3], 1, 'valid'],
  ];
  for (const [label, xs, fs, stride, pad] of convCases) {
    it(`convBiasRelu ${label}: y, dx, dW, db`, async () => {
      const before = served('OsteonReluBiasGrad');
      // Inputs centred so that about half of the outputs are cut by the ReLU.
      await compareFinite(`convBiasRelu ${label}`, () => withGrads((x, w, b) => [convBiasRelu(x, w, b, stride, pad)], [t(xs, 1), t(fs, 2), t([fs[fs.length - 1]], 3)]), 5e-6);
      expect(served('OsteonReluBiasGrad'), 'the SIMD ReLU + bias gradient ran').toBeGreaterThan(before);
    });
  }

  it('convBias (linear, the 1×1 head), 2D and 3D: y, dx, dW, db', async () => {
    const before = served('OsteonConvBias');
    await compareFinite('convBias 2D 1x1', () => withGrads((x, w, b) => [convBias(x, w, b)], [t([2, 5, 6, 8], 4), t([1, 1, 8, 5], 5), t([5], 6)]), 5e-6);
    await compareFinite('convBias 3D 1x1x1', () => withGrads((x, w, b) => [convBias(x, w, b)], [t([1, 3, 4, 5, 8], 7), t([1, 1, 1, 8, 5], 8), t([5], 9)]), 5e-6);
    expect(served('OsteonConvBias'), 'the 3D bias pass ran in the SIMD module').toBeGreaterThan(before);
  });

  it('convTransposeBias (the up-sampling), 2D and 3D: y, dx, dW, db', async () => {
    const before = served('OsteonConvTransposeBias');
    await compareFinite('convTransposeBias 2D 2x2 s2', () => withGrads((x, w, b) => [convTransposeBias(x, w, b, [2, 10, 8, 4], 2, 'same')], [t([2, 5, 4, 8], 18), t([2, 2, 4, 8], 19), t([4], 20)]), 5e-6);
    await compareFinite('convTransposeBias 3D 2x2x2 s2', () => withGrads((x, w, b) => [convTransposeBias(x, w, b, [1, 6, 4, 8, 3], 2, 'same')], [t([1, 3, 2, 4, 8], 21), t([2, 2, 2, 3, 8], 22), t([3], 23)]), 5e-6);
    expect(served('OsteonConvTransposeBias') - before).toBeGreaterThanOrEqual(2);
  });

  /** Data with ties inside pooling windows (values from a small set), and a first window of -inf. */
  const tied = (shape: number[], seed: number): tf.Tensor => {
    const v = rand(size(shape), seed).map((x) => Math.round(x * 3) / 3);
    for (let i = 0; i < shape[shape.length - 1]; i++) v[i] = v[i + shape[shape.length - 1]] = -Infinity;
    return tf.tensor(v, shape);
  };

  for (const shape of [[2, 8, 6, 4], [1, 7, 9, 3], [1, 6, 6, 6], [1, 4, 6, 4, 4], [2, 5, 4, 3, 1], [1, 4, 4, 4, 6]]) {
    it(`maxPoolSkip ${JSON.stringify(shape)}: pooled, kept and dx = dskip + the pool gradient (ties as cpu)`, async () => {
      const before = served('OsteonMaxPoolSkipGrad'), pools = served('OsteonMaxPoolSkip');
      await compareFinite(`maxPoolSkip ${JSON.stringify(shape)}`, () => withGrads((x) => maxPoolSkip(x), [tied(shape, 10)]), 1e-6);
      expect(served('OsteonMaxPoolSkipGrad')).toBeGreaterThan(before);
      // 3D pools in the SIMD module (2D keeps XNNPACK's MaxPool).
      if (shape.length === 5) expect(served('OsteonMaxPoolSkip')).toBeGreaterThan(pools);
    });
  }

  it('leaks neither tensors nor wasm heap buffers', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const run = (): void => {
      tf.tidy(() => {
        withGrads((x, w, b) => [convBiasRelu(x, w, b)], [t([1, 4, 4, 2], 11), t([3, 3, 2, 4], 12), t([4], 13)]);
        withGrads((x, w, b) => [convBias(x, w, b)], [t([1, 3, 3, 3, 2], 14), t([1, 1, 1, 2, 3], 15), t([3], 16)]);
        withGrads((x) => maxPoolSkip(x), [t([1, 4, 4, 4], 17)]);
      });
    };
    run();
    const tensors = tf.memory().numTensors, ids = backend.numDataIds();
    run();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(backend.numDataIds()).toBe(ids);
  });
});

describe('the fused head loss in the SIMD module vs the unfused tfjs ops (wasm), values and gradients', () => {
  const cases: Array<{ name: string; shape: number[]; head: HeadConfig; scale?: number; fused: boolean }> = [
    { name: 'joint 2D [2,6,5,5] a=b=1 c=0 (the default head)', shape: [2, 6, 5, 5], head: { kind: 'joint', parts: 3, posWeight: 3, a: 1, b: 1, c: 0 }, fused: true },
    { name: 'joint 3D [1,4,5,3,5] (M = 60) a=0.7 b=1.3, class weights', shape: [1, 4, 5, 3, 5], head: { kind: 'joint', parts: 3, posWeight: 2.5, classWeights: [0.2, 1, 2, 3], a: 0.7, b: 1.3, c: 0 }, fused: true },
    { name: 'joint 2D [1,3,3,5] (M = 9, a 1-row tail)', shape: [1, 3, 3, 5], head: { kind: 'joint', parts: 3, posWeight: 3, a: 1, b: 1, c: 0 }, fused: true },
    { name: 'sigmoid 2D [4,64,64,4] pos_weight 30..900, BCE only', shape: [4, 64, 64, 4], head: { kind: 'sigmoid', channels: 4, posWeight: [30, 150, 400, 900] }, fused: true },
    { name: 'sigmoid 3D [1,3,4,5,2] (M = 60) BCE only', shape: [1, 3, 4, 5, 2], head: { kind: 'sigmoid', channels: 2, posWeight: null }, fused: true },
    { name: 'softmax 2D [2,5,7,4] (M = 70) weighted CE', shape: [2, 5, 7, 4], head: { kind: 'softmax', classes: 4, classWeights: [0.5, 2, 1, 4] }, fused: true },
    { name: 'softmax 3D [2,3,3,3,3] CE', shape: [2, 3, 3, 3, 3], head: { kind: 'softmax', classes: 3 }, fused: true },
    { name: 'joint 2D [2,8,9,5] logits in ±150 (exp clamps), class weights', shape: [2, 8, 9, 5], head: { kind: 'joint', parts: 3, posWeight: 3, classWeights: [0.5, 1, 2, 3], a: 1, b: 1, c: 0 }, scale: 300, fused: true },
    // Soft Dice, computed only when weighted.
    { name: 'joint 3D [1,4,5,3,5] a=0.7 b=1.3 c=0.5, class weights, Dice', shape: [1, 4, 5, 3, 5], head: { kind: 'joint', parts: 3, posWeight: 2.5, classWeights: [0.2, 1, 2, 3], a: 0.7, b: 1.3, c: 0.5 }, fused: true },
    { name: 'joint 2D [2,4,4,4] 2 parts, Dice only', shape: [2, 4, 4, 4], head: { kind: 'joint', parts: 2, posWeight: 1, a: 0, b: 0, c: 1 }, fused: true },
    { name: 'sigmoid 2D [2,5,4,3] pos_weight, BCE + 0.5 Dice without channel 0', shape: [2, 5, 4, 3], head: { kind: 'sigmoid', channels: 3, posWeight: [3, 0.5, 9], diceWeight: 0.5, includeBackground: false }, fused: true },
    { name: 'softmax 2D [2,4,6,4] weighted CE + Dice', shape: [2, 4, 6, 4], head: { kind: 'softmax', classes: 4, classWeights: [0.5, 2, 1, 4], diceWeight: 1 }, fused: true },
    { name: 'softmax 3D [2,3,3,3,3] CE, Dice with background', shape: [2, 3, 3, 3, 3], head: { kind: 'softmax', classes: 3, diceWeight: 0.3, includeBackground: true }, fused: true },
  ];
  it.each(cases)('$name', async ({ shape, head, scale, fused }) => {
    await tf.setBackend('wasm');
    const r = rng(shape.reduce((a, b) => a * b, 7));
    const n = size(shape);
    const vox = n / shape[shape.length - 1];
    const logits = Float32Array.from({ length: n }, () => (r() - 0.5) * (scale ?? 10));
    const labelsOf = (k: number) => Int32Array.from({ length: vox }, () => Math.floor(r() * k));
    const spatial = shape.slice(0, -1);
    let fn: LossFn;
    if (head.kind === 'joint') {
      const labels = labelsOf(head.parts + 1);
      const whole = Float32Array.from(labels, (l) => (l > 0 ? 1 : r() < 0.1 ? 1 : 0));
      fn = (x) => lossFor(head)(x, { whole: tf.tensor(whole, spatial), labels: tf.tensor(labels, spatial, 'int32') }) as ReturnType<LossFn>;
    } else if (head.kind === 'sigmoid') {
      const tg = Float32Array.from({ length: n }, () => (r() < 0.3 ? 1 : 0));
      fn = (x) => lossFor(head)(x, tf.tensor(tg, shape)) as ReturnType<LossFn>;
    } else {
      const labels = labelsOf(head.classes);
      fn = (x) => lossFor(head)(x, tf.tensor(labels, spatial, 'int32')) as ReturnType<LossFn>;
    }
    const before = fusedCounts().loss;
    const f = evaluate(fn, logits, shape, true);
    expect(fusedCounts().loss - before, 'fused loss calls').toBe(fused ? 2 : 0);
    const u = evaluate(fn, logits, shape, false);
    expect(Math.abs(f.total - u.total), `total ${f.total} vs ${u.total}`).toBeLessThanOrEqual(1e-5 * Math.abs(u.total) + 1e-7);
    expect(Object.keys(f.comps).sort()).toEqual(Object.keys(u.comps).sort());
    for (const k of Object.keys(u.comps)) expect(Math.abs(f.comps[k] - u.comps[k]), k).toBeLessThanOrEqual(1e-5 * Math.abs(u.comps[k]) + 1e-7);
    expect(relDiff(f.grad, u.grad), 'gradient vs unfused').toBeLessThanOrEqual(1e-5);
  });
});

describe('the SIMD Adam vs tf.train.adam (wasm)', () => {
  it('five steps: weights and both moments bit for bit', async () => {
    await tf.setBackend('wasm');
    const shapes = [[3, 3, 1, 8], [8], [3, 3, 3, 8, 16], [20001], [1, 1, 16, 5]];
    const r = rng(11);
    const init = shapes.map((s) => Float32Array.from({ length: size(s) }, () => r() - 0.5));
    const grads = Array.from({ length: 5 }, () => shapes.map((s) => Float32Array.from({ length: size(s) }, () => (r() - 0.5) * (r() < 0.1 ? 10 : 0.01))));
    const run = (opt: tf.Optimizer, tag: string): Float32Array[] => {
      const vars = shapes.map((s, i) => tf.variable(tf.tensor(init[i], s), true, `simdadam${tag}_${i}`));
      for (const g of grads) tf.tidy(() => opt.applyGradients(Object.fromEntries(vars.map((v, i) => [v.name, tf.tensor(g[i], v.shape)]))));
      const moments = (opt as unknown as { accumulatedFirstMoment: Array<{ variable: tf.Variable }>; accumulatedSecondMoment: Array<{ variable: tf.Variable }> });
      const out = [...vars, ...moments.accumulatedFirstMoment.map((m) => m.variable), ...moments.accumulatedSecondMoment.map((m) => m.variable)].map((v) => Float32Array.from(v.dataSync()));
      tf.dispose(vars);
      opt.dispose();
      return out;
    };
    const before = fusedCounts().adam;
    const fused = run(new FusedAdam(0.01), 'fused');
    expect(fusedCounts().adam - before).toBe(5);
    const ref = run(tf.train.adam(0.01), 'ref');
    fused.forEach((a, i) => expect(Buffer.from(a.buffer).equals(Buffer.from(ref[i].buffer)), `tensor ${i} bit for bit`).toBe(true));
  });
});

describe('full pure-wasm training steps, every fusion on vs off (OSTEON_FUSE=0\'s graph)', () => {
  /** Both steps' losses, then every parameter after two Adam steps of a joint-head U-Net. */
  function twoSteps(dims: 2 | 3, fused: boolean): Float32Array[] {
    setFusion(fused);
    setSimdFusedKernels(fused);
    const cfg: UNetConfig = { spatialDims: dims, inChannels: 1, outChannels: 5, filters: [4, 8, 16], normalization: 'none', seed: 3 };
    const params = createParams(cfg);
    const opt = new FusedAdam(1e-3);
    try {
      const spatial = Array<number>(dims).fill(dims === 2 ? 16 : 8);
      const batch = [2, ...spatial];
      const n = size(batch);
      const r = rng(dims * 101);
      const labels = Int32Array.from({ length: n }, () => Math.floor(r() * 4));
      const x = tf.tensor(Float32Array.from({ length: n }, () => r() * 2 - 1), [...batch, 1]);
      const target = { whole: tf.tensor(Float32Array.from(labels, (l) => (l > 0 ? 1 : 0)), batch), labels: tf.tensor(labels, batch, 'int32') };
      // 2D the default weights; 3D with a weighted Dice term too.
      const head = lossFor({ kind: 'joint', parts: 3, posWeight: 3, a: 1, b: 1, c: dims === 3 ? 0.5 : 0 });
      const losses = new Float32Array(2);
      for (let s = 0; s < 2; s++) {
        const cost = opt.minimize(() => head(forward(params, cfg, x), target).total, true, [...params.values()])!;
        losses[s] = cost.dataSync()[0];
        cost.dispose();
      }
      tf.dispose([x, target.whole, target.labels]);
      return [losses, ...[...params.values()].map((v) => Float32Array.from(v.dataSync()))];
    } finally {
      opt.dispose();
      disposeParams(params);
      setFusion(true);
      setSimdFusedKernels(true);
    }
  }

  for (const threads of [1, 2]) {
    for (const dims of [2, 3] as const) {
      it(`${dims}D U-Net 4-8-16, joint head${dims === 3 ? ' with Dice' : ''}, 2 steps, ${threads} thread(s): every parameter within 1e-5 relative`, async () => {
        await tf.setBackend('wasm');
        await stopWasmThreads();
        // The direct convolutions on both arms and every thread: F(4×4) Winograd rounds at ~5e-6
        // (winograd.test.ts), which Adam's first steps magnify past 1e-5 where a gradient is near 0;
        // this test is about the fusions, not the convolution algorithm.
        const winogradEnv = process.env.OSTEON_WINOGRAD;
        const winograd = setWinograd(false);
        process.env.OSTEON_WINOGRAD = '0'; // the helpers read it when they start
        try {
          await runIt();
        } finally {
          setWinograd(winograd);
          if (winogradEnv === undefined) delete process.env.OSTEON_WINOGRAD;
          else process.env.OSTEON_WINOGRAD = winogradEnv;
          await stopWasmThreads();
        }
      }, 60_000);
      async function runIt(): Promise<void> {
        if (threads > 1) expect((await startWasmThreads(threads)).threads).toBe(threads);
        const counts = (): Record<string, number> => ({ ...fusedCounts(), ...simdFusedCounts() });
        const before = counts();
        const f = twoSteps(dims, true);
        const after = counts();
        expect(after.loss - before.loss).toBe(2);
        expect(after.adam - before.adam).toBe(2);
        expect(after.OsteonReluBiasGrad - (before.OsteonReluBiasGrad ?? 0)).toBeGreaterThan(0);
        expect(after.OsteonMaxPoolSkipGrad - (before.OsteonMaxPoolSkipGrad ?? 0)).toBeGreaterThan(0);
        const u = twoSteps(dims, false);
        expect(counts(), 'nothing fused ran with the fusions off').toEqual(after);
        expectClose(`${dims}D two steps, ${threads} thread(s)`, f, u, 1e-5);
      }
    }
  }
});
