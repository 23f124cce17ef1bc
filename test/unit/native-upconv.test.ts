// The fused transposed convolution + bias of the oneDNN addon (native/dnnl/src/deconv.cc;
// app/learning/model/upconv.ts, app/learning/native/deconv.ts) against tfjs's cpu backend, values
// and gradients (dx, dW, db), 2D and 3D: one kernel forward, one kernel for the filter and bias
// gradients backward. Without the fused kernels (OSTEON_FUSE=0's path) the same op composes tfjs's
// conv2dTranspose / conv3dTranspose + add. Skips with a notice when the addon is absent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../app/learning/backend.ts';
import { CONV_T_BIAS, CONV_T_BIAS_GRAD, convTransposeBias } from '../../app/learning/model/upconv.ts';
import { loadNative } from '../../app/learning/native/addon.ts';
import { fusedCounts } from '../../app/learning/native/fused.ts';
import { registerNativeKernels, setFusedKernels, unregisterNativeKernels } from '../../app/learning/native/register.ts';
import { nativeCounts } from '../../app/learning/native/run.ts';
import { skipNotice } from '../helpers/env.ts';
import { expectClose, on, printWorst, rand, size } from './kernels-helpers.ts';

const native = loadNative();
const has = !!native.addon && typeof native.addon.deconv === 'function';
if (!has) skipNotice('oneDNN transposed conv + bias tests', `the addon with deconv (${native.reason ?? 'built before it'})`);

interface UpCase { name: string; x: number[]; f: number[]; out: number[]; s: number; pad: 'same' | 'valid' }
const cases: UpCase[] = [
  // The U-Net's up-sampling: 2x2(x2) stride 2 'valid', in channels > out channels.
  { name: '2D 4x5 C6→3 2x2 s2 valid N2 (U-Net)', x: [2, 4, 5, 6], f: [2, 2, 3, 6], out: [2, 8, 10, 3], s: 2, pad: 'valid' },
  { name: '2D 3x3 C2→17 3x3 s2 same', x: [1, 3, 3, 2], f: [3, 3, 17, 2], out: [1, 6, 6, 17], s: 2, pad: 'same' },
  { name: '2D 5x4 C3→4 3x3 s1 same', x: [1, 5, 4, 3], f: [3, 3, 4, 3], out: [1, 5, 4, 4], s: 1, pad: 'same' },
  { name: '3D 3x2x4 C4→2 2x2x2 s2 valid (U-Net)', x: [1, 3, 2, 4, 4], f: [2, 2, 2, 2, 4], out: [1, 6, 4, 8, 2], s: 2, pad: 'valid' },
  { name: '3D 2x3x2 C3→5 2x2x2 s2 valid N2', x: [2, 2, 3, 2, 3], f: [2, 2, 2, 5, 3], out: [2, 4, 6, 4, 5], s: 2, pad: 'valid' },
  { name: '3D 3x3x3 C2→3 3x3x3 s2 same', x: [1, 3, 3, 3, 2], f: [3, 3, 3, 3, 2], out: [1, 6, 6, 6, 3], s: 2, pad: 'same' },
];

/** y, dx, dW, db of (convTranspose(x, W) + b)·r summed. */
function runUp(c: UpCase): tf.Tensor[] {
  const x = tf.tensor(rand(size(c.x), 31), c.x);
  const w = tf.tensor(rand(size(c.f), 32), c.f);
  const b = tf.tensor1d(rand(c.out[c.out.length - 1], 33));
  const f = (a: tf.Tensor, k: tf.Tensor, bb: tf.Tensor): tf.Tensor => convTransposeBias(a, k, bb, c.out, c.s, c.pad);
  const y = f(x, w, b);
  const r = tf.tensor(rand(y.size, 34), y.shape);
  return [y, ...tf.grads((a: tf.Tensor, k: tf.Tensor, bb: tf.Tensor) => f(a, k, bb).mul(r).sum())([x, w, b])];
}

beforeAll(async () => {
  expect((await initBackend({ prefer: 'wasm' })).name).toBe('wasm');
  if (has) {
    const { kernels } = registerNativeKernels();
    for (const k of [CONV_T_BIAS, CONV_T_BIAS_GRAD]) expect(kernels).toContain(`wasm+dnnl:${k}`);
  }
});
afterAll(() => {
  unregisterNativeKernels();
  printWorst('native-upconv');
});

describe.skipIf(!has)('fused transposed conv + bias vs the cpu backend', () => {
  for (const c of cases) {
    it(`${c.name}: y, dx, dW, db`, async () => {
      const before = nativeCounts();
      const served = fusedCounts();
      const got = await on('wasm', () => runUp(c));
      const after = nativeCounts();
      expect(after.errors - before.errors, after.lastError ?? '').toBe(0);
      // Two forwards (y, and the one tf.grads records), one filter+bias gradient: all native.
      const now = fusedCounts();
      expect((now[CONV_T_BIAS] ?? 0) - (served[CONV_T_BIAS] ?? 0), CONV_T_BIAS).toBe(2);
      expect((now[CONV_T_BIAS_GRAD] ?? 0) - (served[CONV_T_BIAS_GRAD] ?? 0), CONV_T_BIAS_GRAD).toBe(1);
      const ref = await on('cpu', () => runUp(c));
      expectClose(`convTransposeBias ${c.name}`, got, ref);
    });
  }

  it('without the fused kernels the same op composes tfjs ops (wasm matches cpu)', async () => {
    setFusedKernels(false);
    try {
      expect(tf.getKernel(CONV_T_BIAS, 'wasm')).toBeUndefined();
      for (const c of [cases[0], cases[3]]) expectClose(`composed ${c.name}`, await on('wasm', () => runUp(c)), await on('cpu', () => runUp(c)));
    } finally {
      setFusedKernels(true);
    }
  });

  it('rejects shapes that do not fit, and the addon short buffers', () => {
    const x = tf.zeros([1, 2, 2, 4]);
    const w = tf.zeros([2, 2, 3, 4]);
    expect(() => convTransposeBias(x, w, tf.zeros([4]), [1, 4, 4, 3], 2, 'valid')).toThrow(/do not fit/);
    expect(() => convTransposeBias(x, w, tf.zeros([3]), [1, 4, 4, 5], 2, 'valid')).toThrow(/do not fit/);
    const geo = Int32Array.from([2, 1, 3, 4, 1, 4, 4, 1, 2, 2, 1, 2, 2, 1, 2, 2, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1]);
    // The convolutions it runs: oneDNN's backward data (forward) and backward weights (gradient).
    expect(native.addon!.deconvImpl!(0, geo)).toMatch(/^\w/);
    expect(native.addon!.deconvImpl!(2, geo)).toMatch(/^\w/);
    expect(() => native.addon!.deconv!(0, geo, new Float32Array(16), new Float32Array(48), new Float32Array(47), new Float32Array(3))).toThrow(/need 48/);
    expect(() => native.addon!.deconv!(0, Int32Array.from({ length: 26 }, (_, i) => (i === 0 ? 2 : i === 25 ? 3 : 1)), new Float32Array(1), new Float32Array(1), new Float32Array(1), new Float32Array(1))).toThrow(/bias only/);
    tf.dispose([x, w]);
  });

  it('leaks neither tensors nor wasm heap buffers', async () => {
    await tf.setBackend('wasm');
    const all = (): void => {
      for (const c of cases) tf.tidy(() => void runUp(c));
    };
    all();
    const tensors = tf.memory().numTensors;
    const ids = tf.engine().backend.numDataIds();
    all();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.engine().backend.numDataIds()).toBe(ids);
  });
});
