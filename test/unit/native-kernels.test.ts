// The optional oneDNN kernels (native/dnnl, app/learning/native) against tfjs's cpu backend, the
// reference: conv2d / fused conv2d / conv2dTranspose and the 3D family (values and tf.grads),
// the adjoint identity on the addon's three directions, max-pool gradients, concat / split and
// leading-axis sums, slices, the zero-copy Identity, large Add / Multiply. Also checks each call ran natively (no silent fallback). Skips with a notice
// when the addon is not built (no libdnnl-dev, OSTEON_NATIVE=0, OSTEON_DNNL_SKIP=1 at install).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../app/learning/backend.ts';
import { loadNative } from '../../app/learning/native/addon.ts';
import { registerNativeKernels, unregisterNativeKernels } from '../../app/learning/native/register.ts';
import { nativeCounts } from '../../app/learning/native/run.ts';
import { skipNotice } from '../helpers/env.ts';
import { dot, expectClose, on, printWorst, rand, size } from './kernels-helpers.ts';

const native = loadNative();
if (!native.addon) skipNotice('oneDNN native kernel tests', `the addon (${native.reason})`);

type Pad = 'same' | 'valid' | number;
type S4 = [number, number, number, number];
type S5 = [number, number, number, number, number];
interface Case2 { name: string; x: S4; f: S4; s: [number, number]; pad: Pad }

const cases2: Case2[] = [
  { name: '7x9 C3→4 3x3 s1 same N2', x: [2, 7, 9, 3], f: [3, 3, 3, 4], s: [1, 1], pad: 'same' },
  { name: '8x8 C1→16 3x3 s1 same (first U-Net layer)', x: [2, 8, 8, 1], f: [3, 3, 1, 16], s: [1, 1], pad: 'same' },
  { name: '7x7 C2→3 3x3 s2 same (asymmetric TF pad)', x: [1, 7, 7, 2], f: [3, 3, 2, 3], s: [2, 2], pad: 'same' },
  { name: '9x7 C2→3 3x2 s[2,1] valid (leftover rows)', x: [2, 9, 7, 2], f: [3, 2, 2, 3], s: [2, 1], pad: 'valid' },
  { name: '6x6 C4→3 2x2 s2 valid (U-Net up-conv)', x: [2, 6, 6, 4], f: [2, 2, 4, 3], s: [2, 2], pad: 'valid' },
  { name: '4x5 C2→3 3x3 s1 pad 3', x: [1, 4, 5, 2], f: [3, 3, 2, 3], s: [1, 1], pad: 3 },
  { name: '4x4 C3→5 1x1 valid N2 (head)', x: [2, 4, 4, 3], f: [1, 1, 3, 5], s: [1, 1], pad: 'valid' },
];

function yShapeOf(x: S4, f: S4, s: [number, number], pad: Pad): S4 {
  return tf.tidy(() => tf.conv2d(tf.zeros(x) as tf.Tensor4D, tf.zeros(f) as tf.Tensor4D, s, pad).shape);
}

function run2(c: Case2, y: S4): tf.Tensor[] {
  const x = tf.tensor4d(rand(size(c.x), 1), c.x);
  const w = tf.tensor4d(rand(size(c.f), 2), c.f);
  const b = tf.tensor1d(rand(c.f[3], 5));
  const dy = tf.tensor4d(rand(size(y), 3), y);
  const conv = (a: tf.Tensor, k: tf.Tensor): tf.Tensor4D => tf.conv2d(a as tf.Tensor4D, k as tf.Tensor4D, c.s, c.pad);
  const [gx, gw] = tf.grads((a: tf.Tensor, k: tf.Tensor) => conv(a, k).mul(dy).sum())([x, w]);
  const fused = tf.fused.conv2d({ x, filter: w, strides: c.s, pad: c.pad, bias: b, activation: 'relu' });
  const fusedLinear = tf.fused.conv2d({ x, filter: w, strides: c.s, pad: c.pad, bias: b });
  const [fx, fw, fb] = tf.grads((a: tf.Tensor, k: tf.Tensor, bb: tf.Tensor) => tf.fused.conv2d({ x: a as tf.Tensor4D, filter: k as tf.Tensor4D, strides: c.s, pad: c.pad, bias: bb, activation: 'relu' }).mul(dy).sum())([x, w, b]);
  const t = tf.conv2dTranspose(dy, w, c.x, c.s, c.pad);
  const r = tf.tensor4d(rand(size(c.x), 4), c.x);
  const [tdy, tw] = tf.grads((a: tf.Tensor, k: tf.Tensor) => tf.conv2dTranspose(a as tf.Tensor4D, k as tf.Tensor4D, c.x, c.s, c.pad).mul(r).sum())([dy, w]);
  return [conv(x, w), gx, gw, fused, fusedLinear, fx, fw, fb, t, tdy, tw];
}
const labels2 = ['forward', 'dx', 'dW', 'fused bias+relu', 'fused bias', 'fused dx', 'fused dW', 'fused db', 'conv2dTranspose', 'transpose d/dy', 'transpose d/dW'];

interface Case3 { name: string; x: S5; f: S5; s: number; pad: 'same' | 'valid' }
const cases3: Case3[] = [
  { name: '5x4x6 C4→2 3x3x3 s1 same', x: [1, 5, 4, 6, 4], f: [3, 3, 3, 4, 2], s: 1, pad: 'same' },
  { name: '4x4x4 C2→3 2x2x2 s2 valid N2 (up-conv)', x: [2, 4, 4, 4, 2], f: [2, 2, 2, 2, 3], s: 2, pad: 'valid' },
  { name: '5x5x5 C1→3 3x3x3 s2 same', x: [1, 5, 5, 5, 1], f: [3, 3, 3, 1, 3], s: 2, pad: 'same' },
];

function run3(c: Case3): tf.Tensor[] {
  const x = tf.tensor5d(rand(size(c.x), 1), c.x);
  const w = tf.tensor5d(rand(size(c.f), 2), c.f);
  const conv = (a: tf.Tensor, k: tf.Tensor): tf.Tensor5D => tf.conv3d(a as tf.Tensor5D, k as tf.Tensor5D, c.s, c.pad);
  const y = conv(x, w);
  const dy = tf.tensor5d(rand(y.size, 3), y.shape);
  const [gx, gw] = tf.grads((a: tf.Tensor, k: tf.Tensor) => conv(a, k).mul(dy).sum())([x, w]);
  const t = tf.conv3dTranspose(dy, w, c.x, c.s, c.pad);
  const r = tf.tensor5d(rand(size(c.x), 4), c.x);
  const [tdy, tw] = tf.grads((a: tf.Tensor, k: tf.Tensor) => tf.conv3dTranspose(a as tf.Tensor5D, k as tf.Tensor5D, c.x, c.s, c.pad).mul(r).sum())([dy, w]);
  return [y, gx, gw, t, tdy, tw];
}
const labels3 = ['forward', 'dx', 'dW', 'conv3dTranspose', 'transpose d/dy', 'transpose d/dW'];

/** Max pools, concat / split and sums, with their gradients. */
function runMem(): tf.Tensor[] {
  const x4 = tf.tensor4d(rand(2 * 8 * 6 * 3, 7), [2, 8, 6, 3]);
  const x4odd = tf.tensor4d(rand(1 * 7 * 5 * 2, 8), [1, 7, 5, 2]);
  const x5 = tf.tensor5d(rand(2 * 4 * 6 * 4 * 3, 9), [2, 4, 6, 4, 3]);
  const a = tf.tensor4d(rand(2 * 3 * 4 * 5, 10), [2, 3, 4, 5]);
  const b = tf.tensor4d(rand(2 * 3 * 4 * 2, 11), [2, 3, 4, 2]);
  const c = tf.tensor4d(rand(2 * 3 * 1 * 5, 12), [2, 3, 1, 5]);
  const out: tf.Tensor[] = [];
  const pools: Array<[tf.Tensor, (t: tf.Tensor) => tf.Tensor]> = [
    [x4, (t) => tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid')],
    [x4, (t) => tf.maxPool(t as tf.Tensor4D, 3, 2, 'same')],
    [x4odd, (t) => tf.maxPool(t as tf.Tensor4D, 2, 2, 'same')],
    [x5, (t) => tf.maxPool3d(t as tf.Tensor5D, 2, 2, 'valid')],
    [x5, (t) => tf.maxPool3d(t as tf.Tensor5D, 3, 2, 'same')],
  ];
  for (const [x, f] of pools) {
    const y = f(x);
    const r = tf.tensor(rand(y.size, 13), y.shape);
    out.push(y, tf.grad((t: tf.Tensor) => f(t).mul(r).sum())(x));
  }
  const cat = (p: tf.Tensor, q: tf.Tensor): tf.Tensor => tf.concat([p, q], -1);
  const r1 = tf.tensor(rand(2 * 3 * 4 * 7, 14), [2, 3, 4, 7]);
  out.push(cat(a, b), ...tf.grads((p: tf.Tensor, q: tf.Tensor) => cat(p, q).mul(r1).sum())([a, b]));
  out.push(tf.concat([a, c], 2), ...tf.split(a, [1, 3, 1], 3), ...tf.split(a, [2, 1], 1));
  out.push(tf.sum(a, [0, 1, 2]), tf.sum(a, [0, 1], true), tf.sum(a, 0), tf.sum(a, [1, 2]), tf.sum(a, -1));
  const sl = (t: tf.Tensor): tf.Tensor => tf.slice(t, [0, 1, 0, 1, 1], [2, 2, 6, 2, 2]);
  const r2 = tf.tensor(rand(2 * 2 * 6 * 2 * 2, 15), [2, 2, 6, 2, 2]);
  out.push(sl(x5), tf.grad((t: tf.Tensor) => sl(t).mul(r2).sum())(x5));
  out.push(tf.slice(x5, [1, 0, 0, 0, 0], [1, 4, 6, 4, 3]), tf.slice(x5, [0, 0, 0, 0, 1], [2, 4, 6, 4, 2]), tf.slice(a, [0, 1, 1, 2], [2, 2, 3, 3]), tf.slice(a, [1], [1]));
  out.push(tf.clone(a), tf.clone(a).add(1));
  // Add / Multiply at or above the native size threshold (2^15): same shapes, channel bias either side.
  const big = tf.tensor4d(rand(2 * 64 * 64 * 8, 16), [2, 64, 64, 8]);
  const big2 = tf.tensor4d(rand(2 * 64 * 64 * 8, 17), [2, 64, 64, 8]);
  const vec = tf.tensor1d(rand(8, 18));
  out.push(tf.add(big, vec), tf.add(vec.reshape([1, 1, 1, 8]), big), tf.mul(big, big2), tf.mul(vec, big), tf.add(big, big2));
  out.push(...tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.relu(tf.add(p, q)).mul(big2).sum())([big, vec]));
  return out;
}

beforeAll(async () => {
  const r = await initBackend({ prefer: 'wasm' });
  expect(r.name).toBe('wasm');
  if (native.addon) expect(registerNativeKernels().kernels).toContain('wasm+dnnl:Conv2D');
});
afterAll(() => {
  unregisterNativeKernels();
  printWorst('native-kernels');
});

/** Runs `fn` on wasm+dnnl and on cpu; asserts closeness and that the native path ran without errors. */
async function compare(tag: string, names: string[], fn: () => tf.Tensor[], tol?: number): Promise<Float32Array[]> {
  const before = nativeCounts();
  const got = await on('wasm', fn);
  const after = nativeCounts();
  expect(after.errors - before.errors, after.lastError ?? '').toBe(0);
  expect(after.native).toBeGreaterThan(before.native);
  const ref = await on('cpu', fn);
  got.forEach((g, i) => expectClose(`${tag} ${names[i] ?? i}`, [g], [ref[i]], tol));
  return got;
}

describe.skipIf(!native.addon)('oneDNN kernels vs the cpu backend', () => {
  for (const c of cases2) {
    it(`2D ${c.name}`, async () => {
      const y = yShapeOf(c.x, c.f, c.s, c.pad);
      const got = await compare(`2D ${c.name}`, labels2, () => run2(c, y));
      // Adjoint: <conv(x,w),dy> = <x,dx> = <w,dW>, relative to the sum of |terms|.
      const [yv, gx, gw] = got;
      const dy = rand(size(y), 3);
      const scale = dot(yv.map(Math.abs), dy.map(Math.abs));
      expect(Math.abs(dot(rand(size(c.x), 1), gx) - dot(yv, dy)) / scale).toBeLessThan(1e-5);
      expect(Math.abs(dot(rand(size(c.f), 2), gw) - dot(yv, dy)) / scale).toBeLessThan(1e-5);
    });
  }

  it('2D forward only: dilation 2 (same, valid), numeric pad with dimRoundingMode ceil, fused linear without bias', () =>
    compare('2D forward-only', ['dilated same', 'dilated valid', 'ceil', 'fused no bias'], () => {
      const x = tf.tensor4d(rand(2 * 9 * 8 * 3, 31), [2, 9, 8, 3]);
      const w = tf.tensor4d(rand(3 * 3 * 3 * 4, 32), [3, 3, 3, 4]);
      return [
        tf.conv2d(x, w, 1, 'same', 'NHWC', 2),
        tf.conv2d(x, w, 1, 'valid', 'NHWC', [2, 1]),
        tf.conv2d(x, w, 2, 1, 'NHWC', 1, 'ceil'),
        tf.fused.conv2d({ x, filter: w, strides: 1, pad: 'valid' }),
      ];
    }));

  for (const c of cases3) it(`3D ${c.name}`, () => compare(`3D ${c.name}`, labels3, () => run3(c)));

  it('max-pool gradients, concat / split, leading-axis sums, slices, clone', () => compare('memory ops', [], runMem));

  it('leaks neither tensors nor wasm heap buffers', async () => {
    await tf.setBackend('wasm');
    const all = (): void => {
      for (const c of cases2) tf.tidy(() => void run2(c, yShapeOf(c.x, c.f, c.s, c.pad)));
      for (const c of cases3) tf.tidy(() => void run3(c));
      tf.tidy(() => void runMem());
    };
    all();
    const tensors = tf.memory().numTensors;
    const ids = tf.engine().backend.numDataIds();
    all();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.engine().backend.numDataIds()).toBe(ids);
  });

  it('hands what it does not support to the kernel it replaced (NCHW, int32 concat, prelu)', async () => {
    await tf.setBackend('wasm');
    const before = nativeCounts().fallback;
    tf.tidy(() => {
      expect(tf.concat([tf.tensor1d([1, 2], 'int32'), tf.tensor1d([3], 'int32')]).arraySync()).toEqual([1, 2, 3]);
      const x = tf.ones([1, 4, 4, 2]) as tf.Tensor4D;
      const y = tf.fused.conv2d({ x, filter: tf.ones([1, 1, 2, 2]) as tf.Tensor4D, strides: 1, pad: 'valid', activation: 'prelu', preluActivationWeights: tf.scalar(0.1) });
      expect(y.dataSync()[0]).toBe(2);
    });
    expect(nativeCounts().fallback - before).toBeGreaterThanOrEqual(2);
  });

  it('the addon rejects buffers shorter than its geometry', () => {
    const addon = native.addon!;
    const geo = Int32Array.from([2, 1, 1, 1, 1, 4, 4, 1, 4, 4, 1, 3, 3, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 1, 1, 0]);
    expect(() => addon.conv(0, geo, new Float32Array(15), new Float32Array(9), new Float32Array(16), null)).toThrow(/need 16/);
    expect(addon.convImpl(0, geo)).toMatch(/\w+:\w+/);
  });
});
