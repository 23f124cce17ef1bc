// Shared by test/unit/native-loss-adam.test.ts (the addon's fused loss) and
// test/unit/simd-fused.test.ts (the SIMD module's): a seeded generator for logits and targets, and
// a loss's value, components and gradient with the fused loss on or off.
import { tf } from '../../app/learning/backend.ts';
import { setFusion } from '../../app/learning/native/loss-adam.ts';

/** mulberry32: uniform in [0, 1), seeded, so failures reproduce. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type LossFn = (x: tf.Tensor) => { total: tf.Scalar; components: Record<string, tf.Scalar | undefined> };

/** Value, components and gradient of `fn` at the logits on the active backend, with the fused loss on or off. */
export function evaluate(fn: LossFn, logits: Float32Array, shape: number[], fused: boolean): { total: number; comps: Record<string, number>; grad: Float32Array } {
  setFusion(fused);
  try {
    return tf.tidy(() => {
      const x = tf.tensor(logits, shape);
      const r = fn(x);
      const comps: Record<string, number> = {};
      for (const [k, v] of Object.entries(r.components)) if (v) comps[k] = v.dataSync()[0];
      const grad = tf.grad((v: tf.Tensor) => fn(v).total)(x).dataSync() as Float32Array;
      return { total: r.total.dataSync()[0], comps, grad: Float32Array.from(grad) };
    });
  } finally {
    setFusion(true);
  }
}
