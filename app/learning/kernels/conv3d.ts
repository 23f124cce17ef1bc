import * as tf from '@tensorflow/tfjs';
import type { Conv3DAttrs } from '@tensorflow/tfjs';
import { geomFrom3D } from './geometry.ts';
import { conv3dBySlices } from './conv3d_slices.ts';
import { asWasm, input, type WasmKernelArgs } from './wasm_heap.ts';

/**
 * Conv3D for wasm: the built-in is correct but a scalar loop (0.58 GFLOPS, `npm run bench -- --suite kernels`). Runs as
 * depth taps of XNNPACK 2D convolutions (conv3d_slices.ts). NDHWC.
 */
export function conv3d(args: WasmKernelArgs): tf.TensorInfo {
  const backend = asWasm(args.backend);
  const x = input(args, 'x');
  const filter = input(args, 'filter');
  const { strides, pad, dataFormat, dilations } = args.attrs as unknown as Conv3DAttrs;
  if (dataFormat === 'NCDHW') throw new Error('Osteon wasm Conv3D supports NDHWC only');
  const ci = tf.backend_util.computeConv3DInfo(x.shape as [number, number, number, number, number], filter.shape as [number, number, number, number, number], strides, dilations ?? 1, pad);
  return conv3dBySlices(backend, geomFrom3D(ci), x, filter);
}
