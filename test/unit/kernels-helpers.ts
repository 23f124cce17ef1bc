// Shared by test/unit/kernels*.test.ts: runs the same computation on the wasm backend (with
// Osteon's kernels) and on tfjs's cpu backend (the reference), and compares float32 results.
import { expect } from 'vitest';
import { tf } from '../../app/learning/backend.ts';

export type Backend = 'wasm' | 'cpu';

/** Deterministic uniform(-1, 1) data (a 32-bit LCG), so failures reproduce; the engine's own. */
export { rand } from '../../app/learning/stepcheck.ts';

export function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Runs fn with `backend` active and returns its outputs' data (tensors are disposed). */
export async function on(backend: Backend, fn: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  // Read outside tf.tidy: tidy walks every element of returned typed arrays.
  const outs = tf.tidy(() => fn());
  const data = outs.map((t) => t.dataSync() as Float32Array);
  tf.dispose(outs);
  return data;
}

/** max |a - b| / max |b| (b is the reference); 0 when both are all zero. */
export function relDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return den === 0 ? num : num / den;
}

/** float32 tolerance relative to magnitude: sums of up to ~1000 products of O(1) values. */
export const TOL = 2e-5;

/** Records the worst relative difference seen per label, for the report printed by afterAll. */
export const worst = new Map<string, number>();

export function expectClose(label: string, got: Float32Array[], ref: Float32Array[], tol = TOL): void {
  expect(got.length).toBe(ref.length);
  got.forEach((g, i) => {
    const d = relDiff(g, ref[i]);
    worst.set(label, Math.max(worst.get(label) ?? 0, d));
    expect(d, `${label} output ${i}: max|diff|/max|ref| = ${d}`).toBeLessThan(tol);
  });
}

/**
 * Runs fn on wasm and on cpu and compares every output within `tol`; infinities must match
 * exactly and are left out of the relative difference.
 */
export async function compareFinite(label: string, fn: () => tf.Tensor[], tol = 2e-6): Promise<void> {
  const got = await on('wasm', fn);
  const ref = await on('cpu', fn);
  got.forEach((g, i) => {
    for (let j = 0; j < g.length; j++) {
      if (Number.isFinite(ref[i][j])) continue;
      expect(g[j], `${label} output ${i}[${j}]`).toBe(ref[i][j]);
      g[j] = ref[i][j] = 0;
    }
  });
  expectClose(label, got, ref, tol);
}

export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function printWorst(file: string): void {
  const rows = [...worst.entries()].map(([k, v]) => `  ${k}: ${v.toExponential(2)}`);
  process.stderr.write(`\n${file} worst max|diff|/max|ref| per check:\n${rows.join('\n')}\n`);
}

/**
 * One conv family (forward, dx, dW, transposed conv and its two gradients) on wasm against cpu,
 * then the adjoint identity on wasm: <y,dy> = <x,gx> = <w,gw>, relative to Σ|y·dy|.
 * `run` returns [y, gx, gw, …] computed from `inputs` (the same data it builds its tensors from).
 */
export async function compareConvFamily(
  tag: string, labels: string[], run: () => tf.Tensor[], inputs: { x: Float32Array; w: Float32Array; dy: Float32Array },
): Promise<void> {
  const got = await on('wasm', run);
  const ref = await on('cpu', run);
  got.forEach((g, i) => expectClose(`${tag}${labels[i]}`, [g], [ref[i]]));
  const [y, gx, gw] = got;
  const scale = dot(y.map(Math.abs), inputs.dy.map(Math.abs));
  expect(Math.abs(dot(inputs.x, gx) - dot(y, inputs.dy)) / scale).toBeLessThan(1e-5);
  expect(Math.abs(dot(inputs.w, gw) - dot(y, inputs.dy)) / scale).toBeLessThan(1e-5);
}
