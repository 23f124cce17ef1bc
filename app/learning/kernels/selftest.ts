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
];

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
