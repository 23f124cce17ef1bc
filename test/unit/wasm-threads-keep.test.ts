// The helper threads keep the batch slices they received and the output parts they computed
// (app/learning/kernels/parallel/pool.ts, OSTEON_WASM_KEEP_MB), so a split call sends only what
// its helper lacks. Checked here: the values are those of one thread (forward and input
// gradients exactly) and of the split without keeping (filter gradients exactly: the same
// summation order); a slice whose buffer a kernel changed in place (3D OsteonConvBias adds its
// bias and ReLU on the split Conv3D's output) is sent again, not read stale; a tiny budget
// (evictions on every call) changes nothing; a bad OSTEON_WASM_KEEP_MB is a usage error. The
// reference is the same kernels on one thread (tfjs wasm), as in wasm-threads.test.ts. Winograd is
// off, as there, so a part's values do not depend on the thread.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../app/learning/backend.ts';
import { convBiasRelu } from '../../app/learning/model/fused.ts';
import { convTransposeBias } from '../../app/learning/model/upconv.ts';
import { UPCONV_DIRECT, setSplitTransposedConvs, simdFusedCounts } from '../../app/learning/kernels/simd/fused.ts';
import { setKeepBytes, setSplitKernels, setTakeBackForTest, splitCalls, splitKeeps, startWasmThreads, stopWasmThreads, wantedKeepBytes } from '../../app/learning/kernels/parallel/pool.ts';
import { setWinograd } from '../../app/learning/kernels/simd/winograd.ts';
import { OsteonError } from '../../app/util/errors.ts';
import { runCli } from '../helpers/cli.ts';
import { expectClose, on, printWorst, rand, relDiff, size } from './kernels-helpers.ts';

let threads = 1;
const winogradEnv = process.env.OSTEON_WINOGRAD;
let winograd = true;
let budget = 0;

beforeAll(async () => {
  const r = await initBackend({ prefer: 'wasm' });
  expect(r.name).toBe('wasm');
  winograd = setWinograd(false);
  process.env.OSTEON_WINOGRAD = '0'; // the helpers read it when they start
  await stopWasmThreads();
  threads = (await startWasmThreads(2)).threads;
  budget = splitKeeps().budget;
  // A job its helper has not started would be taken back and keep nothing (under load, at random):
  // here every job runs on its helper, so the counts below are certain.
  setTakeBackForTest(false);
}, 120_000);
afterAll(async () => {
  printWorst('wasm-threads-keep');
  setTakeBackForTest(true);
  setKeepBytes(budget);
  await stopWasmThreads();
  setWinograd(winograd);
  if (winogradEnv === undefined) delete process.env.OSTEON_WINOGRAD;
  else process.env.OSTEON_WINOGRAD = winogradEnv;
});

const t = (shape: number[], seed: number): tf.Tensor => tf.tensor(rand(size(shape), seed), shape);

/** y and the gradients of <y, r> for each x, r a fixed random cotangent. */
function withGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[]): tf.Tensor[] {
  const y = f(...xs);
  const r = t(y.shape, 99);
  const gs = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), r)))(xs);
  return [y, ...gs];
}

/** fn on wasm split with the given slice budget (bytes), with the split calls and cache counts it made. */
async function split(bytes: number, fn: () => tf.Tensor[]): Promise<{ out: Float32Array[]; calls: number; hits: number; outs: number; sent: number }> {
  const old = setKeepBytes(bytes);
  setSplitKernels(true); // also resets the judgement of whether splitting pays
  const k0 = splitKeeps(), c0 = splitCalls();
  try {
    const out = await on('wasm', fn);
    const k1 = splitKeeps();
    return { out, calls: splitCalls() - c0, hits: k1.hits - k0.hits, outs: k1.outs - k0.outs, sent: k1.sent - k0.sent };
  } finally {
    setKeepBytes(old);
  }
}

async function single(fn: () => tf.Tensor[]): Promise<Float32Array[]> {
  const old = setSplitKernels(false);
  try {
    return await on('wasm', fn);
  } finally {
    setSplitKernels(old);
  }
}

describe('batch slices kept on the helper thread', () => {
  // conv2 reads conv1's output, half of which the helper computed; each filter gradient reads the
  // forward x the helper got and the dy its input gradient got just before.
  const chain = (x: tf.Tensor, w1: tf.Tensor, w2: tf.Tensor): tf.Tensor =>
    tf.conv2d(tf.conv2d(x as tf.Tensor4D, w1 as tf.Tensor4D, 1, 'same'), w2 as tf.Tensor4D, 1, 'same');
  const inputs = (): tf.Tensor[] => [t([4, 24, 24, 8], 1), t([3, 3, 8, 16], 2), t([3, 3, 16, 8], 3)];

  it('sends each slice once: the same values as one thread, and filter gradients as the split without keeping', async (ctx) => {
    if (threads < 2) ctx.skip();
    const fn = () => withGrads(chain, inputs());
    const kept = await split(budget, fn);
    const plain = await split(0, fn);
    const one = await single(fn);
    expect(kept.calls, 'split calls').toBeGreaterThanOrEqual(6);
    expect(kept.outs, 'output parts kept').toBeGreaterThan(0);
    expect(kept.hits, 'slices found kept on the helper').toBeGreaterThanOrEqual(3);
    expect(plain.hits + plain.sent + plain.outs, 'budget 0 keeps nothing').toBe(0);
    // y, dx: every sample computed alone, so one thread's float32 values.
    expect(relDiff(kept.out[0], one[0]), 'y').toBe(0);
    expect(relDiff(kept.out[1], one[1]), 'dx').toBe(0);
    // dW: the same parts summed in the same order as the split that sends everything.
    expect(relDiff(kept.out[2], plain.out[2]), 'dW1').toBe(0);
    expect(relDiff(kept.out[3], plain.out[3]), 'dW2').toBe(0);
  });

  it('with a budget smaller than one call (evictions every call) gives the same values', async (ctx) => {
    if (threads < 2) ctx.skip();
    const fn = () => withGrads(chain, inputs());
    // One helper slice of x is 2·24·24·8·4 = 36 KiB: a 40 KiB budget holds about one.
    const tiny = await split(40 * 1024, fn);
    const plain = await split(0, fn);
    const one = await single(fn);
    expect(tiny.sent).toBeGreaterThan(0);
    expect(relDiff(tiny.out[0], one[0])).toBe(0);
    expect(relDiff(tiny.out[1], one[1])).toBe(0);
    expect(relDiff(tiny.out[2], plain.out[2])).toBe(0);
    expect(relDiff(tiny.out[3], plain.out[3])).toBe(0);
  });

  it('never reads a slice whose buffer a kernel changed in place (3D conv + bias + ReLU, then a conv of it)', async (ctx) => {
    if (threads < 2) ctx.skip();
    const x = t([2, 8, 8, 8, 8], 4), w1 = t([3, 3, 3, 8, 8], 5), w2 = t([3, 3, 3, 8, 8], 6);
    // A bias that moves most values across 0, so a stale (pre-bias, pre-ReLU) slice differs.
    const b = tf.tensor(Float32Array.from({ length: 8 }, (_, i) => (i % 2 ? 0.7 : -0.9)), [8]);
    try {
      // The control: a conv of a conv's output finds the helper's part kept.
      const plainChain = await split(budget, () => [tf.conv3d(tf.conv3d(x as tf.Tensor5D, w1 as tf.Tensor5D, 1, 'same'), w2 as tf.Tensor5D, 1, 'same')]);
      expect(plainChain.calls).toBe(2);
      expect(plainChain.outs, 'both convs\' output parts kept').toBe(2);
      expect(plainChain.hits, 'the second conv reads the first one\'s kept part').toBe(1);
      // OsteonConvBias (3D): the split Conv3D, then bias and ReLU in place on its output, whose
      // helper part is kept from before the bias. The second conv must get the new values.
      const fn = () => [tf.conv3d(convBiasRelu(x, w1, b) as tf.Tensor5D, w2 as tf.Tensor5D, 1, 'same')];
      const kept = await split(budget, fn);
      const one = await single(fn);
      expect(relDiff(kept.out[0], one[0]), 'a conv of the biased output').toBe(0);
      expect(kept.calls).toBe(2);
      expect(kept.outs, 'the Conv3D parts were kept').toBe(2);
      // x's slice, kept from the control above; the first conv's output part is not read.
      expect(kept.hits, 'slices read from the helper').toBe(1);
    } finally {
      tf.dispose([x, w1, w2, b]);
    }
  });
});

describe('the transposed convs (OsteonConvTransposeBias, its input and filter + bias gradients) split by batch', () => {
  // On by default; setSplitTransposedConvs(false) keeps them on the calling thread.
  let was = true;
  beforeAll(() => {
    was = setSplitTransposedConvs(true);
    expect(was, 'split by default').toBe(true);
  });
  afterAll(() => {
    setSplitTransposedConvs(was);
  });

  it('are split by default, and not after setSplitTransposedConvs(false)', async (ctx) => {
    if (threads < 2) ctx.skip();
    expect(setSplitTransposedConvs(false), 'on').toBe(true);
    try {
      const r = await split(budget, () => [convTransposeBias(t([2, 32, 32, 32], 1), t([2, 2, 32, 32], 2), t([32], 3), [2, 64, 64, 32], 2, 'same')]);
      expect(r.calls).toBe(0);
    } finally {
      setSplitTransposedConvs(true);
    }
  });

  const cases: Array<[string, number[], number[], number[], number]> = [
    // The direct 2x2 stride-2 SIMD kernels; batch 3 splits 2 + 1.
    ['2D 2×2 stride 2 (direct kernels), batch 3', [3, 32, 32, 32], [2, 2, 32, 32], [3, 64, 64, 32], 3],
    // The generic path (Conv3DBackpropInputV2 + bias; Conv3DBackpropFilterV2 + Sum) run inside the split kernel.
    ['3D 2×2×2 stride 2 (generic), batch 2', [2, 8, 8, 8, 32], [2, 2, 2, 32, 32], [2, 16, 16, 16, 32], 2],
  ];
  for (const [label, xs, ws, out, minCalls] of cases) {
    it(label, async (ctx) => {
      if (threads < 2) ctx.skip();
      const fn = () => withGrads((x, w, b) => convTransposeBias(x, w, b, out, 2, 'same'), [t(xs, 7), t(ws, 8), t([out[out.length - 1]], 9)]);
      const direct0 = simdFusedCounts()[UPCONV_DIRECT] ?? 0;
      const kept = await split(budget, fn);
      const one = await single(fn);
      // Forward, input gradient (2D), filter + bias gradient: each one split call.
      expect(kept.calls, 'split calls').toBeGreaterThanOrEqual(minCalls);
      if (xs.length === 4) expect((simdFusedCounts()[UPCONV_DIRECT] ?? 0) - direct0, 'direct kernel calls').toBeGreaterThan(0);
      expect(relDiff(kept.out[0], one[0]), `${label} y`).toBe(0);
      expect(relDiff(kept.out[1], one[1]), `${label} dx`).toBe(0);
      // dfilter and dbias: per-thread partial sums added in a fixed order.
      expectClose(`${label} dW`, [kept.out[2]], [one[2]], 5e-6);
      expectClose(`${label} db`, [kept.out[3]], [one[3]], 5e-6);
    });
  }

  it('batch 1, and calls under 2²³ multiply-adds, run on the calling thread', async (ctx) => {
    if (threads < 2) ctx.skip();
    const one = await split(budget, () => [convTransposeBias(t([1, 64, 64, 32], 1), t([2, 2, 32, 32], 2), t([32], 3), [1, 128, 128, 32], 2, 'same')]);
    expect(one.calls).toBe(0);
    const small = await split(budget, () => [convTransposeBias(t([2, 16, 16, 32], 1), t([2, 2, 32, 32], 2), t([32], 3), [2, 32, 32, 32], 2, 'same')]);
    expect(small.calls).toBe(0);
  });
});

describe('OSTEON_WASM_KEEP_MB', () => {
  it('is a whole number of MiB ≥ 0; anything else is a usage error naming it (exit 2)', () => {
    const env = process.env.OSTEON_WASM_KEEP_MB;
    try {
      process.env.OSTEON_WASM_KEEP_MB = '48';
      expect(wantedKeepBytes()).toBe(48 * 2 ** 20);
      process.env.OSTEON_WASM_KEEP_MB = '0';
      expect(wantedKeepBytes()).toBe(0);
      for (const bad of ['abc', '-1', '1.5']) {
        process.env.OSTEON_WASM_KEEP_MB = bad;
        expect(() => wantedKeepBytes()).toThrow(OsteonError);
        expect(() => wantedKeepBytes()).toThrow(`OSTEON_WASM_KEEP_MB=${bad}`);
      }
    } finally {
      if (env === undefined) delete process.env.OSTEON_WASM_KEEP_MB;
      else process.env.OSTEON_WASM_KEEP_MB = env;
    }
    const r = runCli(['doctor', '--skip-selftest'], { env: { OSTEON_BACKEND: 'wasm', OSTEON_NATIVE: '0', OSTEON_WASM_KEEP_MB: 'lots' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('OSTEON_WASM_KEEP_MB=lots');
  }, 60_000);
});
