// The pure-wasm rung's Winograd convolutions (app/learning/kernels/simd/winograd.ts) against
// tfjs's cpu backend (direct float32 convolutions, the reference): Conv2D, FusedConv2D and
// Conv2DBackpropInput with F(2×2, 3×3) and F(4×4, 3×3), odd sizes, batch > 1, 'same', 'valid'
// and explicit pads, channel counts that are not multiples of 4 (those fall back), gradients
// through tf.grad, the filter gradients (Conv2DBackpropFilter, and Conv3DBackpropFilterV2 as
// in-plane slices) too; then two pure-wasm U-Net training steps with and without Winograd, on one
// thread and split over a helper thread. The committed wasm must be what the build script makes.
//
// Tolerances (max|diff| / max|ref|, kernels-helpers.ts): Winograd's transforms add and subtract
// scaled copies of the inputs before the products (F(4×4)'s by factors up to 5 in Bᵀ and 8 in
// Aᵀ), so its rounding error is that of sums of larger terms. Measured against a float64 direct
// convolution on ReLU activations with He-scaled filters at the U-Net's widths 16–128 (the
// 'accuracy' check): XNNPACK's direct float32 convolution 3.9e-7–7.6e-7, F(2×2) 2.0e-7–4.3e-7,
// F(4×4) 1.7e-6–4.7e-6, growing with the channel count. Against the cpu backend on the cases
// below the worst seen was 4.7e-7 (F(2×2)) and 5.1e-6 (F(4×4), the model's gradients). The
// checks allow 2e-6 for F(2×2) and 2e-5 for F(4×4), about 4× the worst seen.
import v8 from 'node:v8';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../app/learning/backend.ts';
import { lossFor } from '../../app/learning/heads.ts';
import { createParams, disposeParams, forward, type UNetConfig } from '../../app/learning/model/unet.ts';
import { setWinograd, setWinogradTile, winogradCalls, winogradFlavor, winogradUnavailable } from '../../app/learning/kernels/simd/winograd.ts';
import { WINOGRAD_RELAXED_WASM_BASE64, WINOGRAD_WASM_BASE64 } from '../../app/learning/kernels/simd/winograd_wasm.ts';
import { setSplitKernels, startWasmThreads, stopWasmThreads, splitCalls } from '../../app/learning/kernels/parallel/pool.ts';
import { expectClose, on, printWorst, rand, relDiff, size, worst } from './kernels-helpers.ts';

const TOL = { 2: 2e-6, 4: 2e-5 } as const;

/** The WebAssembly API used here (tsconfig's lib has no WebAssembly types). */
const WA = (globalThis as unknown as {
  WebAssembly: {
    Memory: new (d: { initial: number }) => { buffer: ArrayBuffer };
    Module: new (b: Uint8Array) => object;
    Instance: new (m: object, i: object) => { exports: unknown };
    validate(b: Uint8Array): boolean;
  };
}).WebAssembly;
let kernels: string[] = [];

beforeAll(async () => {
  const r = await initBackend({ prefer: 'wasm' });
  expect(r.name).toBe('wasm');
  kernels = r.kernels;
}, 60_000);
afterAll(async () => {
  printWorst('winograd');
  setWinogradTile(0);
  await stopWasmThreads();
});

const t = (shape: number[], seed: number, scale = 1): tf.Tensor => tf.tensor(rand(size(shape), seed).map((v) => v * scale), shape);

/** y and d<y, r>/dx for each x, r a fixed random cotangent. */
function withGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], seed = 99): tf.Tensor[] {
  const y = f(...xs);
  const r = t(y.shape, seed);
  const gs = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), r)))(xs);
  return [y, ...gs];
}

const calls = (k: string): number => winogradCalls()[k] ?? 0;

async function compare(label: string, fn: () => tf.Tensor[], tol: number): Promise<void> {
  const got = await on('wasm', fn);
  const ref = await on('cpu', fn);
  expectClose(label, got, ref, tol);
}

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

describe('Winograd convolutions on wasm', () => {
  it('are registered, and the committed module is what winograd.as.ts compiles to', async () => {
    expect(winogradUnavailable()).toBeNull();
    for (const k of ['Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter']) expect(kernels).toContain(`wasm-winograd:${k}`);
    const script: string = '../../scripts/build-simd.mjs';
    const { compileSimd } = (await import(script)) as { compileSimd: (relaxed: boolean, source: string) => Promise<Uint8Array> };
    const source = 'app/learning/kernels/simd/winograd.as.ts';
    expect(Buffer.from(await compileSimd(false, source)).toString('base64'), 'run node scripts/build-simd.mjs').toBe(WINOGRAD_WASM_BASE64);
    expect(Buffer.from(await compileSimd(true, source)).toString('base64'), 'run node scripts/build-simd.mjs').toBe(WINOGRAD_RELAXED_WASM_BASE64);
  });

  const cases: Array<[string, number[], number[], Pad]> = [
    ['same, C8→12, 9×11, batch 2', [2, 9, 11, 8], [3, 3, 8, 12], 'same'],
    ['valid, C4→8, 10×7, batch 3', [3, 10, 7, 4], [3, 3, 4, 8], 'valid'],
    ['explicit pads (2,0)(0,1), C4→4, 7×13', [2, 7, 13, 4], [3, 3, 4, 4], [[0, 0], [2, 0], [0, 1], [0, 0]]],
    ['same, C16→8, 3×5 (smaller than a tile)', [1, 3, 5, 16], [3, 3, 16, 8], 'same'],
    ['same, C12→20, 17×9 (4-wide product tail)', [2, 17, 9, 12], [3, 3, 12, 20], 'same'],
    // Interior tiles (patch inside the image, whole output and dy tiles: the paths without bounds
    // checks) beside edge ones, at the U-Net's narrowest width. Under 2^20 multiply-adds, as every
    // case here: a larger call is split over the helper thread, which keeps its own tile setting.
    ['same, C16→16, 16×20 (interior and edge tiles)', [1, 16, 20, 16], [3, 3, 16, 16], 'same'],
  ];
  for (const m of [2, 4] as const) {
    it(`F(${m}×${m}, 3×3): Conv2D, its input gradient and its filter gradient against the cpu backend`, async () => {
      setWinogradTile(m);
      try {
        for (const [label, xs, fs, pad] of cases) {
          const before = [calls('Conv2D'), calls('Conv2DBackpropInput'), calls('Conv2DBackpropFilter')];
          await compare(`F${m} conv ${label}`, () => withGrads((a, w) => tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, 1, pad), [t(xs, 1), t(fs, 2)]), TOL[m]);
          expect(calls('Conv2D'), `${label}: forward ran as Winograd`).toBeGreaterThan(before[0]);
          expect(calls('Conv2DBackpropInput'), `${label}: dx ran as Winograd`).toBeGreaterThan(before[1]);
          expect(calls('Conv2DBackpropFilter'), `${label}: dW ran as Winograd`).toBeGreaterThan(before[2]);
        }
      } finally {
        setWinogradTile(0);
      }
    });

    it(`F(${m}×${m}, 3×3): FusedConv2D with bias and ReLU, bias alone, ReLU alone; with gradients`, async () => {
      setWinogradTile(m);
      try {
        const before = calls('FusedConv2D');
        const x = (): tf.Tensor => t([2, 10, 9, 8], 3);
        const fused = (activation: 'relu' | 'linear', withBias: boolean) => (a: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor =>
          tf.fused.conv2d({ x: a as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 1, pad: 'same', bias: withBias ? b : undefined, activation });
        await compare(`F${m} fused bias+relu`, () => withGrads(fused('relu', true), [x(), t([3, 3, 8, 12], 4), t([12], 5)]), TOL[m]);
        await compare(`F${m} fused bias`, () => withGrads(fused('linear', true), [x(), t([3, 3, 8, 12], 6), t([12], 7)]), TOL[m]);
        await compare(`F${m} fused relu, no bias`, () => [fused('relu', false)(x(), t([3, 3, 8, 12], 8), t([12], 9))], TOL[m]);
        expect(calls('FusedConv2D') - before).toBeGreaterThanOrEqual(3);
      } finally {
        setWinogradTile(0);
      }
    });
  }

  it('falls back for channels that are not multiples of 4, other filters, strides and activations', async () => {
    const before = JSON.stringify(winogradCalls());
    await compare('fallback C3→5', () => withGrads((a, w) => tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'), [t([2, 7, 7, 3], 10), t([3, 3, 3, 5], 11)]), 2e-6);
    await compare('fallback C4→6', () => withGrads((a, w) => tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'), [t([2, 6, 6, 4], 12), t([3, 3, 4, 6], 13)]), 2e-6);
    await compare('fallback 5×5', () => [tf.conv2d(t([1, 9, 9, 4], 14) as tf.Tensor4D, t([5, 5, 4, 4], 15) as tf.Tensor4D, 1, 'same')], 2e-6);
    await compare('fallback stride 2', () => [tf.conv2d(t([1, 9, 9, 4], 16) as tf.Tensor4D, t([3, 3, 4, 4], 17) as tf.Tensor4D, 2, 'same')], 2e-6);
    await compare('fallback dilation 2', () => [tf.conv2d(t([1, 9, 9, 4], 16) as tf.Tensor4D, t([3, 3, 4, 4], 17) as tf.Tensor4D, 1, 'same', 'NHWC', 2)], 2e-6);
    await compare('fallback elu', () => [tf.fused.conv2d({ x: t([1, 8, 8, 4], 18) as tf.Tensor4D, filter: t([3, 3, 4, 4], 19) as tf.Tensor4D, pad: 'same', strides: 1, activation: 'elu' })], 2e-6);
    expect(JSON.stringify(winogradCalls())).toBe(before);
  });

  it('filter gradient with input channels that are not a multiple of 4 (zero channels added): C1→8, C3→4, C6→12', async () => {
    for (const [label, xs, fs] of [['C1→8', [2, 11, 9, 1], [3, 3, 1, 8]], ['C3→4', [3, 6, 7, 3], [3, 3, 3, 4]], ['C6→12', [1, 10, 10, 6], [3, 3, 6, 12]]] as const) {
      const before = calls('Conv2DBackpropFilter');
      await compare(`dW ${label}`, () => withGrads((a, w) => tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'), [t([...xs], 50), t([...fs], 51)]).slice(2), TOL[4]);
      expect(calls('Conv2DBackpropFilter'), `${label}: dW ran as Winograd`).toBeGreaterThan(before);
    }
  });

  it('3D filter gradient (KD×3×3, stride 1) as in-plane Winograd filter gradients per depth tap', async () => {
    const cases: Array<[string, number[], number[], 'same' | 'valid']> = [
      ['3×3×3 same C4→8 batch 2', [2, 5, 9, 7, 4], [3, 3, 3, 4, 8], 'same'],
      ['3×3×3 valid C8→4', [1, 6, 8, 10, 8], [3, 3, 3, 8, 4], 'valid'],
      ['3×3×3 same C1→8 (first layer)', [1, 4, 8, 8, 1], [3, 3, 3, 1, 8], 'same'],
      ['2×3×3 same C4→4', [1, 5, 6, 6, 4], [2, 3, 3, 4, 4], 'same'],
    ];
    for (const [label, xs, fs, pad] of cases) {
      const before = calls('Conv3DBackpropFilterV2');
      await compare(`3D dW ${label}`, () => withGrads((a, w) => tf.conv3d(a as tf.Tensor5D, w as tf.Tensor5D, 1, pad), [t(xs, 60), t(fs, 61)]), TOL[4]);
      expect(calls('Conv3DBackpropFilterV2'), `${label}: dW ran as Winograd slices`).toBeGreaterThan(before);
    }
  });

  it('a small model\'s gradients through tf.grad (conv, bias, ReLU, conv), tile chosen per call', async () => {
    const before = calls('Conv2D') + calls('FusedConv2D');
    const model = (x: tf.Tensor, w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor): tf.Tensor =>
      tf.conv2d(tf.relu(tf.add(tf.conv2d(x as tf.Tensor4D, w1 as tf.Tensor4D, 1, 'same'), b1)) as tf.Tensor4D, w2 as tf.Tensor4D, 1, 'same');
    await compare('model grads', () => withGrads(model, [t([3, 13, 10, 4], 20), t([3, 3, 4, 16], 21, 0.5), t([16], 22, 0.1), t([3, 3, 16, 8], 23, 0.3)]), TOL[4]);
    expect(calls('Conv2D') + calls('FusedConv2D')).toBeGreaterThan(before);
  });

  it('accuracy on U-Net-like activations (ReLU inputs, He-scaled filters) at the four level widths, against float64', async () => {
    // The error of F(4×4) grows with the magnitude of what its transforms add up, so this uses
    // realistic magnitudes (not uniform(−1, 1)) and a float64 direct convolution as the truth;
    // XNNPACK's direct float32 convolution (Winograd off) is measured the same way beside it.
    await tf.setBackend('wasm');
    const report: string[] = [];
    for (const C of [16, 32, 64, 128]) {
      const [H, W] = [12, 12];
      const xs = rand(H * W * C, 30 + C).map((v) => Math.max(0, 2 * v));
      const ws = rand(9 * C * C, 31 + C).map((v) => v * Math.sqrt(6 / (9 * C)));
      const ref = new Float64Array(H * W * C);
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          for (let kh = 0; kh < 3; kh++) {
            for (let kw = 0; kw < 3; kw++) {
              const iy = y + kh - 1, ix = x + kw - 1;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              for (let ci = 0; ci < C; ci++) {
                const v = xs[(iy * W + ix) * C + ci];
                const wo = ((kh * 3 + kw) * C + ci) * C;
                for (let co = 0; co < C; co++) ref[(y * W + x) * C + co] += v * ws[wo + co];
              }
            }
          }
        }
      }
      // The filter gradient for a cotangent dy (uniform(−1, 1)), in float64.
      const dys = rand(H * W * C, 32 + C);
      const refW = new Float64Array(9 * C * C);
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          for (let kh = 0; kh < 3; kh++) {
            for (let kw = 0; kw < 3; kw++) {
              const iy = y + kh - 1, ix = x + kw - 1;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              for (let ci = 0; ci < C; ci++) {
                const v = xs[(iy * W + ix) * C + ci];
                const wo = ((kh * 3 + kw) * C + ci) * C;
                const d = (y * W + x) * C;
                for (let co = 0; co < C; co++) refW[wo + co] += v * dys[d + co];
              }
            }
          }
        }
      }
      const err = (m: 0 | 2 | 4, grad = false): number => {
        const old = setWinograd(m !== 0);
        setWinogradTile(m === 0 ? 0 : m);
        try {
          const want = grad ? refW : ref;
          const got = tf.tidy(() => grad
            ? (tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.tensor(xs, [1, H, W, C]), dy: tf.tensor(dys, [1, H, W, C]) }, { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, C, C] }) as tf.Tensor).dataSync()
            : tf.conv2d(tf.tensor(xs, [1, H, W, C]) as tf.Tensor4D, tf.tensor(ws, [3, 3, C, C]) as tf.Tensor4D, 1, 'same').dataSync());
          let num = 0, den = 0;
          for (let i = 0; i < want.length; i++) {
            num = Math.max(num, Math.abs(got[i] - want[i]));
            den = Math.max(den, Math.abs(want[i]));
          }
          return num / den;
        } finally {
          setWinograd(old);
          setWinogradTile(0);
        }
      };
      for (const grad of [false, true]) {
        const [direct, f2, f4] = [err(0, grad), err(2, grad), err(4, grad)];
        const what = grad ? 'dW' : 'y';
        report.push(`${what} C${C}: direct ${direct.toExponential(2)}, F2 ${f2.toExponential(2)}, F4 ${f4.toExponential(2)}`);
        worst.set(`accuracy vs float64 ${what} C${C} F2`, f2);
        worst.set(`accuracy vs float64 ${what} C${C} F4`, f4);
        expect(f2, `F(2×2) ${what} C${C}`).toBeLessThan(TOL[2]);
        expect(f4, `F(4×4) ${what} C${C}`).toBeLessThan(TOL[4]);
      }
    }
    process.stderr.write(`winograd accuracy (max|err|/max|ref| vs float64): ${report.join('; ')}\n`);
  });

  it('relaxed-SIMD build (fused multiply-add in the products) gives the plain build\'s result', async (ctx) => {
    // Node 20 validates relaxed SIMD only behind this V8 flag. It is process-wide, so it is reset
    // afterwards: helper threads started later would load the relaxed build of the other SIMD
    // module (simd.ts) while this thread runs its plain one, and their values would differ by the
    // fused multiply-add's rounding.
    const flagged = !WA.validate(Buffer.from(WINOGRAD_RELAXED_WASM_BASE64, 'base64'));
    if (flagged) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    ctx.onTestFinished(() => {
      if (flagged) v8.setFlagsFromString('--no-experimental-wasm-relaxed-simd');
    });
    if (!WA.validate(Buffer.from(WINOGRAD_RELAXED_WASM_BASE64, 'base64'))) return ctx.skip();
    const [N, H, W, Ci, Co, m] = [1, 9, 10, 8, 12, 4];
    const a2 = (m + 2) ** 2, T = 8;
    const xs = rand(N * H * W * Ci, 60), fs = rand(9 * Ci * Co, 61);
    const run = (b64: string): Float32Array => {
      const memory = new WA.Memory({ initial: 4 });
      const k = new WA.Instance(new WA.Module(Buffer.from(b64, 'base64')), { env: { memory } }).exports as Record<string, (...a: number[]) => void>;
      const f = new Float32Array(memory.buffer);
      const x = 0, fl = xs.length, U = fl + fs.length, out = U + a2 * Ci * Co, scratch = out + N * H * W * Co;
      f.set(xs, x);
      f.set(fs, fl);
      k.filterTransform(4 * fl, 4 * U, Ci, Co, m, 0, 4 * scratch);
      k.conv(4 * x, 4 * U, 0, 4 * out, 4 * scratch, N, H, W, Ci, Co, H, W, 1, 1, 0, m, T);
      return f.slice(out, out + N * H * W * Co);
    };
    expectClose('relaxed vs plain Winograd', [run(WINOGRAD_RELAXED_WASM_BASE64)], [run(WINOGRAD_WASM_BASE64)], 1e-5);
  });

  it('runs the relaxed-SIMD build; in Node 20 V8\'s flag is on for its compile only', () => {
    // Electron and Node 22+ validate relaxed SIMD; Node 20 behind --experimental-wasm-relaxed-simd,
    // which loadWinograd sets for the one compilation and clears (a flag left on would make helper
    // threads started later load their other SIMD module's relaxed build).
    const relaxed = Buffer.from(WINOGRAD_RELAXED_WASM_BASE64, 'base64');
    if (process.env.OSTEON_WASM_RELAXED === '0') expect(winogradFlavor()).toBe('simd');
    else expect(winogradFlavor()).toBe('relaxed-simd');
    if (/^v20\./.test(process.version)) expect(WA.validate(relaxed), 'the V8 flag is off again').toBe(false);
  });

  it('leaks neither tensors nor wasm heap buffers', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const go = (): void => {
      tf.tidy(() => {
        withGrads((a, w) => tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'), [t([2, 8, 8, 8], 40), t([3, 3, 8, 8], 41)]);
        tf.fused.conv2d({ x: t([1, 8, 8, 4], 42) as tf.Tensor4D, filter: t([3, 3, 4, 8], 43) as tf.Tensor4D, pad: 'same', strides: 1, bias: t([8], 44), activation: 'relu' });
      });
    };
    go();
    const tensors = tf.memory().numTensors, ids = backend.numDataIds();
    go();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(backend.numDataIds()).toBe(ids);
  });
});

describe('pure-wasm U-Net training steps with and without Winograd', () => {
  /** Loss of each of 2 Adam steps, then every parameter, from the same seed. */
  async function steps(winograd: boolean): Promise<Float32Array[]> {
    await tf.setBackend('wasm');
    const old = setWinograd(winograd);
    try {
      const cfg: UNetConfig = { spatialDims: 2, inChannels: 1, outChannels: 5, filters: [8, 16], normalization: 'none', seed: 3 };
      const params = createParams(cfg);
      const n = 2 * 32 * 32;
      const lab = Int32Array.from({ length: n }, (_, i) => Math.floor(Math.abs(Math.sin(i * 12.9898 + 2)) * 4) % 4);
      const x = tf.tensor(rand(n, 33), [2, 32, 32, 1]);
      const labels = tf.tensor(lab, [2, 32, 32], 'int32');
      const whole = tf.tensor(Float32Array.from(lab, (v) => (v > 0 ? 1 : 0)), [2, 32, 32]);
      const loss = lossFor({ kind: 'joint', parts: 3, posWeight: 3, a: 1, b: 1, c: 0 });
      const opt = tf.train.adam(LR);
      const before = calls('Conv2D') + calls('FusedConv2D') + calls('Conv2DBackpropInput') + calls('Conv2DBackpropFilter');
      const losses: number[] = [];
      for (let s = 0; s < 2; s++) {
        const cost = opt.minimize(() => loss(forward(params, cfg, x), { whole, labels }).total, true, [...params.values()])!;
        losses.push(cost.dataSync()[0]);
        cost.dispose();
      }
      const ran = calls('Conv2D') + calls('FusedConv2D') + calls('Conv2DBackpropInput') + calls('Conv2DBackpropFilter') - before;
      if (winograd) expect(ran, 'Winograd convolutions in the steps').toBeGreaterThan(4);
      else expect(ran).toBe(0);
      const out = [Float32Array.from(losses), ...[...params.values()].map((v) => v.dataSync() as Float32Array)];
      tf.dispose([x, labels, whole]);
      opt.dispose();
      disposeParams(params);
      return out;
    } finally {
      setWinograd(old);
    }
  }

  // Bounds: the losses within 1e-5 relative. The parameters not relatively: after Adam's first
  // steps each parameter has moved by about lr·m/(√v + ε) ≈ ±lr per step whatever its gradient's
  // size, so a parameter whose gradient lies within Winograd's rounding (≤ 5e-6 of the tensor's
  // largest gradient, above) of 0 may move differently by up to ~lr. So: every parameter within
  // 0.25·lr (absolute) of the direct run's after 2 steps; measured (see the printed report)
  // 0.04–0.08·lr. A real difference (a wrong kernel) moves the loss and whole tensors.
  const LR = 1e-3;
  function agree(label: string, got: Float32Array[], ref: Float32Array[]): void {
    expectClose(`${label}: losses`, [got[0]], [ref[0]], 1e-5);
    let d = 0;
    for (let i = 1; i < got.length; i++) for (let j = 0; j < got[i].length; j++) d = Math.max(d, Math.abs(got[i][j] - ref[i][j]));
    worst.set(`${label}: max |Δparam| / lr`, d / LR);
    expect(d / LR, `${label}: max |Δparam| / lr`).toBeLessThan(0.25);
  }

  it('one thread: 2 steps, losses within 1e-5 relative, every parameter within 0.25·lr', async () => {
    await stopWasmThreads();
    const got = await steps(true);
    const ref = await steps(false);
    agree('U-Net 2 steps, Winograd vs direct, 1 thread', got, ref);
  }, 60_000);

  it('two threads (the convolutions split over a helper, which runs Winograd too): the same bound', async (ctx) => {
    const threads = (await startWasmThreads(2)).threads;
    if (threads < 2) return ctx.skip();
    // The helper runs Winograd too: a batch split gives the one-thread Winograd values exactly
    // (each sample alone, the same tiles), which differ from the direct convolution's.
    const conv = (): tf.Tensor[] => [tf.conv2d(t([2, 32, 32, 16], 70) as tf.Tensor4D, t([3, 3, 16, 16], 71) as tf.Tensor4D, 1, 'same')];
    const before = splitCalls();
    const twoThreads = await on('wasm', conv);
    expect(splitCalls(), 'the conv was split').toBeGreaterThan(before);
    const old = setSplitKernels(false);
    const oneThread = await on('wasm', conv);
    const wino = setWinograd(false);
    const direct = await on('wasm', conv);
    setWinograd(wino);
    setSplitKernels(old);
    expect(relDiff(twoThreads[0], oneThread[0]), 'split Winograd = one-thread Winograd').toBe(0);
    expect(relDiff(twoThreads[0], direct[0]), 'Winograd differs from the direct conv').toBeGreaterThan(0);
    const split = splitCalls();
    const got = await steps(true);
    expect(splitCalls(), 'convolutions split over the helper').toBeGreaterThan(split);
    await stopWasmThreads();
    const one = await steps(true);
    const ref = await steps(false);
    agree('U-Net 2 steps, Winograd 2 threads vs direct 1 thread', got, ref);
    // Each sample is computed alone; only the filter gradients' summation order differs.
    expect(relDiff(got[0], one[0])).toBeLessThan(1e-6);
  }, 120_000);
});
