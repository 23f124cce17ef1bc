// The U-Net's pool-and-keep op (app/learning/model/poolskip.ts; app/learning/native/fused.ts,
// native/dnnl/src/pool.cc) on wasm+dnnl against tfjs's cpu backend, values and gradients, 2D and
// 3D: [maxPool(x), x] forward, and one kernel for dx = dkept + MaxPoolGrad(dpooled) backward
// (the tiled 2x2(x2) geometry, odd sizes where the last row is outside every window, ties, channel
// counts on and off the 4-wide vector path). Without the fused kernels (OSTEON_FUSE=0's path) the
// op is tfjs's maxPool and x itself. Skips with a notice when the addon is absent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../app/learning/backend.ts';
import { POOL_SKIP, POOL_SKIP_GRAD, maxPoolSkip } from '../../app/learning/model/poolskip.ts';
import { loadNative } from '../../app/learning/native/addon.ts';
import { fusedCounts } from '../../app/learning/native/fused.ts';
import { registerNativeKernels, setFusedKernels, unregisterNativeKernels } from '../../app/learning/native/register.ts';
import { nativeCounts } from '../../app/learning/native/run.ts';
import { skipNotice } from '../helpers/env.ts';
import { expectClose, on, printWorst, rand, size } from './kernels-helpers.ts';

const native = loadNative();
const has = !!native.addon && typeof native.addon.maxPoolGradAdd === 'function';
if (!has) skipNotice('oneDNN pool-and-keep tests', `the addon with maxPoolGradAdd (${native.reason ?? 'built before it'})`);

interface Case { name: string; x: number[]; ties?: boolean }
const cases: Case[] = [
  { name: '2D [2,8,6,5] (tiles; 4 + 1 channels)', x: [2, 8, 6, 5] },
  { name: '2D [1,7,5,4] odd (last row and column outside the windows)', x: [1, 7, 5, 4] },
  { name: '2D [1,8,8,6] ties', x: [1, 8, 8, 6], ties: true },
  { name: '3D [1,4,6,4,3] (tiles; scalar channels)', x: [1, 4, 6, 4, 3] },
  { name: '3D [2,5,4,7,8] odd', x: [2, 5, 4, 7, 8] },
  { name: '3D [1,4,4,6,9] ties', x: [1, 4, 4, 6, 9], ties: true },
];

/** pooled, kept, and d/dx of sum(pooled·r1) + sum(kept·r2). */
function run(c: Case): tf.Tensor[] {
  const v = rand(size(c.x), 41);
  const x = tf.tensor(c.ties ? v.map((e) => Math.round(2 * e)) : v, c.x);
  const [pooled, kept] = maxPoolSkip(x);
  const r1 = tf.tensor(rand(pooled.size, 42), pooled.shape);
  const r2 = tf.tensor(rand(kept.size, 43), kept.shape);
  const dx = tf.grad((a: tf.Tensor) => {
    const [p, k] = maxPoolSkip(a);
    return p.mul(r1).sum().add(k.mul(r2).sum());
  })(x);
  return [pooled, kept, dx];
}

beforeAll(async () => {
  expect((await initBackend({ prefer: 'wasm' })).name).toBe('wasm');
  if (has) {
    const { kernels } = registerNativeKernels();
    for (const k of [POOL_SKIP, POOL_SKIP_GRAD]) expect(kernels).toContain(`wasm+dnnl:${k}`);
  }
});
afterAll(() => {
  unregisterNativeKernels();
  printWorst('native-poolskip');
});

describe.skipIf(!has)('pool-and-keep vs the cpu backend', () => {
  for (const c of cases) {
    it(`${c.name}: pooled, kept, dx`, async () => {
      const before = nativeCounts();
      const served = fusedCounts();
      const got = await on('wasm', () => run(c));
      const after = nativeCounts();
      expect(after.errors - before.errors, after.lastError ?? '').toBe(0);
      // Two forwards (the values, and the one tf.grad records) and one gradient: all native.
      expect((fusedCounts()[POOL_SKIP] ?? 0) - (served[POOL_SKIP] ?? 0), POOL_SKIP).toBe(2);
      expect((fusedCounts()[POOL_SKIP_GRAD] ?? 0) - (served[POOL_SKIP_GRAD] ?? 0), POOL_SKIP_GRAD).toBe(1);
      const ref = await on('cpu', () => run(c));
      expectClose(`maxPoolSkip ${c.name}`, got, ref);
    });
  }

  it('the kept tensor shares the input data (no copy)', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor4d(rand(2 * 4 * 4 * 4, 44), [2, 4, 4, 4]);
    const [pooled, kept] = maxPoolSkip(x);
    expect(kept.dataId).toBe(x.dataId);
    expect(pooled.shape).toEqual([2, 2, 2, 4]);
    tf.dispose([x, pooled, kept]);
  });

  it('without the fused kernels the op is tfjs maxPool and x itself (wasm matches cpu)', async () => {
    setFusedKernels(false);
    try {
      expect(tf.getKernel(POOL_SKIP, 'wasm')).toBeUndefined();
      for (const c of [cases[0], cases[4]]) expectClose(`composed ${c.name}`, await on('wasm', () => run(c)), await on('cpu', () => run(c)));
    } finally {
      setFusedKernels(true);
    }
  });

  it('rejects other ranks, and the addon a short add buffer', () => {
    expect(() => maxPoolSkip(tf.zeros([4, 4, 2]))).toThrow(/rank 3/);
    const geo = Int32Array.from([1, 1, 4, 4, 1, 1, 2, 2, 1, 2, 2, 1, 2, 2, 0, 0, 0]);
    expect(() => native.addon!.maxPoolGradAdd!(geo, new Float32Array(16), new Float32Array(4), new Float32Array(16), false, new Float32Array(15))).toThrow(/add/);
  });

  it('leaks neither tensors nor wasm heap buffers', async () => {
    await tf.setBackend('wasm');
    const all = (): void => {
      for (const c of cases) tf.tidy(() => void run(c));
    };
    all();
    const tensors = tf.memory().numTensors;
    const ids = tf.engine().backend.numDataIds();
    all();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.engine().backend.numDataIds()).toBe(ids);
  });
});
