import * as tf from '@tensorflow/tfjs';
import { loadNative, type NativeStatus } from './addon.ts';
import { conv2d, conv2dBackpropFilter, conv2dBackpropInput, conv3d, conv3dBackpropFilter, conv3dBackpropInput, fusedConv2d } from './conv.ts';
import { CONV_BIAS, RELU_BIAS_GRAD } from '../model/fused.ts';
import { convBias, maxPool, maxPool3d, maxPoolSkip, maxPoolSkipGrad, reluBiasGrad, softmax } from './fused.ts';
import { setFusedLoss } from '../fusion.ts';
import { nativeFusedHeadLoss } from './loss-adam.ts';
import { servedLog } from './run.ts';
import { CONV_T_BIAS, CONV_T_BIAS_GRAD } from '../model/upconv.ts';
import { POOL_SKIP, POOL_SKIP_GRAD } from '../model/poolskip.ts';
import { convTransposeBias, convTransposeBiasGrad } from './deconv.ts';
import { binary, concat, identity, maxPool3dGrad, maxPoolGrad, slice, splitV, sum } from './memops.ts';
import { setSimdFusedKernels } from '../kernels/simd/fused.ts';

/**
 * Registers the oneDNN kernels on the wasm backend over whatever is registered there now
 * (Osteon's pure-wasm kernels from ../kernels, else tfjs's built-ins), which each native kernel
 * keeps as its fallback. Call after the wasm backend is set and registerCustomKernels('wasm').
 * `unregisterNativeKernels` restores the previous kernels (tests compare both paths in one process).
 */

const factories: Array<[string, (fallback: tf.KernelFunc) => tf.KernelFunc]> = [
  ['Conv2D', conv2d],
  ['FusedConv2D', fusedConv2d],
  ['Conv2DBackpropInput', conv2dBackpropInput],
  ['Conv2DBackpropFilter', conv2dBackpropFilter],
  ['Conv3D', conv3d],
  ['Conv3DBackpropInputV2', conv3dBackpropInput],
  ['Conv3DBackpropFilterV2', conv3dBackpropFilter],
  ['MaxPoolGrad', maxPoolGrad],
  ['MaxPool3DGrad', maxPool3dGrad],
  ['Concat', concat],
  ['SplitV', splitV],
  ['Sum', sum],
  ['Slice', slice],
  ['Identity', identity],
  ['Add', binary(0)],
  ['Multiply', binary(1)],
  // fused network kernels (fused.ts)
  ['MaxPool', maxPool],
  ['MaxPool3D', maxPool3d],
  ['Softmax', softmax],
];

/** Kernels with no tfjs counterpart (app/learning/model/fused.ts composes tfjs ops where these are absent). */
const added: Array<[string, tf.KernelFunc]> = [
  [CONV_BIAS, convBias],
  [RELU_BIAS_GRAD, reluBiasGrad],
  [CONV_T_BIAS, convTransposeBias],
  [CONV_T_BIAS_GRAD, convTransposeBiasGrad],
  [POOL_SKIP, maxPoolSkip],
  [POOL_SKIP_GRAD, maxPoolSkipGrad],
];
let addedActive = false;

/**
 * Registers (or, with false, removes) the fused network kernels alone, leaving the other native
 * kernels as they are: tests and the bench compare the fused and unfused steps with it.
 */
export function setFusedKernels(on: boolean): void {
  if (on === addedActive) return;
  for (const [name, fn] of added) {
    if (on) tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: (args) => { servedLog.current = name; return fn(args); } });
    else tf.unregisterKernel(name, 'wasm');
  }
  addedActive = on;
}

const previous = new Map<string, tf.KernelFunc>();
let simdFusedBefore = false;

/** Kernel names as reported in BackendReport.kernels. */
export const nativeKernelNames = [...factories, ...added].map(([k]) => `wasm+dnnl:${k}`);

/** Registers the native kernels when the addon loads; returns their names, or [] and the reason. */
export function registerNativeKernels(threads?: number): { kernels: string[]; status: NativeStatus } {
  const status = loadNative(threads);
  if (!status.addon) return { kernels: [], status };
  if (previous.size > 0) return { kernels: nativeKernelNames, status };
  // The pure-wasm rung's fused kernels give way to the addon's (put back by unregisterNativeKernels).
  simdFusedBefore = setSimdFusedKernels(false);
  for (const [name, make] of factories) {
    const old = tf.getKernel(name, 'wasm') as tf.KernelConfig | undefined;
    if (!old) continue;
    previous.set(name, old.kernelFunc);
    tf.unregisterKernel(name, 'wasm');
    const fn = make(old.kernelFunc);
    // The profiler (../profile.ts) attributes each served or handed-on call to this kernel name.
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: (args) => { servedLog.current = name; return fn(args); } });
  }
  if (process.env.OSTEON_FUSE !== '0') setFusedKernels(true);
  // The fused loss applies itself only while these kernels are registered on wasm.
  setFusedLoss(nativeFusedHeadLoss);
  return { kernels: [...previous.keys(), ...(addedActive ? added.map(([k]) => k) : [])].map((k) => `wasm+dnnl:${k}`), status };
}

/** Puts back the kernels the native ones replaced. */
export function unregisterNativeKernels(): void {
  for (const [name, fn] of previous) {
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: fn });
  }
  previous.clear();
  setFusedKernels(false);
  setSimdFusedKernels(simdFusedBefore);
  simdFusedBefore = false;
}

export function nativeKernelsActive(): boolean {
  return previous.size > 0;
}
