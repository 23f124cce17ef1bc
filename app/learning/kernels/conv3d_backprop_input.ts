import * as tf from '@tensorflow/tfjs';
import type { Conv3DBackpropInputV2Attrs } from '@tensorflow/tfjs';
import { conv3dBySlices, flipFilter3D } from './conv3d_slices.ts';
import { flippedGeom, geomFrom3D } from './geometry.ts';
import { convBackpropInput } from './lowered.ts';
import { asWasm, free, input, type WasmKernelArgs } from './wasm_heap.ts';

/**
 * Conv3DBackpropInputV2 for wasm (also conv3dTranspose's forward pass): the built-in returns
 * wrong values in every case (test/unit/kernels3d.test.ts). Stride 1: the forward conv of dy with the flipped
 * filter, on XNNPACK (conv3d_slices.ts); otherwise dx = col2im(dy · Wᵀ).
 */
export function conv3dBackpropInput(args: WasmKernelArgs): tf.TensorInfo {
  const backend = asWasm(args.backend);
  const dy = input(args, 'dy');
  const filter = input(args, 'filter');
  const { strides, pad, inputShape } = args.attrs as unknown as Conv3DBackpropInputV2Attrs;
  const ci = tf.backend_util.computeConv3DInfo(inputShape, filter.shape as [number, number, number, number, number], strides, 1, pad);
  const g = geomFrom3D(ci);
  const flipped = flippedGeom(g);
  if (!flipped) return convBackpropInput(backend, g, dy, filter, inputShape);
  const f = flipFilter3D(backend, filter);
  const dx = conv3dBySlices(backend, flipped, dy, f);
  free(backend, f);
  return dx;
}
