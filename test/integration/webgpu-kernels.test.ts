// The webgpu rung against tfjs's cpu backend (the reference), on the adapter Dawn finds here:
// Mesa's lavapipe in CI (.ci/run installs it). Skipped, with the reason in the suite name, where
// there is no adapter. Every kernel a U-Net training step runs, at rank 4 and rank 5, then whole
// steps (loss and every gradient) for each head in 2D and 3D, then the error guard.
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../app/learning/backend.ts';
import { noAdapter, on, rand, relDiff, stepOn, useWebgpu, type StepCase } from '../helpers/webgpu.ts';

const title = noAdapter ? `webgpu (SKIPPED: ${noAdapter})` : 'webgpu';

type Rank = 4 | 5;
const t = (shape: number[], seed: number) => tf.tensor(rand(shape.reduce((a, b) => a * b, 1), seed), shape);
/** Spatial shape for a rank: [N, H, W, C] or [N, D, H, W, C]. */
const sp = (r: Rank, c: number) => (r === 4 ? [2, 6, 4, c] : [1, 4, 6, 4, c]);

/** The outputs of f and the gradients of Σ f² w.r.t. every input. */
function withGrads(f: (...x: tf.Tensor[]) => tf.Tensor, ...inputs: tf.Tensor[]): tf.Tensor[] {
  return [f(...inputs), ...tf.grads((...x: tf.Tensor[]) => tf.sum(tf.square(f(...x))))(inputs)];
}

const conv = (r: Rank, x: tf.Tensor, w: tf.Tensor, stride = 1, pad: 'same' | 'valid' = 'same') =>
  r === 4 ? tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad) : tf.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, stride, pad);
const k3 = (r: Rank, cin: number, cout: number) => (r === 4 ? [3, 3, cin, cout] : [3, 3, 3, cin, cout]);

/** name → probe at a rank. Each covers kernels of tfjs's U-Net step (the coverage test checks). */
const probes: Array<[string, (r: Rank) => tf.Tensor[]]> = [
  ['conv same + dx + dW', (r) => withGrads((x, w) => conv(r, x, w), t(sp(r, 3), 1), t(k3(r, 3, 4), 2))],
  ['conv 1×1 valid (head) + grads', (r) => withGrads((x, w) => conv(r, x, w, 1, 'valid'), t(sp(r, 4), 3), t(r === 4 ? [1, 1, 4, 3] : [1, 1, 1, 4, 3], 4))],
  ['fused conv2d + bias + relu + grads', (r) => withGrads((x, w, b) => (r === 4
    ? tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 1, pad: 'same', bias: b, activation: 'relu' })
    : tf.relu(tf.add(conv(r, x, w), b))), t(sp(r, 3), 5), t(k3(r, 3, 4), 6), t([4], 7))],
  ['transposed conv stride 2 + bias + grads', (r) => withGrads((x, w, b) => tf.add(r === 4
    ? tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, [2, 12, 8, 3], 2, 'valid')
    : tf.conv3dTranspose(x as tf.Tensor5D, w as tf.Tensor5D, [1, 8, 12, 8, 3], 2, 'valid'), b), t(sp(r, 4), 8), t(r === 4 ? [2, 2, 3, 4] : [2, 2, 2, 3, 4], 9), t([3], 10))],
  ['max pool 2 + grad', (r) => withGrads((x) => (r === 4 ? tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid') : tf.maxPool3d(x as tf.Tensor5D, 2, 2, 'valid')), t(sp(r, 3), 11))],
  ['instance norm (moments) · gamma + beta, relu + grads', (r) => withGrads((x, g, b) => {
    const { mean, variance } = tf.moments(x, r === 4 ? [1, 2] : [1, 2, 3], true);
    return tf.relu(tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b));
  }, t(sp(r, 3), 12), t([3], 13), t([3], 14))],
  ['concat (skip) + grad (SplitV)', (r) => withGrads((a, b) => tf.concat([a, b], -1), t(sp(r, 2), 15), t(sp(r, 3), 16))],
  ['channel slice + grad (PadV2)', (r) => withGrads((x) => tf.slice(x, Array(r).fill(0), [...Array(r - 1).fill(-1), 2]), t(sp(r, 4), 17))],
  ['sigmoid, softplus, log-sigmoid + grads', (r) => withGrads((x) => tf.add(tf.add(tf.sigmoid(x), tf.softplus(x)), tf.logSigmoid(x)), t(sp(r, 3), 18))],
  ['softmax, logSoftmax + grads', (r) => withGrads((x) => tf.add(tf.softmax(x), tf.logSoftmax(x)), t(sp(r, 4), 19))],
  ['BCE with logits (max, abs, exp, log1p) + grads', (r) => withGrads((x, z) => tf.mean(tf.add(tf.sub(tf.relu(x), tf.mul(x, z)), tf.log1p(tf.exp(tf.neg(tf.abs(x)))))), t(sp(r, 3), 20), tf.step(t(sp(r, 3), 21)))],
  ['one-hot of int labels, cast, reductions', (r) => {
    const labels = tf.tensor(Int32Array.from(rand(sp(r, 1).reduce((a, b) => a * b, 1), 22), (v) => Math.floor(((v + 1) / 2) * 3)), sp(r, 1).slice(0, -1), 'int32');
    const oh = tf.cast(tf.oneHot(labels, 3), 'float32');
    return [oh, tf.sum(oh, Array.from({ length: r - 1 }, (_, i) => i)), tf.mean(oh), tf.max(oh, -1), tf.expandDims(tf.cast(labels, 'float32'), -1)];
  }],
  ['where / leakyRelu / clipByValue + grads (Select)', (r) => withGrads((x) => tf.add(tf.leakyRelu(x, 0.1), tf.clipByValue(x, -0.5, 0.5)), t(sp(r, 3), 23))],
  ['prelu with per-channel alpha + grads', (r) => withGrads((x, a) => tf.prelu(x, a), t(sp(r, 3), 24), t([3], 25))],
  ['batchNorm + grads (FusedBatchNorm)', (r) => withGrads((x, m, v, s, o) => tf.batchNorm(x, m, tf.add(tf.square(v), 1), o, s, 1e-3), t(sp(r, 3), 26), t([3], 27), t([3], 28), t([3], 29), t([3], 30))],
  ['addN of 20 (the optimizer sums many gradients)', (r) => [tf.addN(Array.from({ length: 20 }, (_, i) => t(sp(r, 2), 40 + i)))]],
  ['Adam update ops (sqrt, div, square, sub, mul scalars)', (r) => {
    const g = t(sp(r, 2), 31), m = t(sp(r, 2), 32), v = tf.square(t(sp(r, 2), 33));
    const m2 = tf.add(tf.mul(m, 0.9), tf.mul(g, 0.1)), v2 = tf.add(tf.mul(v, 0.999), tf.mul(tf.square(g), 0.001));
    return [m2, v2, tf.div(m2, tf.add(tf.sqrt(v2), 1e-7))];
  }],
];

describe.skipIf(noAdapter !== null)(title, () => {
  beforeAll(useWebgpu);

  describe('every kernel of a U-Net step agrees with the cpu backend', () => {
    for (const rank of [4, 5] as const) {
      for (const [name, probe] of probes) {
        it(`rank ${rank}: ${name}`, async () => {
          const got = await on('webgpu', () => probe(rank));
          const ref = await on('cpu', () => probe(rank));
          expect(got.length).toBe(ref.length);
          got.forEach((g, i) => expect(relDiff(g, ref[i]), `output ${i}`).toBeLessThan(1e-4));
        });
      }
    }

    it('the probes cover every kernel a U-Net training step runs (profiled on cpu)', async () => {
      await tf.setBackend('cpu');
      const kernelsOf = async (f: () => Promise<unknown>) => new Set((await tf.profile(async () => { await f(); return []; })).kernels.map((k) => k.name));
      const covered = new Set<string>();
      for (const rank of [4, 5] as const) for (const [, probe] of probes) for (const k of await kernelsOf(async () => tf.dispose(probe(rank)))) covered.add(k);
      const used = new Set<string>();
      for (const c of stepCases) for (const k of await kernelsOf(() => stepOn('cpu', c))) used.add(k);
      expect([...used].filter((k) => !covered.has(k))).toEqual([]);
    });
  });

  describe('a full training step (loss and every gradient) agrees with cpu within 1e-4 relative', () => {
    for (const c of stepCases) {
      it(c.name, async () => {
        const got = await stepOn('webgpu', c);
        const ref = await stepOn('cpu', c);
        expect(Math.abs(got.loss - ref.loss) / Math.abs(ref.loss)).toBeLessThan(1e-4);
        const scale = Math.max(...[...ref.grads.values()].map((g) => g.reduce((m, v) => Math.max(m, Math.abs(v)), 0)));
        for (const [name, g] of ref.grads) {
          const w = got.grads.get(name)!;
          if (c.model.normalization === 'instance' && /^(enc|dec)\d+\.conv\d\.b$/.test(name)) {
            // A conv bias right before instance norm cancels out: its gradient is 0 up to round-off
            // on both backends, so a relative error is meaningless; compare with the step's scale.
            expect(relDiff(w, new Float32Array(w.length)), `${name} (zero gradient)`).toBeLessThan(1e-6 * scale);
            continue;
          }
          expect(relDiff(w, g), name).toBeLessThan(1e-4);
        }
      });
    }
  });

  describe('errors become exceptions, never wrong numbers', () => {
    it('a tensor over maxStorageBufferBindingSize throws, naming the program and the limit', async () => {
      await tf.setBackend('webgpu');
      const limit = (tf.backend() as unknown as { device: { limits: { maxStorageBufferBindingSize: number } } }).device.limits.maxStorageBufferBindingSize;
      // From host memory: the check fires when the add binds it.
      const big = tf.tensor(new Float32Array(limit / 4 + 1024));
      expect(() => tf.add(big, 1)).toThrow(/webgpu: .*over this adapter's maxStorageBufferBindingSize \(\d+ MiB\); use a smaller patch or batch/);
      big.dispose();
      // The backend keeps working afterwards.
      expect(Array.from(await tf.add(tf.tensor([1, 2]), 1).data())).toEqual([2, 3]);
    });

    it('a validation error raised by the device (an oversized buffer) fails the next read with its message', async () => {
      await tf.setBackend('webgpu');
      const device = (tf.backend() as unknown as { device: { limits: { maxBufferSize: number }; createBuffer(d: { size: number; usage: number }): { destroy(): void } } }).device;
      const x = tf.add(tf.tensor([1, 2, 3]), 1);
      // GPUBufferUsage.STORAGE = 0x80; a size over maxBufferSize is a validation error (WebGPU spec, createBuffer).
      device.createBuffer({ size: device.limits.maxBufferSize + 4, usage: 0x80 });
      await expect(x.data()).rejects.toThrow(/^webgpu: uncaptured device error: .*(size|maxBufferSize)/i);
      // Reported once; later reads are clean.
      expect(Array.from(await tf.add(tf.tensor([1]), 1).data())).toEqual([2]);
      x.dispose();
    });

    it('a synchronous read of a GPU tensor in Node says to read asynchronously', async () => {
      await tf.setBackend('webgpu');
      // Large enough that tfjs does not forward the op to the CPU (WEBGPU_CPU_HANDOFF_SIZE_THRESHOLD).
      const y = tf.add(tf.ones([4096]), 1);
      expect(() => y.dataSync()).toThrow(/no synchronous read-back; use await tensor\.data\(\)/);
      y.dispose();
    });
  });
});

/** Tiny real U-Nets (app/learning/model/unet.ts): 2D without normalisation, 3D with instance norm. */
const stepCases: StepCase[] = (['joint', 'sigmoid', 'softmax'] as const).flatMap((kind) => ([2, 3] as const).map((dims): StepCase => {
  const head = kind === 'joint' ? { kind, parts: 2, posWeight: 2, a: 1, b: 1, c: 0.5 }
    : kind === 'sigmoid' ? { kind, channels: 3, posWeight: [2, 1, 3], diceWeight: 1 } : { kind, classes: 3, classWeights: [0.5, 1, 2], diceWeight: 1 };
  const outChannels = kind === 'joint' ? 4 : 3;
  return {
    name: `${dims}D ${kind} head`,
    model: { spatialDims: dims, inChannels: 1, outChannels, filters: [4, 8], normalization: dims === 3 ? 'instance' : 'none', seed: 1 },
    head, shape: dims === 2 ? [2, 16, 16, 1] : [1, 8, 8, 8, 1],
  };
}));
