import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * Helpers for kernels that work on the wasm backend's heap directly.
 *
 * Pitfall: any allocation (makeOutput, or a built-in kernel that allocates) may grow the wasm
 * memory, which detaches every view taken before it. Take views with `view()` only after the
 * last allocation of a step, and take them again after the next one.
 */

export type WasmKernelArgs = { inputs: tf.NamedTensorInfoMap; backend: object; attrs?: tf.NamedAttrMap };

export function asWasm(backend: object): BackendWasm {
  return backend as BackendWasm;
}

export function input(args: WasmKernelArgs, name: string): tf.TensorInfo {
  const t = args.inputs[name];
  if (!t) throw new Error(`kernel input '${name}' is missing`);
  if (t.dtype !== 'float32') throw new Error(`kernel input '${name}' must be float32, got ${t.dtype}`);
  return t;
}

export function alloc(backend: BackendWasm, shape: number[]): tf.TensorInfo {
  return backend.makeOutput(shape, 'float32');
}

export function view(backend: BackendWasm, t: tf.TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(t) as Float32Array;
}

export function free(backend: BackendWasm, ...ts: tf.TensorInfo[]): void {
  for (const t of ts) backend.disposeData(t.dataId);
}

/** The same data under another shape (no copy; the caller still owns only the original). */
export function reshaped(t: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

/** The backend's built-in kernel function, looked up once the wasm backend is registered. */
export function builtin(name: string): tf.KernelFunc {
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new Error(`wasm kernel ${name} is not registered`);
  return k.kernelFunc;
}

let bmm: tf.KernelFunc | null = null;

/**
 * a [1,m,k] @ b [1,k,n] → new [1,m,n] through the built-in BatchMatMul, which takes XNNPACK's
 * fully-connected path only for batch 1 without transposes (a slow scalar loop otherwise). It
 * packs and caches b keyed by b's tensor id until b is disposed, so b must be a tensor whose
 * data does not change while it lives (true for every tfjs tensor and for our temporaries).
 */
export function matmul(backend: BackendWasm, a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo {
  bmm ??= builtin('BatchMatMul');
  return bmm({ inputs: { a, b }, backend, attrs: { transposeA: false, transposeB: false } }) as tf.TensorInfo;
}

/**
 * A tensor aliasing `base`'s heap memory from float `offset` on (no copy), for matmul inputs
 * that are windows into a bigger buffer. Release it with `releaseAlias`, never `free`: that
 * would hand an interior pointer to the allocator. Only for `a` operands: BatchMatMul caches
 * packed `b` operands by tensor id.
 */
export function alias(backend: BackendWasm, base: tf.TensorInfo, offset: number, shape: number[]): tf.TensorInfo {
  const entry = backend.dataIdMap.get(base.dataId);
  if (!entry) throw new Error('alias: base tensor is not on the wasm backend');
  return backend.makeOutput(shape, 'float32', entry.memoryOffset + 4 * offset);
}

export function releaseAlias(backend: BackendWasm, t: tf.TensorInfo): void {
  const entry = backend.dataIdMap.get(t.dataId);
  if (!entry) return;
  backend.wasm.tfjs.disposeData(entry.id);
  backend.dataIdMap.delete(t.dataId);
}
