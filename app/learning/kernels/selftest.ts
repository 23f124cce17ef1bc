import * as tf from '@tensorflow/tfjs';

/**
 * A few-millisecond check that the active backend's convolution gradients (including Osteon's
 * kernels, when registered) agree with tfjs's cpu backend: conv2d at stride 1 and 2, conv3d,
 * and conv3dTranspose (forward and gradient). Restores the active backend afterwards.
 */
export interface SelfTestCheck {
  name: string;
  /** max |active - cpu| / max |cpu| over the outputs compared. */
  relDiff: number;
  pass: boolean;
  /** Set when the probe threw (e.g. a kernel missing on the active backend). */
  error?: string;
}

const TOL = 1e-4;

function data(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sin(seed * 7.31 + i * 1.37);
  return out;
}

type Probe = () => tf.Tensor[];

const probes: Array<[string, Probe]> = [
  ['conv2d gradient, stride 1 same', () => conv2dGrads(1, 'same', 4)],
  ['conv2d gradient, stride 2 valid', () => conv2dGrads(2, 'valid', 2)],
  ['conv3d gradient, stride 1 same', () => conv3dGrads()],
  ['conv3dTranspose forward + gradient, stride 2', () => conv3dTransposeGrads()],
  // Rank-5 paths that tfjs 4.22 gets wrong on some backends (webgpu/workarounds.ts).
  ['rank-5 bias add, channel scale, leakyRelu (Select) + gradient', () => rank5Elementwise()],
  ['rank-5 batchNorm + gradient', () => rank5BatchNorm()],
  ['rank-5 slice + gradient (PadV2), maxPool3d + gradient', () => rank5SliceAndPool()],
  ['addN of 12 tensors', () => [tf.addN(Array.from({ length: 12 }, (_, i) => tf.tensor(data(40, 20 + i), [2, 4, 5])))]],
];

function rank5Elementwise(): tf.Tensor[] {
  const x = tf.tensor5d(data(2 * 3 * 4 * 2 * 5, 7), [2, 3, 4, 2, 5]);
  const b = tf.tensor1d(data(5, 8)), s = tf.tensor1d(data(5, 9));
  const f = (a: tf.Tensor, bb: tf.Tensor, ss: tf.Tensor) => tf.leakyRelu(tf.mul(tf.add(a, bb), ss), 0.1);
  return [f(x, b, s), ...tf.grads((a: tf.Tensor, bb: tf.Tensor, ss: tf.Tensor) => f(a, bb, ss).square().sum())([x, b, s])];
}

function rank5BatchNorm(): tf.Tensor[] {
  const x = tf.tensor5d(data(2 * 3 * 2 * 4 * 3, 10), [2, 3, 2, 4, 3]);
  const mean = tf.tensor1d(data(3, 11)), variance = tf.tensor1d(data(3, 12).map((v) => 1 + v * v));
  const scale = tf.tensor1d(data(3, 13)), offset = tf.tensor1d(data(3, 14));
  const f = (...t: tf.Tensor[]) => tf.batchNorm(t[0], t[1], t[2], t[4], t[3], 1e-3);
  return [f(x, mean, variance, scale, offset), ...tf.grads((...t: tf.Tensor[]) => f(...t).square().sum())([x, mean, variance, scale, offset])];
}

function rank5SliceAndPool(): tf.Tensor[] {
  const x = tf.tensor5d(data(1 * 4 * 4 * 6 * 5, 15), [1, 4, 4, 6, 5]);
  const f = (a: tf.Tensor) => tf.maxPool3d(tf.slice(a, [0, 0, 0, 0, 1], [-1, -1, -1, -1, 3]) as tf.Tensor5D, 2, 2, 'valid');
  return [f(x), tf.grad((a: tf.Tensor) => f(a).square().sum())(x)];
}

function conv2dGrads(stride: number, pad: 'same' | 'valid', c: number): tf.Tensor[] {
  const x = tf.tensor4d(data(2 * 7 * 6 * c, 1), [2, 7, 6, c]);
  const w = tf.tensor4d(data(3 * 3 * c * 3, 2), [3, 3, c, 3]);
  const f = (a: tf.Tensor, b: tf.Tensor): tf.Scalar => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad).square().sum();
  return tf.grads(f)([x, w]);
}

function conv3dGrads(): tf.Tensor[] {
  const x = tf.tensor5d(data(5 * 4 * 6 * 4, 5), [1, 5, 4, 6, 4]);
  const w = tf.tensor5d(data(27 * 4 * 2, 6), [3, 3, 3, 4, 2]);
  const f = (a: tf.Tensor, b: tf.Tensor): tf.Tensor5D => tf.conv3d(a as tf.Tensor5D, b as tf.Tensor5D, 1, 'same');
  return [f(x, w), ...tf.grads((a: tf.Tensor, b: tf.Tensor) => f(a, b).square().sum())([x, w])];
}

function conv3dTransposeGrads(): tf.Tensor[] {
  const dy = tf.tensor5d(data(2 * 3 * 2 * 3, 3), [1, 2, 3, 2, 3]);
  const w = tf.tensor5d(data(8 * 2 * 3, 4), [2, 2, 2, 2, 3]);
  const f = (a: tf.Tensor, b: tf.Tensor): tf.Tensor5D => tf.conv3dTranspose(a as tf.Tensor5D, b as tf.Tensor5D, [1, 4, 6, 4, 2], 2, 'same');
  return [f(dy, w), ...tf.grads((a: tf.Tensor, b: tf.Tensor) => f(a, b).square().sum())([dy, w])];
}

async function evaluate(backend: string, probe: Probe): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  // Read outside tf.tidy: tidy walks every element of returned typed arrays.
  const outs = tf.tidy(probe);
  const data = (await Promise.all(outs.map((t) => t.data()))) as Float32Array[];
  tf.dispose(outs);
  return data;
}

function relDiff(got: Float32Array[], ref: Float32Array[]): number {
  let worst = 0;
  got.forEach((g, k) => {
    let num = 0;
    let den = 0;
    for (let i = 0; i < g.length; i++) {
      num = Math.max(num, Math.abs(g[i] - ref[k][i]));
      den = Math.max(den, Math.abs(ref[k][i]));
    }
    worst = Math.max(worst, den === 0 ? num : num / den);
  });
  return worst;
}

export async function runSelfTest(): Promise<SelfTestCheck[]> {
  const active = tf.getBackend();
  const checks: SelfTestCheck[] = [];
  try {
    for (const [name, probe] of probes) {
      try {
        const got = await evaluate(active, probe);
        const ref = await evaluate('cpu', probe);
        const d = relDiff(got, ref);
        checks.push({ name, relDiff: d, pass: Number.isFinite(d) && d < TOL });
      } catch (e) {
        checks.push({ name, relDiff: Number.NaN, pass: false, error: e instanceof Error ? e.message : String(e) });
      }
    }
  } finally {
    await tf.setBackend(active);
  }
  return checks;
}
