import type * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { alloc, asWasm, free, view } from '../kernels/wasm_heap.ts';

/**
 * Shared plumbing of the native kernels: every kernel either handles a call with the addon or
 * hands it, unchanged, to the kernel it replaced (Osteon's pure-wasm one or tfjs's built-in), so
 * unsupported cases (NCHW, other dtypes, other activations) and addon errors keep working.
 */

const counts = { native: 0, fallback: 0, errors: 0 };
let lastError: string | null = null;

/** Calls served natively, handed to the replaced kernel, and addon errors (then also handed on). */
export function nativeCounts(): { native: number; fallback: number; errors: number; lastError: string | null } {
  return { ...counts, lastError };
}

/**
 * While a profile runs (app/learning/profile.ts), each call's kernel name and whether the addon
 * served it (false: handed to the kernel it replaced), in call order.
 */
export const servedLog: { on: boolean; current: string; list: Array<[string, boolean]> } = { on: false, current: '', list: [] };

/** A kernel that returns null for "not mine" runs its fallback instead; addon errors too. */
export function withFallback(fallback: tf.KernelFunc, body: (args: Parameters<tf.KernelFunc>[0]) => tf.TensorInfo | tf.TensorInfo[] | null): tf.KernelFunc {
  return (args) => {
    let out: tf.TensorInfo | tf.TensorInfo[] | null;
    try {
      out = body(args);
    } catch (e) {
      counts.errors++;
      lastError = e instanceof Error ? e.message : String(e);
      out = null;
    }
    if (out === null) {
      counts.fallback++;
      if (servedLog.on) servedLog.list.push([servedLog.current, false]);
      return fallback(args);
    }
    counts.native++;
    if (servedLog.on) servedLog.list.push([servedLog.current, true]);
    return out;
  };
}

/** True when the input is present and float32. */
export function f32(t: tf.TensorInfo | undefined): t is tf.TensorInfo {
  return t !== undefined && t.dtype === 'float32';
}

/**
 * Allocates the outputs, then (after the last allocation, which may grow and detach the wasm
 * heap) hands views of inputs and outputs to `call`. Frees the outputs if `call` throws.
 */
export function withViews(backend: object, inputs: tf.TensorInfo[], outShapes: number[][], call: (ins: Float32Array[], outs: Float32Array[]) => void): tf.TensorInfo[] {
  const b: BackendWasm = asWasm(backend);
  const outs = outShapes.map((s) => alloc(b, s));
  try {
    call(inputs.map((t) => view(b, t)), outs.map((t) => view(b, t)));
  } catch (e) {
    free(b, ...outs);
    throw e;
  }
  return outs;
}
