import * as tf from '@tensorflow/tfjs';
import type { Conv2DBackpropInputAttrs } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { geomFrom2D } from './geometry.ts';
import { convBackpropInput } from './lowered.ts';
import { alloc, asWasm, builtin, free, input, view, type WasmKernelArgs } from './wasm_heap.ts';

/**
 * Conv2DBackpropInput for wasm (also the forward pass of conv2dTranspose). The built-in is a
 * scalar loop at ~2.5 GFLOPS (`npm run bench -- --suite kernels`). Stride 1: dx is the XNNPACK conv of dy with the filter
 * rotated 180° and its channel axes swapped, padded by K-1-pad. Stride > 1: col2im(dy · Wᵀ).
 * NCHW goes to the built-in kernel.
 */
export function makeConv2dBackpropInput(fallback: tf.KernelFunc | null): tf.KernelFunc {
  return (args) => {
    const { dataFormat } = args.attrs as unknown as Conv2DBackpropInputAttrs;
    if (dataFormat === 'NCHW') {
      if (!fallback) throw new Error('Osteon wasm Conv2DBackpropInput supports NHWC only');
      return fallback(args);
    }
    return conv2dBackpropInput(args);
  };
}

function conv2dBackpropInput(args: WasmKernelArgs): tf.TensorInfo {
  const backend = asWasm(args.backend);
  const dy = input(args, 'dy');
  const filter = input(args, 'filter');
  const { strides, pad, dimRoundingMode, inputShape } = args.attrs as unknown as Conv2DBackpropInputAttrs;
  const fShape = filter.shape as [number, number, number, number];
  const ci = tf.backend_util.computeConv2DInfo(inputShape, fShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  const { top, bottom, left, right } = ci.padInfo;
  const [KH, KW] = fShape;
  const flippedFits = top < KH && bottom < KH && left < KW && right < KW && top >= 0 && left >= 0 && bottom >= 0 && right >= 0;
  if (ci.strideHeight === 1 && ci.strideWidth === 1 && flippedFits) {
    return viaFlippedConv(backend, dy, filter, fShape, [[0, 0], [KH - 1 - top, KH - 1 - bottom], [KW - 1 - left, KW - 1 - right], [0, 0]]);
  }
  return convBackpropInput(backend, geomFrom2D(ci), dy, filter, inputShape);
}

function viaFlippedConv(backend: BackendWasm, dy: tf.TensorInfo, filter: tf.TensorInfo, fShape: [number, number, number, number], pad: [[number, number], [number, number], [number, number], [number, number]]): tf.TensorInfo {
  const [KH, KW, CI, CO] = fShape;
  const flipped = alloc(backend, [KH, KW, CO, CI]);
  const src = view(backend, filter);
  const dst = view(backend, flipped);
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      const s = ((KH - 1 - kh) * KW + (KW - 1 - kw)) * CI * CO;
      const d = (kh * KW + kw) * CO * CI;
      for (let i = 0; i < CI; i++) for (let o = 0; o < CO; o++) dst[d + o * CI + i] = src[s + i * CO + o];
    }
  }
  const dx = builtin('Conv2D')({
    inputs: { x: dy, filter: flipped },
    backend,
    attrs: { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [1, 1] },
  }) as tf.TensorInfo;
  free(backend, flipped);
  return dx;
}
