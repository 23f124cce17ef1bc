/**
 * One U-Net training step (loss and the gradient of every parameter) on a named tfjs backend,
 * from the same initial weights and data whichever backend runs it, so two backends can be
 * compared: the webgpu tests and `osteon gpu-check` compare webgpu with cpu.
 */
import * as tf from '@tensorflow/tfjs';
import { lossFor, type HeadConfig, type TargetByKind } from './heads.ts';
import { createParams, disposeParams, forward, type Params, type UNetConfig } from './model/unet.ts';

/** Deterministic uniform(-1, 1) (a 32-bit LCG), so failures reproduce. */
export function rand(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

export interface StepCase {
  name: string;
  model: UNetConfig;
  head: HeadConfig;
  /** Input shape [N, ...spatial, C]. */
  shape: number[];
}

/** A target for the head over the spatial grid of `shape`, with every class present. */
function target(head: HeadConfig, shape: number[]): TargetByKind[HeadConfig['kind']] {
  const spatial = shape.slice(0, -1);
  const n = spatial.reduce((a, b) => a * b, 1);
  const r = rand(n, 11);
  const labels = (k: number) => tf.tensor(Int32Array.from(r, (v) => Math.min(k - 1, Math.floor(((v + 1) / 2) * k))), spatial, 'int32');
  switch (head.kind) {
    case 'softmax': return labels(head.classes);
    case 'sigmoid': return tf.tensor(Float32Array.from(rand(n * head.channels, 12), (v) => (v > 0 ? 1 : 0)), [...spatial, head.channels]);
    case 'joint': return { whole: tf.tensor(Float32Array.from(r, (v) => (v > -0.3 ? 1 : 0)), spatial), labels: labels(head.parts + 1) };
    default: { const never: never = head; throw new Error(String(never)); }
  }
}

/** The total loss and its gradient w.r.t. every U-Net parameter, on `backend`, from the same initial values. */
export async function stepOn(backend: string, c: StepCase): Promise<{ loss: number; grads: Map<string, Float32Array> }> {
  await tf.setBackend('cpu');
  const init = createParams(c.model);
  const names = [...init.keys()];
  const shapes = names.map((k) => init.get(k)!.shape);
  const values = (await Promise.all(names.map((k) => init.get(k)!.data()))) as Float32Array[];
  disposeParams(init);
  await tf.setBackend(backend);
  const params = names.map((_, i) => tf.tensor(values[i], shapes[i]));
  const x = tf.tensor(rand(c.shape.reduce((a, b) => a * b, 1), 5), c.shape);
  const tgt = target(c.head, c.shape);
  const loss = lossFor(c.head);
  const f = (...ps: tf.Tensor[]) => {
    const p: Params = new Map(names.map((k, i) => [k, ps[i] as tf.Variable]));
    return loss(forward(p, c.model, x), tgt as never).total;
  };
  const { value, grads } = tf.valueAndGrads(f)(params);
  const out = new Map<string, Float32Array>();
  for (const [i, g] of grads.entries()) out.set(names[i], (await g.data()) as Float32Array);
  const total = (await value.data())[0];
  tf.dispose([value, ...grads, ...params, x, ...(tgt instanceof tf.Tensor ? [tgt] : [tgt.whole, tgt.labels])]);
  return { loss: total, grads: out };
}

/**
 * How far a step on one backend is from the reference step: the loss's relative error and the
 * worst gradient's max|a − b| / max|b|. A gradient whose reference is 0 up to round-off (a conv
 * bias right before instance norm) is measured against the step's largest gradient instead.
 */
export function stepAgreement(got: { loss: number; grads: Map<string, Float32Array> }, ref: { loss: number; grads: Map<string, Float32Array> }): { loss: number; grad: number; worst: string } {
  const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const scale = Math.max(...[...ref.grads.values()].map(maxAbs));
  let grad = 0, worst = '';
  for (const [name, r] of ref.grads) {
    const g = got.grads.get(name);
    let diff = Infinity;
    if (g && g.length === r.length) {
      diff = 0;
      for (let i = 0; i < r.length; i++) diff = Math.max(diff, Math.abs(g[i] - r[i]));
    }
    const den = Math.max(maxAbs(r), 1e-3 * scale);
    const e = den === 0 ? diff : diff / den;
    if (e > grad) { grad = e; worst = name; }
  }
  return { loss: Math.abs(got.loss - ref.loss) / Math.max(Math.abs(ref.loss), 1e-30), grad, worst };
}
