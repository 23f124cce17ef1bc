// Shared by the webgpu tests: finds Dawn's adapter once (lavapipe here and on CI), and computes a
// U-Net training step (loss and every gradient) on a named backend, for comparison with cpu.
import { initBackend, tf } from '../../app/learning/backend.ts';
import { lossFor, type HeadConfig, type TargetByKind } from '../../app/learning/heads.ts';
import { createParams, disposeParams, forward, type Params, type UNetConfig } from '../../app/learning/model/unet.ts';
import { loadNodeWebgpu } from '../../app/learning/webgpu/node.ts';

const probe = await loadNodeWebgpu();
/** Why the webgpu tests are skipped here (printed by each skipped file), or null when they run. */
export const noAdapter: string | null = typeof probe === 'string' ? probe : null;
if (noAdapter) console.warn(`SKIPPED: webgpu tests: ${noAdapter}`);

/** Activates webgpu (forced: the adapter here is software); the cpu backend stays registered. */
export async function useWebgpu(): Promise<void> {
  const r = await initBackend({ prefer: 'webgpu' });
  if (r.name !== 'webgpu') throw new Error(`expected webgpu, got ${r.name}`);
}

/** Deterministic uniform(-1, 1) (a 32-bit LCG). */
export function rand(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** max |a − b| / max |b| (b is the reference). */
export function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return den === 0 ? num : num / den;
}

/** Runs fn on `backend` and returns its outputs' data (read asynchronously, tensors disposed). */
export async function on(backend: string, fn: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const outs = tf.tidy(fn);
  const data = (await Promise.all(outs.map((t) => t.data()))) as Float32Array[];
  tf.dispose(outs);
  return data;
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
