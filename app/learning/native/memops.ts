import * as tf from '@tensorflow/tfjs';
import type { ConcatAttrs, MaxPool3DGradAttrs, MaxPoolGradAttrs, SliceAttrs, SplitVAttrs, SumAttrs } from '@tensorflow/tfjs';
import { asWasm } from '../kernels/wasm_heap.ts';
import { dnnl } from './addon.ts';
import { poolGeometry } from './geometry.ts';
import { f32, withFallback, withViews } from './run.ts';

/**
 * The memory-bound kernels that dominate a U-Net step once its convolutions run on oneDNN
 * (profile in native/dnnl/README.md): the max-pool gradients, concat along an axis and its
 * gradient SplitV, Sum over leading axes (every bias gradient), and Slice (the wasm built-in
 * runs rank 5 through a generic element-by-element loop: 0.8 s of a 1.2 s 3D U-Net step, in the
 * joint loss's channel slices). Multi-threaded C++ in the addon; anything else goes to the kernel
 * they replace. Plus a zero-copy Identity, and Add / Multiply of large same-shape or
 * bias-broadcast (channel vector) operands on both threads (the bias adds and ReLU gradients of
 * every conv in training, where tfjs does not fuse them).
 */

const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

export function maxPoolGrad(fallback: tf.KernelFunc): tf.KernelFunc {
  return withFallback(fallback, ({ inputs, backend, attrs }) => {
    const { dy, input } = inputs;
    if (!(f32(dy) && f32(input)) || input.shape.length !== 4) return null;
    const at = attrs as unknown as MaxPoolGradAttrs;
    const p = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], at.filterSize, at.strides, 1, at.pad, at.dimRoundingMode);
    const geo = poolGeometry({
      n: p.batchSize, d: 1, h: p.inHeight, w: p.inWidth, c: p.inChannels, od: 1, oh: p.outHeight, ow: p.outWidth,
      kd: 1, kh: p.filterHeight, kw: p.filterWidth, sd: 1, sh: p.strideHeight, sw: p.strideWidth, pf: 0, pt: p.padInfo.top, pl: p.padInfo.left,
    });
    if (p.dilationHeight !== 1 || p.dilationWidth !== 1 || size(dy.shape) !== p.batchSize * p.outHeight * p.outWidth * p.inChannels) return null;
    return withViews(backend, [input, dy], [input.shape], ([x, g], [dx]) => dnnl().maxPoolGradV(geo, x, g, dx, false))[0];
  });
}

export function maxPool3dGrad(fallback: tf.KernelFunc): tf.KernelFunc {
  return withFallback(fallback, ({ inputs, backend, attrs }) => {
    const { dy, input } = inputs;
    if (!(f32(dy) && f32(input)) || input.shape.length !== 5) return null;
    const at = attrs as unknown as MaxPool3DGradAttrs;
    const p = tf.backend_util.computePool3DInfo(input.shape as [number, number, number, number, number], at.filterSize, at.strides, 1, at.pad, at.dimRoundingMode);
    const geo = poolGeometry({
      n: p.batchSize, d: p.inDepth, h: p.inHeight, w: p.inWidth, c: p.inChannels, od: p.outDepth, oh: p.outHeight, ow: p.outWidth,
      kd: p.filterDepth, kh: p.filterHeight, kw: p.filterWidth, sd: p.strideDepth, sh: p.strideHeight, sw: p.strideWidth,
      pf: p.padInfo.front, pt: p.padInfo.top, pl: p.padInfo.left,
    });
    if (size(dy.shape) !== p.batchSize * p.outDepth * p.outHeight * p.outWidth * p.inChannels) return null;
    return withViews(backend, [input, dy], [input.shape], ([x, g], [dx]) => dnnl().maxPoolGradV(geo, x, g, dx, true))[0];
  });
}

/** Concat of float32 tensors along any axis: each input is `outer` rows of shape[axis]·inner. */
export function concat(fallback: tf.KernelFunc): tf.KernelFunc {
  return withFallback(fallback, ({ inputs, backend, attrs }) => {
    const list = Object.values(inputs) as tf.TensorInfo[];
    if (list.length < 2 || !list.every(f32) || list.some((t) => size(t.shape) === 0)) return null;
    const axis = tf.util.parseAxisParam((attrs as unknown as ConcatAttrs).axis, list[0].shape)[0];
    tf.backend_util.assertParamsConsistent(list.map((t) => t.shape), axis);
    const outShape = tf.backend_util.computeOutShape(list.map((t) => t.shape), axis);
    const outer = size(outShape.slice(0, axis));
    const widths = list.map((t) => size(t.shape.slice(axis)));
    return withViews(backend, list, [outShape], (ins, [out]) => dnnl().concatRows(outer, ins, widths, out))[0];
  });
}

export function splitV(fallback: tf.KernelFunc): tf.KernelFunc {
  return withFallback(fallback, ({ inputs, backend, attrs }) => {
    const { x } = inputs;
    if (!f32(x) || size(x.shape) === 0) return null;
    const { numOrSizeSplits, axis } = attrs as unknown as SplitVAttrs;
    const ax = tf.util.parseAxisParam(axis, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, numOrSizeSplits, ax);
    const outer = size(x.shape.slice(0, ax));
    const inner = size(x.shape.slice(ax + 1));
    const shapes = sizes.map((s) => x.shape.map((d, i) => (i === ax ? s : d)));
    return withViews(backend, [x], shapes, ([src], outs) => dnnl().splitRows(outer, src, sizes.map((s) => s * inner), outs));
  });
}

/** Sum over the leading axes [0, k) (every bias gradient of a channels-last conv); other reductions fall back. */
export function sum(fallback: tf.KernelFunc): tf.KernelFunc {
  return withFallback(fallback, ({ inputs, backend, attrs }) => {
    const { x } = inputs;
    if (!f32(x) || x.shape.length < 2) return null;
    const { axis, keepDims } = attrs as unknown as SumAttrs;
    const axes = [...tf.util.parseAxisParam(axis, x.shape)].sort((a, b) => a - b);
    const k = axes.length;
    if (k === 0 || k >= x.shape.length || axes.some((a, i) => a !== i)) return null;
    const rest = x.shape.slice(k);
    const outShape = keepDims ? [...Array<number>(k).fill(1), ...rest] : rest;
    const rows = size(x.shape.slice(0, k));
    if (rows === 0) return null;
    return withViews(backend, [x], [outShape], ([src], [out]) => dnnl().sumRows(rows, size(rest), src, out))[0];
  });
}

export function slice(fallback: tf.KernelFunc): tf.KernelFunc {
  return withFallback(fallback, ({ inputs, backend, attrs }) => {
    const { x } = inputs;
    if (!f32(x) || x.shape.length === 0) return null;
    const at = attrs as unknown as SliceAttrs;
    const [begin, sizes] = tf.slice_util.parseSliceParams(x, at.begin, at.size);
    tf.slice_util.assertParamsValid(x, begin, sizes);
    if (size(sizes) === 0) return null;
    return withViews(backend, [x], [sizes], ([src], [dst]) => dnnl().slice(x.shape, begin, sizes, src, dst))[0];
  });
}

/**
 * Identity without a copy: the output shares the input's data (reference-counted), as tfjs's
 * cpu backend does. The wasm built-in copies, and tfjs calls Identity on every tensor it saves
 * for the backward pass (engine.saveTensorsForBackwardMode clones them): 10–20 ms a U-Net step.
 */
export function identity(fallback: tf.KernelFunc): tf.KernelFunc {
  return withFallback(fallback, ({ inputs, backend }) => {
    const { x } = inputs;
    if (!x || x.dtype === 'string') return null;
    asWasm(backend).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  });
}

/** Below this many output elements the built-in (single-threaded XNNPACK) is as fast. */
const BINARY_MIN = 1 << 15;

/** b is a channel vector for a: [C] or [1,…,1,C] with C = a's last dimension, rank ≤ a's. */
function channelVector(a: readonly number[], b: readonly number[]): boolean {
  const c = a[a.length - 1];
  return b.length <= a.length && b[b.length - 1] === c && size(b) === c;
}

export function binary(op: 0 | 1): (fallback: tf.KernelFunc) => tf.KernelFunc {
  return (fallback) => withFallback(fallback, ({ inputs, backend }) => {
    let { a, b } = inputs;
    if (!(f32(a) && f32(b)) || a.shape.length === 0) return null;
    if (size(b.shape) > size(a.shape)) [a, b] = [b, a];
    const n = size(a.shape);
    if (n < BINARY_MIN) return null;
    const same = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
    if (!same && !channelVector(a.shape, b.shape)) return null;
    const cols = same ? n : size(b.shape);
    const [x, y] = [a, b];
    return withViews(backend, [x, y], [x.shape], ([va, vb], [out]) => dnnl().binaryRows(op, n / cols, cols, va, vb, out))[0];
  });
}
