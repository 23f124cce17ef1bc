// The pure-wasm rung's helper threads (app/learning/kernels/parallel): every convolution kind
// split by batch over the calling thread and a helper must give the values of the same kernel on
// one thread (forward and input gradients exactly: each sample is computed alone; filter
// gradients to float32 rounding of the sum order (5e-6); batch 1 splits the channels or rows, to float32
// rounding), and a whole U-Net training step (joint loss,
// Adam) must match the one-thread step within 1e-5 relative. A helper that dies mid-job must
// give a clear error at once, not a hang. Run with OSTEON_NATIVE=0 or without: the wasm backend
// is forced and the oneDNN kernels are not registered here. The Winograd convolutions are off
// here (on this thread, and in the helpers through OSTEON_WINOGRAD=0 when they start): their
// rounding depends on where a part's tiles start, so a row split is not float-for-float the
// unsplit call; test/unit/winograd.test.ts checks them split over a helper.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../app/learning/backend.ts';
import { lossFor } from '../../app/learning/heads.ts';
import { createParams, disposeParams, forward, type UNetConfig } from '../../app/learning/model/unet.ts';
import { crashHelperForTest, setSplitKernels, splitCalls, splitPauses, stallHelpersForTest, startWasmThreads, stopWasmThreads, takenBack, wasmThreadsStatus } from '../../app/learning/kernels/parallel/pool.ts';
import { setWinograd } from '../../app/learning/kernels/simd/winograd.ts';
import { expectClose, on, printWorst, rand, relDiff, size } from './kernels-helpers.ts';

let threads = 1;
const winogradEnv = process.env.OSTEON_WINOGRAD;
let winograd = true;

beforeAll(async () => {
  const r = await initBackend({ prefer: 'wasm' });
  expect(r.name).toBe('wasm');
  expect(r.kernels).toContain('wasm-threads:Conv2D');
  winograd = setWinograd(false);
  process.env.OSTEON_WINOGRAD = '0'; // the helpers read it when they start
  // Two threads whatever this machine has, unless OSTEON_WASM_THREADS says otherwise.
  await stopWasmThreads();
  threads = (await startWasmThreads(2)).threads;
}, 120_000);
afterAll(async () => {
  printWorst('wasm-threads');
  await stopWasmThreads();
  setWinograd(winograd);
  if (winogradEnv === undefined) delete process.env.OSTEON_WINOGRAD;
  else process.env.OSTEON_WINOGRAD = winogradEnv;
});

const t = (shape: number[], seed: number): tf.Tensor => tf.tensor(rand(size(shape), seed), shape);

/** fn's outputs on wasm with the kernels split, then on one thread: split calls counted. */
async function both(fn: () => tf.Tensor[]): Promise<{ split: Float32Array[]; single: Float32Array[]; calls: number }> {
  setSplitKernels(true); // also resets the judgement of whether splitting pays (a loaded machine may pause it)
  const before = splitCalls();
  const split = await on('wasm', fn);
  const calls = splitCalls() - before;
  const old = setSplitKernels(false);
  try {
    return { split, single: await on('wasm', fn), calls };
  } finally {
    setSplitKernels(old);
  }
}

/** y and the gradients of <y, r> for each x, r a fixed random cotangent. */
function withGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[]): tf.Tensor[] {
  const y = f(...xs);
  const r = t(y.shape, 99);
  const gs = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), r)))(xs);
  return [y, ...gs];
}

describe('convolutions split over the helper thread', () => {
  const cases: Array<[string, number[], number[], (x: tf.Tensor, w: tf.Tensor) => tf.Tensor]> = [
    ['conv2d 3×3 same, batch 3 (2 + 1)', [3, 24, 24, 8], [3, 3, 8, 16], (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same')],
    ['conv2d 3×3 stride 2 valid, batch 4', [4, 33, 31, 8], [3, 3, 8, 12], (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'valid')],
    ['conv2dTranspose 2×2 stride 2, batch 2', [2, 16, 16, 32], [2, 2, 16, 32], (x, w) => tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, [2, 32, 32, 16], 2, 'same')],
    ['conv3d 3×3×3 same, batch 2', [2, 10, 10, 10, 4], [3, 3, 3, 4, 8], (x, w) => tf.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, 1, 'same')],
    ['conv3d 2×2×2 stride 2, batch 3', [3, 12, 12, 12, 8], [2, 2, 2, 8, 16], (x, w) => tf.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, 2, 'valid')],
  ];
  for (const [label, xs, ws, f] of cases) {
    it(label, async (ctx) => {
      if (threads < 2) ctx.skip();
      const { split, single, calls } = await both(() => withGrads(f, [t(xs, 1), t(ws, 2)]));
      expect(calls, 'split kernel calls (forward, dx, dW)').toBeGreaterThanOrEqual(3);
      // y and dx: every sample computed alone, so the same float32 values.
      expect(relDiff(split[0], single[0]), `${label} y`).toBe(0);
      expect(relDiff(split[1], single[1]), `${label} dx`).toBe(0);
      // dW: per-thread partial sums added in a fixed order.
      expectClose(`${label} dW`, [split[2]], [single[2]], 5e-6);
    });
  }

  // Batch 1: the channels are cut instead (the filter's output channels; for dx its input channels).
  const single: Array<[string, number[], number[], (x: tf.Tensor, w: tf.Tensor) => tf.Tensor]> = [
    ['conv2d 3×3 same, batch 1', [1, 48, 40, 32], [3, 3, 32, 32], (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same')],
    ['conv2d 3×3 same, batch 1, 34 → 33 channels (not multiples of 4)', [1, 24, 20, 34], [3, 3, 34, 33], (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same')],
    ['conv3d 3×3×3 same, batch 1', [1, 8, 8, 8, 32], [3, 3, 3, 32, 32], (x, w) => tf.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, 1, 'same')],
    ['conv3dTranspose 2×2×2 stride 2, batch 1', [1, 8, 8, 8, 32], [2, 2, 2, 32, 32], (x, w) => tf.conv3dTranspose(x as tf.Tensor5D, w as tf.Tensor5D, [1, 16, 16, 16, 32], 2, 'same')],
  ];
  for (const [label, xs, ws, f] of single) {
    it(label, async (ctx) => {
      if (threads < 2) ctx.skip();
      const { split, single: one, calls } = await both(() => withGrads(f, [t(xs, 1), t(ws, 2)]));
      expect(calls, 'split kernel calls').toBeGreaterThanOrEqual(2);
      expectClose(`${label} y`, [split[0]], [one[0]], 1e-6);
      expectClose(`${label} dx`, [split[1]], [one[1]], 1e-6);
      expectClose(`${label} dW`, [split[2]], [one[2]], 5e-6);
    });
  }

  // Batch 1, stride 1: the forward conv and the filter gradient are cut by output rows (D in 3D,
  // H in 2D) over zero-padded input slabs.
  const rows: Array<[string, number[], number[], (x: tf.Tensor, w: tf.Tensor) => tf.Tensor]> = [
    ['by rows: conv3d 3×3×3 same, batch 1, 8 channels', [1, 16, 14, 12, 8], [3, 3, 3, 8, 8], (x, w) => tf.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, 1, 'same')],
    ['by rows: conv3d 2×3×1 valid, batch 1', [1, 17, 12, 10, 8], [2, 3, 1, 8, 12], (x, w) => tf.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, 1, 'valid')],
    ['by rows: conv2d 3×3 same, batch 1, 8 channels', [1, 64, 50, 8], [3, 3, 8, 8], (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same')],
    ['by rows: conv2d 2×2 same (uneven padding), batch 1', [1, 61, 47, 8], [2, 2, 8, 16], (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same')],
  ];
  for (const [label, xs, ws, f] of rows) {
    it(label, async (ctx) => {
      if (threads < 2) ctx.skip();
      const { split, single: one, calls } = await both(() => withGrads(f, [t(xs, 1), t(ws, 2)]));
      expect(calls, 'split kernel calls (forward, dW)').toBeGreaterThanOrEqual(2);
      expectClose(`${label} y`, [split[0]], [one[0]], 1e-6);
      expectClose(`${label} dx`, [split[1]], [one[1]], 1e-6);
      expectClose(`${label} dW`, [split[2]], [one[2]], 5e-6);
    });
  }

  it('small convolutions, and strided batch-1 ones with few channels, run on the calling thread', async (ctx) => {
    if (threads < 2) ctx.skip();
    const small = await both(() => [tf.conv2d(t([4, 8, 8, 4], 1) as tf.Tensor4D, t([3, 3, 4, 4], 2) as tf.Tensor4D, 1, 'same')]);
    expect(small.calls).toBe(0);
    // Strided, batch 1, too few channels to cut: no row split (stride 1 only), no channel split.
    const narrow = await both(() => [tf.conv2d(t([1, 96, 96, 8], 1) as tf.Tensor4D, t([3, 3, 8, 8], 2) as tf.Tensor4D, 2, 'same')]);
    expect(narrow.calls).toBe(0);
  });
});

describe('a U-Net training step on two threads', () => {
  it('matches the one-thread step within 1e-5 (joint loss, Adam, 2 steps)', async (ctx) => {
    if (threads < 2) ctx.skip();
    await tf.setBackend('wasm');
    const cfg: UNetConfig = { spatialDims: 2, inChannels: 1, outChannels: 5, filters: [8, 16], normalization: 'none', seed: 3 };
    const B = 4, S = 32;
    const lab = Int32Array.from({ length: B * S * S }, (_, i) => Math.floor(Math.abs(Math.sin(i * 12.9898 + 2)) * 4) % 4);
    const run = async (split: boolean): Promise<{ losses: number[]; params: Float32Array[] }> => {
      const old = setSplitKernels(split);
      const params = createParams(cfg);
      const x = t([B, S, S, 1], 5);
      const labels = tf.tensor(lab, [B, S, S], 'int32');
      const whole = tf.tensor(Float32Array.from(lab, (v) => (v > 0 ? 1 : 0)), [B, S, S]);
      const loss = lossFor({ kind: 'joint', parts: 3, posWeight: 3, a: 1, b: 1, c: 0.5 });
      const opt = tf.train.adam(1e-3);
      const losses: number[] = [];
      const before = splitCalls();
      try {
        for (let s = 0; s < 2; s++) {
          const cost = opt.minimize(() => loss(forward(params, cfg, x), { whole, labels }).total, true, [...params.values()]);
          losses.push((await cost!.data())[0]);
          cost!.dispose();
        }
        if (split) expect(splitCalls() - before).toBeGreaterThan(0);
        return { losses, params: [...params.values()].map((p) => p.dataSync() as Float32Array) };
      } finally {
        setSplitKernels(old);
        opt.dispose();
        tf.dispose([x, labels, whole]);
        disposeParams(params);
      }
    };
    const two = await run(true);
    const one = await run(false);
    two.losses.forEach((l, i) => expect(Math.abs(l - one.losses[i]) / Math.abs(one.losses[i]), `loss ${i}`).toBeLessThan(1e-5));
    two.params.forEach((p, i) => expectClose(`U-Net step param ${i}`, [p], [one.params[i]], 1e-5));
  }, 60_000);
});

describe('a helper thread that has not started its job', () => {
  it('has the job taken back by the calling thread: same values, and the helper\'s kept weights stay in step', async (ctx) => {
    if (threads < 2) ctx.skip();
    const f = (x: tf.Tensor, w: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same');
    const x = t([4, 32, 32, 8], 1), w = t([3, 3, 8, 16], 2);
    const old = setSplitKernels(false);
    const ref = await on('wasm', () => withGrads(f, [x, w]));
    setSplitKernels(old);
    const before = takenBack();
    setSplitKernels(true);
    stallHelpersForTest(1500);
    const got = await on('wasm', () => withGrads(f, [x, w]));
    expect(takenBack() - before, 'jobs taken back while the helper slept').toBeGreaterThan(0);
    expect(relDiff(got[0], ref[0])).toBe(0);
    expectClose('taken back: dW', [got[2]], [ref[2]], 5e-6);
    // The same filter again once the helper is awake: it must not be taken for kept.
    await new Promise((r) => setTimeout(r, 1600));
    setSplitKernels(true);
    const calls = splitCalls();
    const again = await on('wasm', () => withGrads(f, [x, w]));
    expect(splitCalls() - calls).toBeGreaterThan(0);
    expect(relDiff(again[0], ref[0])).toBe(0);
    expect(wasmThreadsStatus().reason).toBeNull();
    tf.dispose([x, w]);
  }, 30_000);
});

describe('when splitting does not pay', () => {
  it('pauses it (helpers kept busy as by other processes), then tries again', async (ctx) => {
    if (threads < 2) ctx.skip();
    await tf.setBackend('wasm');
    setSplitKernels(true);
    const x = t([4, 32, 32, 8], 1), w = t([3, 3, 8, 16], 2);
    const before = splitPauses().pauses;
    // Split calls, each with its helper asleep, after claiming its part, for far longer than the
    // call's own part (a part the helper had not claimed would be taken back, and the judged
    // times would then be close to one thread's, which load can tip either way). Two bad windows
    // of 40 in a row pause; a first window after the helpers started is not judged.
    for (let i = 0; i < 160 && !splitPauses().pausedNow; i++) {
      stallHelpersForTest(20, true);
      tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same').dispose();
    }
    expect(splitPauses().pauses - before).toBe(1);
    expect(splitPauses().pausedNow).toBe(true);
    const calls = splitCalls();
    tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same').dispose();
    expect(splitCalls(), 'paused: on the calling thread').toBe(calls);
    setSplitKernels(true);
    await new Promise((r) => setTimeout(r, 200)); // the helper wakes from its last sleep
    tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same').dispose();
    expect(splitCalls()).toBe(calls + 1);
    tf.dispose([x, w]);
  }, 30_000);
});

describe('a helper thread that dies', () => {
  it('fails the next split call at once with a clear error, then the rung runs on one thread', async (ctx) => {
    if (threads < 2) ctx.skip();
    await tf.setBackend('wasm');
    await crashHelperForTest();
    const x = t([4, 32, 32, 8], 1), w = t([3, 3, 8, 8], 2);
    const t0 = Date.now();
    expect(() => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same').dataSync()).toThrow(/wasm helper thread 1 failed: .*(crash|ended)/);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(wasmThreadsStatus().threads).toBe(1);
    expect(wasmThreadsStatus().reason).toMatch(/helper thread 1 failed/);
    // The rung goes on, single-threaded, with the same values.
    const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same').dataSync();
    expect(y.length).toBe(size([4, 32, 32, 8]));
    tf.dispose([x, w]);
  }, 60_000);
});
