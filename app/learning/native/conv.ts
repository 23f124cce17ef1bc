import * as tf from '@tensorflow/tfjs';
import type { Conv2DAttrs, Conv2DBackpropFilterAttrs, Conv2DBackpropInputAttrs, Conv3DAttrs, Conv3DBackpropFilterV2Attrs, Conv3DBackpropInputV2Attrs, FusedConv2DAttrs } from '@tensorflow/tfjs';
import { geomFrom2D, geomFrom3D, type ConvGeom } from '../kernels/geometry.ts';
import { dnnl } from './addon.ts';
import { BIAS, RELU, convGeometry } from './geometry.ts';
import { f32, withFallback, withViews } from './run.ts';

/**
 * Convolution kernels on oneDNN for the wasm backend, channels-last (NHWC / NDHWC, filters
 * HWIO / DHWIO), each wrapping the kernel it replaces for what it does not handle. Forward,
 * backward-data (also conv2dTranspose / conv3dTranspose forward) and backward-filter; the
 * forward takes FusedConv2D's bias and ReLU as oneDNN post-ops.
 */

type Op = 0 | 1 | 2;

export function run(backend: object, op: Op, g: ConvGeom, nd: 2 | 3, a: tf.TensorInfo, b: tf.TensorInfo, outShape: number[], bias: tf.TensorInfo | null, flags: number): tf.TensorInfo | null {
  const geo = convGeometry(g, nd, flags);
  if (!geo) return null;
  const ins = bias ? [a, b, bias] : [a, b];
  const [out] = withViews(backend, ins, [outShape], ([va, vb, vbias], [vout]) => dnnl().conv(op, geo, va, vb, vout, vbias ?? null));
  return out;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export function info2D(xShape: number[], fShape: number[], a: { strides: [number, number] | number; pad: Conv2DAttrs['pad']; dimRoundingMode?: 'floor' | 'round' | 'ceil' }, dilations: [number, number] | number = 1): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], fShape as [number, number, number, number], a.strides, dilations, a.pad, a.dimRoundingMode, false, 'channelsLast');
}

export function conv2d(fallback: tf.KernelFunc): tf.KernelFunc {
  return withFallback(fallback, ({ inputs, backend, attrs }) => {
    const { x, filter } = inputs;
    const at = attrs as unknown as Conv2DAttrs;
    if (at.dataFormat === 'NCHW' || !(f32(x) && f32(filter))) return null;
    const ci = info2D(x.shape, filter.shape, at, at.dilations);
    return run(backend, 0, geomFrom2D(ci), 2, x, filter, ci.outShape, null, 0);
  });
}

/** A bias the post-op can take: CO values, shaped [CO] or [1,…,1,CO]. */
function channelBias(bias: tf.TensorInfo | undefined, co: number): boolean {
  return bias === undefined || (bias.shape[bias.shape.length - 1] === co && tf.util.sizeFromShape(bias.shape) === co);
}

export function fusedConv2d(fallback: tf.KernelFunc): tf.KernelFunc {
  return withFallback(fallback, ({ inputs, backend, attrs }) => {
    const { x, filter, bias, preluActivationWeights } = inputs;
    const at = attrs as unknown as FusedConv2DAttrs;
    if (at.dataFormat === 'NCHW' || preluActivationWeights || !(f32(x) && f32(filter)) || (bias && bias.dtype !== 'float32')) return null;
    if (at.activation !== 'linear' && at.activation !== 'relu') return null;
    const ci = info2D(x.shape, filter.shape, at, at.dilations);
    if (!channelBias(bias, ci.outChannels)) return null;
    const flags = (bias ? BIAS : 0) | (at.activation === 'relu' ? RELU : 0);
    return run(backend, 0, geomFrom2D(ci), 2, x, filter, ci.outShape, bias ?? null, flags);
  });
}

export function conv2dBackpropInput(fallback: tf.KernelFunc): tf.KernelFunc {
  return withFallback(fallback, ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs;
    const at = attrs as unknown as Conv2DBackpropInputAttrs;
    if (at.dataFormat === 'NCHW' || !(f32(dy) && f32(filter))) return null;
    const ci = info2D(at.inputShape, filter.shape, at);
    if (!sameShape(ci.outShape, dy.shape)) return null;
    return run(backend, 1, geomFrom2D(ci), 2, dy, filter, [...at.inputShape], null, 0);
  });
}

export function conv2dBackpropFilter(fallback: tf.KernelFunc): tf.KernelFunc {
  return withFallback(fallback, ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs;
    const at = attrs as unknown as Conv2DBackpropFilterAttrs;
    if (at.dataFormat === 'NCHW' || !(f32(x) && f32(dy))) return null;
    const ci = info2D(x.shape, at.filterShape, at);
    if (!sameShape(ci.outShape, dy.shape)) return null;
    return run(backend, 2, geomFrom2D(ci), 2, x, dy, [...at.filterShape], null, 0);
  });
}

type Shape5 = [number, number, number, number, number];

export function info3D(xShape: number[], fShape: number[], strides: Conv3DAttrs['strides'], pad: Conv3DAttrs['pad'], dilations: Conv3DAttrs['dilations'] = 1): tf.backend_util.Conv3DInfo {
  return tf.backend_util.computeConv3DInfo(xShape as Shape5, fShape as Shape5, strides, dilations, pad);
}

export function conv3d(fallback: tf.KernelFunc): tf.KernelFunc {
  return withFallback(fallback, ({ inputs, backend, attrs }) => {
    const { x, filter } = inputs;
    const at = attrs as unknown as Conv3DAttrs;
    if (at.dataFormat === 'NCDHW' || !(f32(x) && f32(filter))) return null;
    const ci = info3D(x.shape, filter.shape, at.strides, at.pad, at.dilations);
    return run(backend, 0, geomFrom3D(ci), 3, x, filter, ci.outShape, null, 0);
  });
}

export function conv3dBackpropInput(fallback: tf.KernelFunc): tf.KernelFunc {
  return withFallback(fallback, ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs;
    const at = attrs as unknown as Conv3DBackpropInputV2Attrs;
    if (!(f32(dy) && f32(filter))) return null;
    const ci = info3D(at.inputShape, filter.shape, at.strides, at.pad);
    if (!sameShape(ci.outShape, dy.shape)) return null;
    return run(backend, 1, geomFrom3D(ci), 3, dy, filter, [...at.inputShape], null, 0);
  });
}

export function conv3dBackpropFilter(fallback: tf.KernelFunc): tf.KernelFunc {
  return withFallback(fallback, ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs;
    const at = attrs as unknown as Conv3DBackpropFilterV2Attrs;
    if (!(f32(x) && f32(dy))) return null;
    const ci = info3D(x.shape, at.filterShape, at.strides, at.pad);
    if (!sameShape(ci.outShape, dy.shape)) return null;
    return run(backend, 2, geomFrom3D(ci), 3, x, dy, [...at.filterShape], null, 0);
  });
}
