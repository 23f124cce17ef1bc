// Osteon's wasm Conv3D / Conv3DBackpropInputV2 / Conv3DBackpropFilterV2 / SplitV kernels and
// the conv3dTranspose gradient (app/learning/kernels) against tfjs's cpu backend, the
// reference: forward values, tf.grads through conv3d and conv3dTranspose, the adjoint
// identity, and a finite-difference check of the conv3dTranspose gradient (which tfjs-core
// lacks). Shapes are small on purpose: the cpu backend's 3D kernels are scalar loops.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../app/learning/backend.ts';
import { unsplit } from '../../app/learning/kernels/parallel/pool.ts';
import { conv3d } from '../../app/learning/kernels/conv3d.ts';
import { conv3dBackpropFilter } from '../../app/learning/kernels/conv3d_backprop_filter.ts';
import { conv3dBackpropInput } from '../../app/learning/kernels/conv3d_backprop_input.ts';
import { setChunkBudget } from '../../app/learning/kernels/im2col.ts';
import { setFilterGradByTaps } from '../../app/learning/kernels/lowered.ts';
import { setWinograd, unwrapWinograd } from '../../app/learning/kernels/simd/winograd.ts';
import { compareConvFamily, expectClose, on, printWorst, rand, size } from './kernels-helpers.ts';

/** Winograd's switch before this file turned it off. */
let winograd = true;

type Shape5 = [number, number, number, number, number];
type Strides = [number, number, number];
interface Case { name: string; x: Shape5; f: Shape5; s: Strides; pad: 'same' | 'valid' }

// NDHWC input, DHWIO filter.
const cases: Case[] = [
  { name: '5x6x7 C2→3 3³ s1 same', x: [1, 5, 6, 7, 2], f: [3, 3, 3, 2, 3], s: [1, 1, 1], pad: 'same' },
  { name: '6x5x4 C1→2 3³ s2 same N2', x: [2, 6, 5, 4, 1], f: [3, 3, 3, 1, 2], s: [2, 2, 2], pad: 'same' },
  { name: '7x6x5 C3→2 2x3x2 s[2,1,2] valid', x: [1, 7, 6, 5, 3], f: [2, 3, 2, 3, 2], s: [2, 1, 2], pad: 'valid' },
  { name: '4³ C4→2 2³ s2 valid (U-Net up-conv)', x: [1, 4, 4, 4, 4], f: [2, 2, 2, 4, 2], s: [2, 2, 2], pad: 'valid' },
  { name: '5x4x6 C4→3 3³ s1 same N2 (per-tap dW)', x: [2, 5, 4, 6, 4], f: [3, 3, 3, 4, 3], s: [1, 1, 1], pad: 'same' },
  { name: '5³ C6→2 2x3x3 s1 valid (per-tap dW)', x: [1, 5, 5, 5, 6], f: [2, 3, 3, 6, 2], s: [1, 1, 1], pad: 'valid' },
  { name: '3x4x5 C2→4 1³ s1 valid N2', x: [2, 3, 4, 5, 2], f: [1, 1, 1, 2, 4], s: [1, 1, 1], pad: 'valid' },
];

function outShape(c: Case): number[] {
  return tf.tidy(() => tf.conv3d(tf.zeros(c.x) as tf.Tensor5D, tf.zeros(c.f) as tf.Tensor5D, c.s, c.pad).shape);
}

function run(c: Case, yShape: number[]): tf.Tensor[] {
  const x = tf.tensor5d(rand(size(c.x), 11), c.x);
  const w = tf.tensor5d(rand(size(c.f), 12), c.f);
  const dy = tf.tensor5d(rand(size(yShape), 13), yShape as Shape5);
  const y = tf.conv3d(x, w, c.s, c.pad);
  const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv3d(a as tf.Tensor5D, b as tf.Tensor5D, c.s, c.pad).mul(dy).sum())([x, w]);
  const t = tf.conv3dTranspose(dy, w, c.x, c.s, c.pad);
  const r = tf.tensor5d(rand(size(c.x), 14), c.x);
  const [gdy, gw2] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv3dTranspose(a as tf.Tensor5D, b as tf.Tensor5D, c.x, c.s, c.pad).mul(r).sum())([dy, w]);
  return [y, gx, gw, t, gdy, gw2];
}

const labels = ['forward', 'dx (BPI)', 'dW (BPF)', 'conv3dTranspose', 'd conv3dTranspose/dy', 'd conv3dTranspose/dW'];

async function compare(c: Case, tag: string): Promise<void> {
  const yShape = outShape(c);
  await compareConvFamily(tag, labels, () => run(c, yShape), { x: rand(size(c.x), 11), w: rand(size(c.f), 12), dy: rand(size(yShape), 13) });
}

beforeAll(async () => {
  const r = await initBackend({ prefer: 'wasm' });
  expect(r.kernels).toEqual(expect.arrayContaining(['wasm:Conv3D', 'wasm:Conv3DBackpropInputV2', 'wasm:Conv3DBackpropFilterV2', 'gradient:Conv3DBackpropInputV2']));
  // The comparisons below must run Osteon's kernels, not the built-ins.
  expect(unsplit(tf.getKernel('Conv3D', 'wasm').kernelFunc)).toBe(conv3d);
  expect(unwrapWinograd(unsplit(tf.getKernel('Conv3DBackpropFilterV2', 'wasm').kernelFunc))).toBe(conv3dBackpropFilter);
  expect(unsplit(tf.getKernel('Conv3DBackpropInputV2', 'wasm').kernelFunc)).toBe(conv3dBackpropInput);
  // These checks are for the direct kernels; the Winograd ones have test/unit/winograd.test.ts.
  winograd = setWinograd(false);
});
afterAll(() => {
  setWinograd(winograd);
  printWorst('kernels3d');
});

describe('wasm Conv3D kernels vs the cpu backend', () => {
  for (const c of cases) it(c.name, () => compare(c, ''));

  it('im2col dW for every case, in chunks (tiny chunk budget), gives the same results', async () => {
    const old = setChunkBudget(100);
    const taps = setFilterGradByTaps(false);
    try {
      for (const c of cases) await compare(c, 'im2col chunked ');
    } finally {
      setChunkBudget(old);
      setFilterGradByTaps(taps);
    }
  });

  it('dilated conv3d forward (dilation 2, valid)', async () => {
    const xs: Shape5 = [1, 7, 6, 7, 2];
    const fs: Shape5 = [3, 2, 3, 2, 3];
    const f = (): tf.Tensor[] => [tf.conv3d(tf.tensor5d(rand(size(xs), 21), xs), tf.tensor5d(rand(size(fs), 22), fs), 1, 'valid', 'NDHWC', [2, 2, 2])];
    expectClose('dilated forward', await on('wasm', f), await on('cpu', f));
  });

  it('leaks neither tensors nor wasm heap buffers (every path, twice)', async () => {
    await tf.setBackend('wasm');
    const all = (): void => {
      for (const c of cases) {
        const yShape = outShape(c);
        tf.tidy(() => {
          run(c, yShape);
        });
      }
    };
    all();
    const tensors = tf.memory().numTensors;
    const ids = tf.engine().backend.numDataIds();
    all();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.engine().backend.numDataIds()).toBe(ids);
  });
});

describe('conv3dTranspose gradient (registered by Osteon; tfjs-core has none)', () => {
  // L(dy, w) = sum(conv3dTranspose(dy, w) * r) is linear in each argument, so a central
  // difference with a large step is exact up to float32 rounding.
  const dyShape: Shape5 = [1, 2, 3, 2, 2];
  const wShape: Shape5 = [2, 2, 2, 3, 2];
  const outS: Shape5 = [1, 4, 6, 4, 3];
  for (const backend of ['wasm', 'cpu'] as const) {
    it(`matches finite differences on ${backend}`, async () => {
      await tf.setBackend(backend);
      const r = tf.tensor5d(rand(size(outS), 31), outS);
      const loss = (dy: tf.Tensor, w: tf.Tensor): tf.Scalar => tf.conv3dTranspose(dy as tf.Tensor5D, w as tf.Tensor5D, outS, 2, 'same').mul(r).sum();
      const dy0 = rand(size(dyShape), 32);
      const w0 = rand(size(wShape), 33);
      const [gdy, gw] = tf.tidy(() => tf.grads(loss)([tf.tensor5d(dy0, dyShape), tf.tensor5d(w0, wShape)]).map((t) => t.dataSync() as Float32Array));
      const at = (dy: Float32Array, w: Float32Array): number => tf.tidy(() => loss(tf.tensor5d(dy, dyShape), tf.tensor5d(w, wShape)).dataSync()[0]);
      const h = 0.5;
      for (const [which, base, grad] of [['dy', dy0, gdy], ['w', w0, gw]] as const) {
        for (const i of [0, 5, base.length - 1]) {
          const plus = base.slice();
          const minus = base.slice();
          plus[i] += h;
          minus[i] -= h;
          const fd = which === 'dy' ? (at(plus, w0) - at(minus, w0)) / (2 * h) : (at(dy0, plus) - at(dy0, minus)) / (2 * h);
          expect(Math.abs(fd - grad[i]), `${which}[${i}]: fd ${fd} vs grad ${grad[i]}`).toBeLessThan(1e-4 * Math.max(1, Math.abs(fd)));
        }
      }
      r.dispose();
    });
  }
});

describe('wasm SplitV (block copies) vs the cpu backend', () => {
  it('splits every axis of rank-5 and rank-4 tensors, and backprops through concat', async () => {
    const shape5: Shape5 = [2, 3, 4, 5, 6];
    const run5 = (): tf.Tensor[] => {
      const x = tf.tensor5d(rand(size(shape5), 41), shape5);
      const parts = [0, 1, 2, 3, 4].flatMap((ax) => tf.split(x, ax === 4 ? [1, 3, 2] : [1, shape5[ax] - 1], ax));
      const x4 = tf.tensor4d(rand(2 * 5 * 5 * 6, 42), [2, 5, 5, 6]);
      const a = tf.tensor4d(rand(2 * 5 * 5 * 4, 43), [2, 5, 5, 4]);
      const g = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.concat([p, q], 3).square().sum())([x4, a]);
      return [...parts, ...tf.split(x4, 3, 3), ...g];
    };
    expectClose('SplitV', await on('wasm', run5), await on('cpu', run5), 1e-7);
  });
});
