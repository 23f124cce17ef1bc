// Shared by the webgpu tests: finds Dawn's adapter once (lavapipe here and on CI); the U-Net step
// on a named backend (loss and every gradient) is app/learning/stepcheck.ts, also used by gpu-check.
import { initBackend, tf } from '../../app/learning/backend.ts';
import { rand, stepOn, type StepCase } from '../../app/learning/stepcheck.ts';
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

export { rand, stepOn, type StepCase };
