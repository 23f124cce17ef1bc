import * as tf from '@tensorflow/tfjs';
import { geomFrom2D, geomFrom3D, type ConvGeom } from '../kernels/geometry.ts';
import { asWasm, free } from '../kernels/wasm_heap.ts';
import type { ConvTransposeBiasAttrs } from '../model/upconv.ts';
import { dnnl } from './addon.ts';
import { info2D, info3D } from './conv.ts';
import { counted } from './fused.ts';
import { BIAS, convGeometry } from './geometry.ts';
import { f32, withFallback, withViews } from './run.ts';

/**
 * The transposed convolution + bias kernels (app/learning/model/upconv.ts) on the addon's
 * deconvolution (native/dnnl/src/deconv.cc), 2D and 3D:
 * - OsteonConvTransposeBias: y = convTranspose(x, w) + b in one oneDNN call;
 * - OsteonConvTransposeBiasGrad: the filter and bias gradients in one oneDNN call.
 * What the addon cannot express runs the wasm backend's own kernels (whatever is registered for
 * Conv2DBackpropInput / Add / Conv2DBackpropFilter / Sum now: the other native kernels or wasm).
 */

const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

function kernelOf(name: string): tf.KernelFunc {
  const k = tf.getKernel(name, 'wasm') as tf.KernelConfig | undefined;
  if (!k) throw new Error(`wasm kernel ${name} is not registered`);
  return k.kernelFunc;
}

/** The geometry of the convolution (output → input) whose backward data the transposed conv is, or null. */
function geometryOf(a: ConvTransposeBiasAttrs, xShape: number[]): Int32Array | null {
  const nd = a.outShape.length === 4 ? 2 : 3;
  let g: ConvGeom, convOut: number[];
  if (nd === 2) {
    const ci = info2D(a.outShape, a.filterShape, { strides: a.strides, pad: a.pad });
    g = geomFrom2D(ci);
    convOut = ci.outShape;
  } else {
    const ci = info3D(a.outShape, a.filterShape, a.strides, a.pad);
    g = geomFrom3D(ci);
    convOut = ci.outShape;
  }
  if (convOut.length !== xShape.length || convOut.some((v, i) => v !== xShape[i])) return null;
  return convGeometry(g, nd, BIAS);
}

const forwardUnfused: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, filter, bias } = inputs as Record<string, tf.TensorInfo>;
  const a = attrs as unknown as ConvTransposeBiasAttrs;
  const conv = (a.outShape.length === 4
    ? kernelOf('Conv2DBackpropInput')({ inputs: { dy: x, filter }, backend, attrs: { inputShape: a.outShape, strides: a.strides, pad: a.pad, dataFormat: 'NHWC' } })
    : kernelOf('Conv3DBackpropInputV2')({ inputs: { dy: x, filter }, backend, attrs: { inputShape: a.outShape, strides: a.strides, pad: a.pad } })) as tf.TensorInfo;
  const out = kernelOf('Add')({ inputs: { a: conv, b: bias }, backend, attrs: {} }) as tf.TensorInfo;
  free(asWasm(backend), conv);
  return out;
};

export const convTransposeBias: tf.KernelFunc = withFallback(forwardUnfused, counted('OsteonConvTransposeBias', ({ inputs, backend, attrs }) => {
  const { x, filter, bias } = inputs;
  const a = attrs as unknown as ConvTransposeBiasAttrs;
  if (typeof dnnl().deconv !== 'function' || !(f32(x) && f32(filter) && f32(bias)) || size(bias.shape) !== a.outShape[a.outShape.length - 1]) return null;
  const geo = geometryOf(a, x.shape);
  if (!geo) return null;
  return withViews(backend, [x, filter, bias], [a.outShape], ([vx, vf, vb], [vy]) => dnnl().deconv!(0, geo, vx, vf, vy, vb))[0];
}));

const gradUnfused: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as Record<string, tf.TensorInfo>;
  const a = attrs as unknown as ConvTransposeBiasAttrs;
  const dw = (a.outShape.length === 4
    ? kernelOf('Conv2DBackpropFilter')({ inputs: { x: dy, dy: x }, backend, attrs: { strides: a.strides, pad: a.pad, dataFormat: 'NHWC', filterShape: a.filterShape } })
    : kernelOf('Conv3DBackpropFilterV2')({ inputs: { x: dy, dy: x }, backend, attrs: { strides: a.strides, pad: a.pad, filterShape: a.filterShape } })) as tf.TensorInfo;
  const db = kernelOf('Sum')({ inputs: { x: dy }, backend, attrs: { axis: [...Array(dy.shape.length - 1).keys()], keepDims: false } }) as tf.TensorInfo;
  return [dw, db];
};

export const convTransposeBiasGrad: tf.KernelFunc = withFallback(gradUnfused, counted('OsteonConvTransposeBiasGrad', ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs;
  const a = attrs as unknown as ConvTransposeBiasAttrs;
  if (typeof dnnl().deconv !== 'function' || !(f32(x) && f32(dy)) || dy.shape.some((v, i) => v !== a.outShape[i])) return null;
  const geo = geometryOf(a, x.shape);
  if (!geo) return null;
  const co = a.outShape[a.outShape.length - 1];
  return withViews(backend, [x, dy], [a.filterShape, [co]], ([vx, vdy], [vw, vb]) => dnnl().deconv!(2, geo, vx, vdy, vw, vb));
}));
