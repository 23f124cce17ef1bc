// The pure-wasm rung's direct 2x2 stride-2 transposed convolution (kernels.as.ts upconvForward,
// upconvFilterGrad, upconvInputGrad; simd/fused.ts convTransposeBias / convTransposeBiasGrad / convTransposeInputGrad): y, dx, dW and db of
// convTransposeBias on wasm against tf.add(tf.conv2dTranspose(x, w), b) and its tf.grads on the cpu
// backend. Batch > 1, odd sizes, channel counts that exercise every register tile and the pixel
// tail, and channels not multiples of 4 (the generic kernels run: checked that the direct ones did not).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../app/learning/backend.ts';
import { convTransposeBias } from '../../app/learning/model/upconv.ts';
import { setSimdUpconv, simdFusedCounts, UPCONV_DIRECT, UPCONV_DIRECT_DX, UPCONV_DIRECT_GRAD } from '../../app/learning/kernels/simd/fused.ts';
import { expectClose, on, printWorst, rand, size } from './kernels-helpers.ts';

beforeAll(async () => {
  expect((await initBackend({ prefer: 'wasm' })).name).toBe('wasm');
}, 120_000);
afterAll(() => {
  printWorst('simd-upconv');
  setSimdUpconv(true);
});

const t = (shape: number[], seed: number): tf.Tensor => tf.tensor(rand(size(shape), seed), shape);
const served = (k: string): number => simdFusedCounts()[k] ?? 0;

/** y, then d<y, r>/dx, /dW, /db (r a fixed random cotangent); `ours`: Osteon's op, else tfjs's ops. */
function run(xs: number[], co: number, ours: boolean, pad: 'same' | 'valid'): tf.Tensor[] {
  const [n, h, w, c] = xs;
  const outShape: [number, number, number, number] = [n, 2 * h, 2 * w, co];
  const f = (x: tf.Tensor, k: tf.Tensor, b: tf.Tensor): tf.Tensor =>
    ours ? convTransposeBias(x, k, b, outShape, 2, pad) : tf.add(tf.conv2dTranspose(x as tf.Tensor4D, k as tf.Tensor4D, outShape, 2, pad), b);
  const args = [t(xs, 1), t([2, 2, co, c], 2), t([co], 3)];
  const r = t(outShape, 4);
  const gs = tf.grads((x: tf.Tensor, k: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(x, k, b), r)))(args);
  return [f(args[0], args[1], args[2]), ...gs];
}

describe('direct 2x2 stride-2 transposed convolution on the pure-wasm rung vs cpu', () => {
  const cases: Array<[string, number[], number, boolean]> = [
    // [label, x shape, CO, direct kernels expected]
    ['N3 5x7 C8→CO12 (4x8 + 4x4 tiles, pixel tail)', [3, 5, 7, 8], 12, true],
    ['N2 30x9 C40→CO20 (several row blocks, both dW tiles)', [2, 30, 9, 40], 20, true],
    ['N2 3x3 C4→CO4 (one tile each way, pixel tail)', [2, 3, 3, 4], 4, true],
    ['N2 5x3 C6→CO5 (channels not multiples of 4: generic kernels)', [2, 5, 3, 6], 5, false],
  ];
  for (const [label, xs, co, direct] of cases) {
    for (const pad of ['valid', 'same'] as const) {
      it(`${label}, ${pad}: y, dx, dW, db`, async () => {
        const f0 = served(UPCONV_DIRECT), g0 = served(UPCONV_DIRECT_GRAD), d0 = served(UPCONV_DIRECT_DX);
        const got = await on('wasm', () => run(xs, co, true, pad));
        const ref = await on('cpu', () => run(xs, co, false, pad));
        expectClose(`upconv ${label} ${pad}`, got, ref, 5e-6);
        expect(served(UPCONV_DIRECT) - f0, 'direct forward ran (in the gradient and alone)').toBe(direct ? 2 : 0);
        expect(served(UPCONV_DIRECT_GRAD) - g0, 'direct filter gradient ran').toBe(direct ? 1 : 0);
        expect(served(UPCONV_DIRECT_DX) - d0, 'direct input gradient ran').toBe(direct ? 1 : 0);
      });
    }
  }

  it('matches the generic wasm kernels (direct kernels off)', async () => {
    const got = await on('wasm', () => run([2, 7, 5, 16], 8, true, 'valid'));
    const old = setSimdUpconv(false);
    const f0 = served(UPCONV_DIRECT);
    try {
      const ref = await on('wasm', () => run([2, 7, 5, 16], 8, true, 'valid'));
      expect(served(UPCONV_DIRECT) - f0).toBe(0);
      expectClose('upconv direct vs generic wasm', got, ref, 5e-6);
    } finally {
      setSimdUpconv(old);
    }
  });
});
