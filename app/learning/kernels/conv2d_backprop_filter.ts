import * as tf from '@tensorflow/tfjs';
import type { Conv2DBackpropFilterAttrs } from '@tensorflow/tfjs';
import { geomFrom2D } from './geometry.ts';
import { convBackpropFilter } from './lowered.ts';
import { asWasm, input, type WasmKernelArgs } from './wasm_heap.ts';

/**
 * Conv2DBackpropFilter for wasm, which tfjs 4.22 does not have at all (training any conv2d
 * fails there): dW = im2col(x)ᵀ · dy through XNNPACK. NHWC only.
 */
export function conv2dBackpropFilter(args: WasmKernelArgs): tf.TensorInfo {
  const backend = asWasm(args.backend);
  const x = input(args, 'x');
  const dy = input(args, 'dy');
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs as unknown as Conv2DBackpropFilterAttrs;
  if (dataFormat === 'NCHW') throw new Error('Osteon wasm Conv2DBackpropFilter supports NHWC only');
  const ci = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  return convBackpropFilter(backend, geomFrom2D(ci), x, dy, filterShape);
}
