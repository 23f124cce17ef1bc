// Osteon's wasm Conv2DBackpropFilter / Conv2DBackpropInput (app/learning/kernels) against
// tfjs's cpu backend, the reference: forward values, tf.grads through conv2d and
// conv2dTranspose, and the adjoint identity <conv(x,w),dy> = <x,BPI(dy,w)> = <w,BPF(x,dy)>.
// Shapes are small on purpose: the cpu backend's dW kernel is very slow on large ones.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../app/learning/backend.ts';
import { unsplit } from '../../app/learning/kernels/parallel/pool.ts';
import { conv2dBackpropFilter } from '../../app/learning/kernels/conv2d_backprop_filter.ts';
import { setWinograd, unwrapWinograd } from '../../app/learning/kernels/simd/winograd.ts';
import { setChunkBudget } from '../../app/learning/kernels/im2col.ts';
import { setFilterGradByTaps } from '../../app/learning/kernels/lowered.ts';
import { compareConvFamily, printWorst, rand, size } from './kernels-helpers.ts';

/** Winograd's switch before this file turned it off. */
let winograd = true;

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
interface Case { name: string; x: [number, number, number, number]; f: [number, number, number, number]; s: [number, number]; pad: Pad }

// NHWC input, HWIO filter.
const cases: Case[] = [
  { name: 'odd 7x9 C3→4 3x3 s1 same N2', x: [2, 7, 9, 3], f: [3, 3, 3, 4], s: [1, 1], pad: 'same' },
  { name: 'C1→4 3x3 s1 same N3 (first U-Net layer)', x: [3, 6, 6, 1], f: [3, 3, 1, 4], s: [1, 1], pad: 'same' },
  { name: '8x8 C1→2 3x3 s2 same', x: [1, 8, 8, 1], f: [3, 3, 1, 2], s: [2, 2], pad: 'same' },
  { name: '7x7 C2→2 3x3 s2 same (odd)', x: [1, 7, 7, 2], f: [3, 3, 2, 2], s: [2, 2], pad: 'same' },
  { name: '9x7 C2→3 3x2 s[2,1] valid N2', x: [2, 9, 7, 2], f: [3, 2, 2, 3], s: [2, 1], pad: 'valid' },
  { name: '6x6 C4→3 2x2 s2 valid (U-Net up-conv)', x: [2, 6, 6, 4], f: [2, 2, 4, 3], s: [2, 2], pad: 'valid' },
  { name: '5x6 C2→2 3x3 s1 explicit asymmetric pad', x: [1, 5, 6, 2], f: [3, 3, 2, 2], s: [1, 1], pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { name: '4x5 C2→3 3x3 s1 pad 3 (> K-1: generic col2im)', x: [1, 4, 5, 2], f: [3, 3, 2, 3], s: [1, 1], pad: 3 },
  { name: '6x5 C5→3 3x3 s1 same N2 (per-tap dW)', x: [2, 6, 5, 5], f: [3, 3, 5, 3], s: [1, 1], pad: 'same' },
  { name: '7x6 C4→2 2x3 s1 explicit asymmetric pad (per-tap dW)', x: [1, 7, 6, 4], f: [2, 3, 4, 2], s: [1, 1], pad: [[0, 0], [0, 1], [2, 1], [0, 0]] },
  { name: '4x4 C3→5 1x1 s1 valid N2', x: [2, 4, 4, 3], f: [1, 1, 3, 5], s: [1, 1], pad: 'valid' },
];

function outShape(c: Case): number[] {
  return tf.tidy(() => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.f) as tf.Tensor4D, c.s, c.pad).shape);
}

/** conv2d forward, its gradients, conv2dTranspose forward and its gradients, for one case. */
function run(c: Case, yShape: number[]): tf.Tensor[] {
  const x = tf.tensor4d(rand(size(c.x), 1), c.x);
  const w = tf.tensor4d(rand(size(c.f), 2), c.f);
  const dy = tf.tensor4d(rand(size(yShape), 3), yShape as [number, number, number, number]);
  const y = tf.conv2d(x, w, c.s, c.pad);
  const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad).mul(dy).sum())([x, w]);
  const t = tf.conv2dTranspose(dy, w, c.x, c.s, c.pad);
  const r = tf.tensor4d(rand(size(c.x), 4), c.x);
  const [gdy, gw2] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, c.x, c.s, c.pad).mul(r).sum())([dy, w]);
  return [y, gx, gw, t, gdy, gw2];
}

const labels = ['forward', 'dx (BPI)', 'dW (BPF)', 'conv2dTranspose', 'd conv2dTranspose/dy', 'd conv2dTranspose/dW'];

async function compare(c: Case, tag: string): Promise<void> {
  const yShape = outShape(c);
  await compareConvFamily(tag, labels, () => run(c, yShape), { x: rand(size(c.x), 1), w: rand(size(c.f), 2), dy: rand(size(yShape), 3) });
}

beforeAll(async () => {
  const r = await initBackend({ prefer: 'wasm' });
  expect(r.name).toBe('wasm');
  expect(r.kernels).toEqual(expect.arrayContaining(['wasm:Conv2DBackpropFilter', 'wasm:Conv2DBackpropInput']));
  expect(unwrapWinograd(unsplit(tf.getKernel('Conv2DBackpropFilter', 'wasm').kernelFunc))).toBe(conv2dBackpropFilter);
  // These checks are for the direct kernels; the Winograd ones have test/unit/winograd.test.ts.
  winograd = setWinograd(false);
});
afterAll(() => {
  setWinograd(winograd);
  printWorst('kernels2d');
});

describe('wasm Conv2D backprop kernels vs the cpu backend', () => {
  for (const c of cases) it(c.name, () => compare(c, ''));

  it('im2col dW for every case, in chunks (tiny chunk budget), gives the same results', async () => {
    const old = setChunkBudget(50);
    const taps = setFilterGradByTaps(false);
    try {
      for (const c of cases) await compare(c, 'im2col chunked ');
    } finally {
      setChunkBudget(old);
      setFilterGradByTaps(taps);
    }
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

  it('refuses NCHW for the filter gradient with a clear message', async () => {
    await tf.setBackend('wasm');
    const x = tf.zeros([1, 2, 4, 4]);
    const dy = tf.zeros([1, 2, 4, 4]);
    expect(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 2, 2] })).toThrow(/NHWC only/);
    tf.dispose([x, dy]);
  });
});
