// Osteon's SIMD wasm kernels (app/learning/kernels/simd) against tfjs's cpu backend, the
// reference: values and gradients, 2D and 3D shapes, channel counts that are and are not
// multiples of 4 (the SIMD width), ties in max-pool windows; then one whole U-Net training step
// (joint loss, Adam) on wasm with the kernels against the same step with them switched off.
// The committed wasm binary must be what scripts/build-simd.mjs builds from kernels.as.ts.
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../app/learning/backend.ts';
import { lossFor } from '../../app/learning/heads.ts';
import { createParams, disposeParams, forward, type UNetConfig } from '../../app/learning/model/unet.ts';
import { simdUnavailable } from '../../app/learning/kernels/index.ts';
import { setSimdKernels, simdCalls } from '../../app/learning/kernels/simd/simd.ts';
import { setWinograd } from '../../app/learning/kernels/simd/winograd.ts';
import { SIMD_RELAXED_WASM_BASE64, SIMD_WASM_BASE64 } from '../../app/learning/kernels/simd/simd_wasm.ts';
import { compareFinite, expectClose, on, printWorst, rand, relDiff, size } from './kernels-helpers.ts';

let kernels: string[] = [];

/** The WebAssembly API used here (tsconfig's lib has no WebAssembly types). */
const WA = (globalThis as unknown as {
  WebAssembly: {
    Memory: new (d: { initial: number }) => { buffer: ArrayBuffer };
    Module: new (b: Uint8Array) => object;
    Instance: new (m: object, i: object) => { exports: unknown };
    validate(b: Uint8Array): boolean;
  };
}).WebAssembly;

beforeAll(async () => {
  const r = await initBackend({ prefer: 'wasm' });
  expect(r.name).toBe('wasm');
  kernels = r.kernels;
});
afterAll(() => printWorst('simd-kernels'));


const t = (shape: number[], seed: number): tf.Tensor => tf.tensor(rand(size(shape), seed), shape);

/** y and d<y, r>/dx for each x, r a fixed random cotangent. */
function withGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], seed = 99): tf.Tensor[] {
  const y = f(...xs);
  const r = t(y.shape, seed);
  const gs = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), r)))(xs);
  return [y, ...gs];
}

describe('SIMD wasm kernels', () => {
  it('are registered on wasm', () => {
    expect(simdUnavailable()).toBeNull();
    for (const k of ['Concat', 'SplitV', 'Slice', 'Sum', 'Add', 'MaxPoolGrad', 'MaxPool3DGrad', 'Identity']) expect(kernels).toContain(`wasm-simd:${k}`);
  });

  it('the committed module is the one kernels.as.ts compiles to', async () => {
    // A variable specifier: the build script is plain .mjs without type declarations.
    const script: string = '../../scripts/build-simd.mjs';
    const { compileSimd } = (await import(script)) as { compileSimd: (relaxed: boolean) => Promise<Uint8Array> };
    expect(Buffer.from(await compileSimd(false)).toString('base64'), 'run node scripts/build-simd.mjs').toBe(SIMD_WASM_BASE64);
    expect(Buffer.from(await compileSimd(true)).toString('base64'), 'run node scripts/build-simd.mjs').toBe(SIMD_RELAXED_WASM_BASE64);
    // No data segment: the module writes only where its callers point it.
    expect(readFileSync(new URL('../../app/learning/kernels/simd/simd.ts', import.meta.url), 'utf8')).toContain('env: { memory }');
  });

  for (const shapes of [[[2, 5, 6, 3], [2, 5, 6, 4]], [[1, 3, 4, 5, 8], [1, 3, 4, 5, 16]], [[4, 6, 6, 1], [4, 6, 6, 3]]]) {
    it(`concat / split ${JSON.stringify(shapes)} on every axis, with gradients`, async () => {
      const rank = shapes[0].length;
      for (let axis = 0; axis < rank; axis++) {
        const s2 = shapes[0].map((d, i) => (i === axis ? shapes[1][rank - 1] : d));
        await compareFinite(`concat axis ${axis} rank ${rank}`, () => withGrads((a, b) => tf.concat([a, b], axis), [t(shapes[0], 1), t(s2, 2)]));
        await compareFinite(`split axis ${axis} rank ${rank}`, () => withGrads((a) => tf.concat(tf.split(a, [1, shapes[0][axis] - 1], axis).map((p, i) => tf.mul(p, i + 1)), axis), [t(shapes[0], 3)]));
      }
      await compareFinite(`concat of three, rank ${rank}`, () => withGrads((a, b, c) => tf.concat([a, b, c], -1), [t(shapes[0], 4), t(shapes[1], 5), t(shapes[0], 6)]));
    });
  }

  it('slice of one axis (and of two, which falls back), with gradients', async () => {
    await compareFinite('slice last axis 2D', () => withGrads((a) => tf.slice(a, [0, 0, 0, 1], [-1, -1, -1, 4]), [t([2, 5, 6, 5], 7)]));
    await compareFinite('slice middle axis 3D', () => withGrads((a) => tf.slice(a, [0, 1, 0, 0, 0], [-1, 2, -1, -1, -1]), [t([2, 4, 3, 5, 6], 8)]));
    await compareFinite('slice two axes', () => withGrads((a) => tf.slice(a, [0, 1, 0, 2], [-1, 3, -1, 2]), [t([2, 5, 6, 5], 9)]));
  });

  it('sum over leading and middle axes, keepDims, with gradients', async () => {
    await compareFinite('bias grad 2D C16', () => withGrads((a) => tf.sum(a, [0, 1, 2]), [t([3, 17, 9, 16], 10)]));
    await compareFinite('bias grad 2D C5', () => withGrads((a) => tf.sum(a, [0, 1, 2]), [t([2, 65, 7, 5], 11)]));
    await compareFinite('bias grad 3D C8', () => withGrads((a) => tf.sum(a, [0, 1, 2, 3]), [t([1, 6, 7, 5, 8], 12)]));
    await compareFinite('middle axes keepDims', () => withGrads((a) => tf.sum(a, [1, 2], true), [t([3, 4, 70, 6], 13)]));
    await compareFinite('innermost (built-in)', () => withGrads((a) => tf.sum(a, -1), [t([3, 4, 6], 14)]));
  });

  it('sum of 2^20 values keeps float64-level accuracy', async () => {
    const n = 1 << 20;
    const v = new Float32Array(n * 4).map((_, i) => 0.1 + (i % 7) * 1e-3);
    let ref = [0, 0, 0, 0];
    for (let i = 0; i < v.length; i++) ref[i % 4] += v[i];
    const got = await on('wasm', () => [tf.sum(tf.tensor(v, [n, 4]), 0)]);
    ref = ref.map((r) => Math.fround(r));
    expect(relDiff(got[0], Float32Array.from(ref))).toBeLessThan(1e-6);
  });

  it('bias add (either order, rank 4 and 5, C not a multiple of 4), with gradients', async () => {
    await compareFinite('bias add 2D C16', () => withGrads((a, b) => tf.add(a, b), [t([2, 5, 6, 16], 15), t([16], 16)]));
    await compareFinite('bias add 2D C5 reversed', () => withGrads((a, b) => tf.add(b, a), [t([2, 5, 6, 5], 17), t([5], 18)]));
    await compareFinite('bias add 3D [1,1,1,1,C]', () => withGrads((a, b) => tf.add(a, b), [t([1, 3, 4, 5, 8], 19), t([1, 1, 1, 1, 8], 20)]));
    await compareFinite('same-shape add (built-in)', () => withGrads((a, b) => tf.add(a, b), [t([2, 3, 4], 21), t([2, 3, 4], 22)]));
  });

  /** Input data with ties inside windows (values from a small set), and a -inf window. */
  function pooled(shape: number[], seed: number): tf.Tensor {
    const v = rand(size(shape), seed).map((x) => Math.round(x * 3) / 3);
    v.fill(-Infinity, 0, Math.min(v.length, 8));
    return tf.tensor(v, shape);
  }

  it('max-pool 2D gradient: 2x2 s2, odd sizes, ties, C 1/3/4/6; padded pools fall back', async () => {
    for (const shape of [[2, 8, 6, 4], [1, 7, 9, 3], [3, 4, 4, 1], [1, 6, 6, 6]]) {
      await compareFinite(`maxPool2D grad ${JSON.stringify(shape)}`, () => withGrads((a) => tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid'), [pooled(shape, 23)]));
    }
    await compareFinite('maxPool2D 3x3 s3', () => withGrads((a) => tf.maxPool(a as tf.Tensor4D, 3, 3, 'valid'), [pooled([1, 9, 7, 5], 24)]));
    // Tie-free data: on ties the wasm built-in and the cpu backend choose different inputs.
    await compareFinite('maxPool2D 3x3 s2 overlapping (built-in)', () => withGrads((a) => tf.maxPool(a as tf.Tensor4D, 3, 2, 'valid'), [t([1, 7, 7, 4], 25)]));
  });

  it('max-pool 3D gradient: 2x2x2 s2, odd sizes, ties, C 1/4/6', async () => {
    for (const shape of [[1, 4, 6, 4, 4], [2, 5, 4, 3, 1], [1, 4, 4, 4, 6]]) {
      await compareFinite(`maxPool3D grad ${JSON.stringify(shape)}`, () => withGrads((a) => tf.maxPool3d(a as tf.Tensor5D, 2, 2, 'valid'), [pooled(shape, 26)]));
    }
  });

  it('conv filter gradient (per tap, SIMD): 2D and 3D, C and CO multiples of 4 (8-wide tiles and a 4-wide tail), several position blocks', async () => {
    const cases: Array<[string, number[], number[], 'same' | 'valid']> = [
      ['2D C4→8 3x3 same', [2, 12, 14, 4], [3, 3, 4, 8], 'same'],
      ['2D C8→12 3x3 same', [1, 9, 11, 8], [3, 3, 8, 12], 'same'],
      ['2D C4→4 2x3 valid', [2, 7, 6, 4], [2, 3, 4, 4], 'valid'],
      ['2D C16→20 1x1 valid', [2, 6, 5, 16], [1, 1, 16, 20], 'valid'],
      ['3D C4→8 3³ same', [1, 5, 6, 7, 4], [3, 3, 3, 4, 8], 'same'],
      ['3D C8→4 2x3x3 valid', [2, 4, 4, 5, 8], [2, 3, 3, 8, 4], 'valid'],
    ];
    for (const [label, xs, fs, pad] of cases) {
      const conv = (a: tf.Tensor, w: tf.Tensor): tf.Tensor => xs.length === 4
        ? tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, 1, pad)
        : tf.conv3d(a as tf.Tensor5D, w as tf.Tensor5D, 1, pad as 'same' | 'valid');
      const before = simdCalls();
      const wino = setWinograd(false); // 3×3 stride 1 would go to the Winograd filter gradient (winograd.test.ts)
      await compareFinite(`conv dW ${label}`, () => withGrads(conv, [t(xs, 40), t(fs, 41)]), 2e-5).finally(() => setWinograd(wino));
      expect(simdCalls(), `${label} used the SIMD filter gradient`).toBeGreaterThan(before);
    }
  });

  it('the relaxed-SIMD build (fused multiply-add) gives the plain build\'s filter gradient', (ctx) => {
    // Node 20 validates relaxed SIMD only behind this V8 flag (Electron and Node 22+ by default).
    if (!WA.validate(Buffer.from(SIMD_RELAXED_WASM_BASE64, 'base64'))) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    if (!WA.validate(Buffer.from(SIMD_RELAXED_WASM_BASE64, 'base64'))) return ctx.skip();
    const [S, C, CO, KH, KW, Wp] = [700, 8, 12, 3, 3, 20];
    const slack = (KH - 1) * Wp + KW - 1;
    const xs = rand((S + slack) * C, 50), dys = rand(S * CO, 51);
    const dW = (b64: string): Float32Array => {
      const memory = new WA.Memory({ initial: 2 });
      const k = new WA.Instance(new WA.Module(Buffer.from(b64, 'base64')), { env: { memory } }).exports as { convFilterGrad: (...a: number[]) => void };
      const f = new Float32Array(memory.buffer);
      const xp = 0, dyp = xs.length, out = dyp + dys.length;
      f.set(xs, xp);
      f.set(dys, dyp);
      k.convFilterGrad(4 * xp, 4 * dyp, 4 * out, S, C, CO, 1, KH, KW, 0, Wp, 1);
      return f.slice(out, out + KH * KW * C * CO);
    };
    expectClose('relaxed vs plain SIMD filter gradient', [dW(SIMD_RELAXED_WASM_BASE64)], [dW(SIMD_WASM_BASE64)], 1e-5);
  });

  it('identity shares the buffer and outlives its source', async () => {
    await tf.setBackend('wasm');
    const a = t([3, 4], 27);
    const want = a.dataSync().slice();
    const b = tf.clone(a);
    a.dispose();
    expect(Array.from(b.dataSync())).toEqual(Array.from(want));
    b.dispose();
  });

  it('leaks neither tensors nor wasm heap buffers', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const run = (): void => {
      tf.tidy(() => {
        withGrads((a, b) => tf.concat([tf.add(a, b), a], -1), [t([2, 4, 4, 8], 28), t([8], 29)]);
        withGrads((a) => tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid'), [t([1, 4, 4, 4], 30)]);
        withGrads((a) => tf.sum(a, [0, 1, 2]), [t([1, 4, 4, 4], 31)]);
        withGrads((a) => tf.slice(a, [0, 0, 0, 1], [-1, -1, -1, 2]), [t([1, 4, 4, 4], 32)]);
      });
    };
    run();
    const tensors = tf.memory().numTensors, ids = backend.numDataIds();
    run();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(backend.numDataIds()).toBe(ids);
  });
});

describe('a whole pure-wasm training step with and without the SIMD kernels', () => {
  /** Loss and every parameter after one Adam step, from the same seed. */
  async function step(dims: 2 | 3, simd: boolean): Promise<Float32Array[]> {
    await tf.setBackend('wasm');
    const old = setSimdKernels(simd);
    // Direct convolutions on both arms: this compares the SIMD kernels, not the convolution
    // algorithm (F(4×4) Winograd's ~5e-6 rounding, magnified by Adam near zero gradients).
    const wino = setWinograd(false);
    try {
      const cfg: UNetConfig = { spatialDims: dims, inChannels: 1, outChannels: 5, filters: [4, 8], normalization: 'none', seed: 3 };
      const params = createParams(cfg);
      const spatial = Array(dims).fill(dims === 2 ? 16 : 8);
      const n = 2 * size(spatial);
      const lab = Int32Array.from({ length: n }, (_, i) => Math.floor(Math.abs(Math.sin(i * 12.9898 + 2)) * 4) % 4);
      const x = tf.tensor(rand(n, 33), [2, ...spatial, 1]);
      const labels = tf.tensor(lab, [2, ...spatial], 'int32');
      const whole = tf.tensor(Float32Array.from(lab, (v) => (v > 0 ? 1 : 0)), [2, ...spatial]);
      const loss = lossFor({ kind: 'joint', parts: 3, posWeight: 3, a: 1, b: 1, c: 0 });
      const opt = tf.train.adam(1e-3);
      const calls = simdCalls();
      const cost = opt.minimize(() => loss(forward(params, cfg, x), { whole, labels }).total, true, [...params.values()])!;
      const out = [cost.dataSync() as Float32Array, ...[...params.values()].map((v) => v.dataSync() as Float32Array)];
      // The kernels take part in the step (concat, split, bias add and gradient, pool gradient).
      if (simd) expect(simdCalls() - calls).toBeGreaterThan(10);
      else expect(simdCalls()).toBe(calls);
      tf.dispose([cost, x, labels, whole]);
      opt.dispose();
      disposeParams(params);
      return out;
    } finally {
      setSimdKernels(old);
      setWinograd(wino);
    }
  }

  for (const dims of [2, 3] as const) {
    it(`${dims}D: loss and updated parameters within 1e-5 relative`, async () => {
      const got = await step(dims, true);
      const ref = await step(dims, false);
      expectClose(`${dims}D training step`, got, ref, 1e-5);
    });
  }
});
