import * as tf from '@tensorflow/tfjs';
import { conv2dBackpropFilter } from './conv2d_backprop_filter.ts';
import { makeConv2dBackpropInput } from './conv2d_backprop_input.ts';
import { conv3d } from './conv3d.ts';
import { conv3dBackpropFilter } from './conv3d_backprop_filter.ts';
import { conv3dBackpropInput } from './conv3d_backprop_input.ts';
import { splitVLastAxis } from './split_v.ts';
import { loadSimd, simdKernels } from './simd/simd.ts';
import { setSimdFusedKernels, simdFusedKernelNames } from './simd/fused.ts';
import { registerWinogradKernels } from './simd/winograd.ts';
import { SPLIT_KERNELS, splitKernel } from './parallel/pool.ts';
import { asWasm } from './wasm_heap.ts';
import { registerMissingGradients } from '../webgpu/workarounds.ts';

const registered = new Map<string, string[]>();
const replaced = new Map<string, tf.KernelFunc>();

/** Replaces (or adds) a wasm kernel; returns the built-in it replaced, if any. */
function replaceWasmKernel(kernelName: string, kernelFunc: tf.KernelFunc): tf.KernelFunc | null {
  const old = tf.getKernel(kernelName, 'wasm') as tf.KernelConfig | undefined;
  if (old) {
    tf.unregisterKernel(kernelName, 'wasm');
    replaced.set(kernelName, old.kernelFunc);
  }
  tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  return old ? old.kernelFunc : null;
}

/** The wasm backend's own kernel that Osteon replaced (for benchmarks), or null. */
export function builtinWasmKernel(kernelName: string): tf.KernelFunc | null {
  return replaced.get(kernelName) ?? null;
}

function registerWasmKernels(): string[] {
  replaceWasmKernel('Conv2DBackpropFilter', conv2dBackpropFilter);
  // The wrapper needs the built-in for NCHW, so look it up before replacing it.
  const builtinBpi: tf.KernelFunc | null = (tf.getKernel('Conv2DBackpropInput', 'wasm') as tf.KernelConfig | undefined)?.kernelFunc ?? null;
  replaceWasmKernel('Conv2DBackpropInput', makeConv2dBackpropInput(builtinBpi));
  replaceWasmKernel('Conv3D', conv3d);
  replaceWasmKernel('Conv3DBackpropFilterV2', conv3dBackpropFilter);
  replaceWasmKernel('Conv3DBackpropInputV2', conv3dBackpropInput);
  const builtinSplit: tf.KernelFunc | null = (tf.getKernel('SplitV', 'wasm') as tf.KernelConfig | undefined)?.kernelFunc ?? null;
  if (builtinSplit) replaceWasmKernel('SplitV', splitVLastAxis(builtinSplit));
  const names = ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'Conv3D', 'Conv3DBackpropFilterV2', 'Conv3DBackpropInputV2', ...(builtinSplit ? ['SplitV'] : [])].map((k) => `wasm:${k}`);
  return [...names, ...registerSimdKernels(), ...registerWinogradKernels(replaced), ...registerSplitKernels()];
}

/**
 * The convolutions split by batch over the wasm helper threads (parallel/pool.ts), over whatever
 * is registered now; each runs as before while no helpers are started. Names 'wasm-threads:Conv2D'.
 */
function registerSplitKernels(): string[] {
  const names: string[] = [];
  for (const kernelName of Object.keys(SPLIT_KERNELS)) {
    const old = tf.getKernel(kernelName, 'wasm') as tf.KernelConfig | undefined;
    if (!old) continue;
    tf.unregisterKernel(kernelName, 'wasm');
    if (!replaced.has(kernelName)) replaced.set(kernelName, old.kernelFunc);
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: splitKernel(kernelName, old.kernelFunc) });
    names.push(`wasm-threads:${kernelName}`);
  }
  return names;
}

let simdStatus: string | null = null;

/** Why Osteon's SIMD wasm kernels are not in use (null: they are, or the backend is not wasm). */
export function simdUnavailable(): string | null {
  return simdStatus;
}

/**
 * Osteon's SIMD wasm kernels (simd/simd.ts) over whatever is registered now (a built-in, or an
 * Osteon kernel above), each falling back to it outside the cases it handles. Names 'wasm-simd:Sum'.
 */
function registerSimdKernels(): string[] {
  const backend = tf.findBackend('wasm');
  simdStatus = backend ? loadSimd(asWasm(backend)) : 'the wasm backend is not registered';
  if (simdStatus) return [];
  const names: string[] = [];
  for (const [kernelName, wrap] of simdKernels) {
    const old = tf.getKernel(kernelName, 'wasm') as tf.KernelConfig | undefined;
    if (!old) continue;
    tf.unregisterKernel(kernelName, 'wasm');
    if (!replaced.has(kernelName)) replaced.set(kernelName, old.kernelFunc);
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: wrap(old.kernelFunc) });
    names.push(`wasm-simd:${kernelName}`);
  }
  // The fused training ops (conv + bias + ReLU, its gradient, pool + skip); OSTEON_FUSE=0: tfjs's ops.
  if (process.env.OSTEON_FUSE === '0' || process.env.OSTEON_FUSED === '0') return names;
  setSimdFusedKernels(true);
  return [...names, ...simdFusedKernelNames];
}

/**
 * Registers Osteon's own kernels for the active backend and returns their names, e.g.
 * 'wasm:Conv2DBackpropFilter' or 'gradient:Conv3DBackpropInputV2'. Call after the backend is
 * set. The conv3dTranspose and rank-5 batchNorm gradients go on every backend (tfjs-core lacks
 * or breaks them; webgpu/workarounds.ts); the wasm
 * kernels only on wasm. Idempotent per backend.
 */
export function registerCustomKernels(backendName: string): string[] {
  const done = registered.get(backendName);
  if (done) return done;
  const names = [...registerMissingGradients()];
  if (backendName === 'wasm') names.push(...registerWasmKernels());
  registered.set(backendName, names);
  return names;
}
