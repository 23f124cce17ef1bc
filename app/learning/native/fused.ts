import * as tf from '@tensorflow/tfjs';
import type { MaxPool3DAttrs, MaxPoolAttrs, SoftmaxAttrs } from '@tensorflow/tfjs';
import { geomFrom2D, geomFrom3D } from '../kernels/geometry.ts';
import { asWasm, free } from '../kernels/wasm_heap.ts';
import type { ConvBiasAttrs } from '../model/fused.ts';
import { dnnl } from './addon.ts';
import { info2D, info3D, run } from './conv.ts';
import { BIAS, RELU, poolGeometry, type PoolShape } from './geometry.ts';
import { f32, withFallback, withViews } from './run.ts';

/**
 * The fused network kernels (native/dnnl/src/fused.cc, pool.cc) on the wasm backend:
 * - OsteonConvBias (app/learning/model/fused.ts): one oneDNN convolution with the bias and (for
 *   activation 'relu') ReLU post-ops, 2D and 3D; what oneDNN cannot express runs the wasm conv,
 *   Add and Relu kernels.
 * - OsteonReluBiasGrad: dy·[y>0] and its per-channel sum in one multi-threaded pass.
 * - MaxPool, MaxPool3D forward on oneDNN's pooling primitive (the wasm built-ins are
 *   single-threaded; MaxPool3D was 23% of 3D inference).
 * - Softmax over the last axis, multi-threaded.
 */

const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

const served = new Map<string, number>();

/** Calls each fused kernel served natively (tests check that nothing fell back silently). */
export function fusedCounts(): Record<string, number> {
  return Object.fromEntries(served);
}

type Body = (args: Parameters<tf.KernelFunc>[0]) => tf.TensorInfo | tf.TensorInfo[] | null;

export function counted(name: string, body: Body): Body {
  return (args) => {
    const out = body(args);
    if (out !== null) served.set(name, (served.get(name) ?? 0) + 1);
    return out;
  };
}

function kernelOf(name: string): tf.KernelFunc {
  const k = tf.getKernel(name, 'wasm') as tf.KernelConfig | undefined;
  if (!k) throw new Error(`wasm kernel ${name} is not registered`);
  return k.kernelFunc;
}

/** [relu](conv + bias) from the wasm backend's own kernels (whatever is registered for them now). */
const convBiasUnfused: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, filter, bias } = inputs as Record<string, tf.TensorInfo>;
  const { strides, pad, activation } = attrs as unknown as ConvBiasAttrs;
  if (x.shape.length === 4) {
    return kernelOf('FusedConv2D')({ inputs: { x, filter, bias }, backend, attrs: { strides, pad, dataFormat: 'NHWC', dilations: 1, activation } });
  }
  const conv = kernelOf('Conv3D')({ inputs: { x, filter }, backend, attrs: { strides, pad, dataFormat: 'NDHWC', dilations: 1 } }) as tf.TensorInfo;
  const added = kernelOf('Add')({ inputs: { a: conv, b: bias }, backend, attrs: {} }) as tf.TensorInfo;
  free(asWasm(backend), conv);
  if (activation === 'linear') return added;
  const out = kernelOf('Relu')({ inputs: { x: added }, backend, attrs: {} }) as tf.TensorInfo;
  free(asWasm(backend), added);
  return out;
};

export const convBias: tf.KernelFunc = withFallback(convBiasUnfused, counted('OsteonConvBias', ({ inputs, backend, attrs }) => {
  const { x, filter, bias } = inputs;
  const { strides, pad, activation } = attrs as unknown as ConvBiasAttrs;
  if (!(f32(x) && f32(filter) && f32(bias)) || size(bias.shape) !== filter.shape[filter.shape.length - 1]) return null;
  const flags = BIAS | (activation === 'relu' ? RELU : 0);
  if (x.shape.length === 4) {
    const ci = info2D(x.shape, filter.shape, { strides, pad });
    return run(backend, 0, geomFrom2D(ci), 2, x, filter, ci.outShape, bias, flags);
  }
  if (x.shape.length !== 5) return null;
  const ci = info3D(x.shape, filter.shape, strides, pad);
  return run(backend, 0, geomFrom3D(ci), 3, x, filter, ci.outShape, bias, flags);
}));

/** Plain loops on the heap views: only when the addon throws (it checks sizes). */
const reluBiasGradJs: tf.KernelFunc = ({ inputs, backend }) => {
  const { dy, y } = inputs as Record<string, tf.TensorInfo>;
  const cols = dy.shape[dy.shape.length - 1];
  return withViews(backend, [dy, y], [dy.shape, [cols]], ([g, yv], [out, db]) => {
    const acc = new Float64Array(cols);
    for (let i = 0; i < g.length; i++) {
      const v = yv[i] > 0 ? g[i] : 0;
      out[i] = v;
      acc[i % cols] += v;
    }
    db.set(acc);
  });
};

export const reluBiasGrad: tf.KernelFunc = withFallback(reluBiasGradJs, counted('OsteonReluBiasGrad', ({ inputs, backend }) => {
  const { dy, y } = inputs;
  if (!(f32(dy) && f32(y)) || dy.shape.length < 2 || size(dy.shape) !== size(y.shape) || size(dy.shape) === 0) return null;
  const cols = dy.shape[dy.shape.length - 1];
  return withViews(backend, [y, dy], [dy.shape, [cols]], ([yv, g], [out, db]) => dnnl().reluBiasGrad(size(dy.shape) / cols, cols, yv, g, out, db));
}));

function pool(backend: object, x: tf.TensorInfo, p: PoolShape, outShape: number[]): tf.TensorInfo {
  const geo = poolGeometry(p);
  return withViews(backend, [x], [outShape], ([xv], [yv]) => dnnl().maxPool(geo, xv, yv))[0];
}

export function maxPool(fallback: tf.KernelFunc): tf.KernelFunc {
  return withFallback(fallback, counted('MaxPool', maxPool2dBody));
}

function maxPool2dBody({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | null {
  const { x } = inputs;
  if (!f32(x) || x.shape.length !== 4 || size(x.shape) === 0) return null;
  const at = attrs as unknown as MaxPoolAttrs;
  const p = tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], at.filterSize, at.strides, 1, at.pad, at.dimRoundingMode);
  if (p.dilationHeight !== 1 || p.dilationWidth !== 1 || size(p.outShape) === 0) return null;
  return pool(backend, x, {
    n: p.batchSize, d: 1, h: p.inHeight, w: p.inWidth, c: p.inChannels, od: 1, oh: p.outHeight, ow: p.outWidth,
    kd: 1, kh: p.filterHeight, kw: p.filterWidth, sd: 1, sh: p.strideHeight, sw: p.strideWidth, pf: 0, pt: p.padInfo.top, pl: p.padInfo.left,
  }, p.outShape);
}

export function maxPool3d(fallback: tf.KernelFunc): tf.KernelFunc {
  return withFallback(fallback, counted('MaxPool3D', maxPool3dBody));
}

function maxPool3dBody({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | null {
  const { x } = inputs;
  if (!f32(x) || x.shape.length !== 5 || size(x.shape) === 0) return null;
  const at = attrs as unknown as MaxPool3DAttrs;
  if (at.dataFormat === 'NCDHW') return null;
  const p = tf.backend_util.computePool3DInfo(x.shape as [number, number, number, number, number], at.filterSize, at.strides, 1, at.pad, at.dimRoundingMode);
  if (size(p.outShape) === 0) return null;
  return pool(backend, x, {
    n: p.batchSize, d: p.inDepth, h: p.inHeight, w: p.inWidth, c: p.inChannels, od: p.outDepth, oh: p.outHeight, ow: p.outWidth,
    kd: p.filterDepth, kh: p.filterHeight, kw: p.filterWidth, sd: p.strideDepth, sh: p.strideHeight, sw: p.strideWidth,
    pf: p.padInfo.front, pt: p.padInfo.top, pl: p.padInfo.left,
  }, p.outShape);
}

/** Below this many elements the built-in (single-threaded) is as fast. */
const SOFTMAX_MIN = 1 << 14;

export function softmax(fallback: tf.KernelFunc): tf.KernelFunc {
  return withFallback(fallback, counted('Softmax', ({ inputs, backend, attrs }) => {
    const { logits } = inputs;
    const { dim } = attrs as unknown as SoftmaxAttrs;
    const rank = logits?.shape.length ?? 0;
    if (!f32(logits) || rank === 0 || (dim !== -1 && dim !== rank - 1) || size(logits.shape) < SOFTMAX_MIN) return null;
    const cols = logits.shape[rank - 1];
    return withViews(backend, [logits], [logits.shape], ([xv], [yv]) => dnnl().softmax(size(logits.shape) / cols, cols, xv, yv))[0];
  }));
}

/**
 * OsteonMaxPoolSkip (app/learning/model/poolskip.ts): [pool(x), x] where the kept x shares x's
 * data (reference-counted, as Identity); the pool is whatever MaxPool / MaxPool3D kernel is
 * registered on wasm now (the oneDNN one above).
 */
function poolSkipWith(pool2d: Body, pool3d: Body): Body {
  return ({ inputs, backend, attrs }) => {
    const { x } = inputs as Record<string, tf.TensorInfo>;
    const { filterSize, strides, pad } = attrs as unknown as { filterSize: number; strides: number; pad: 'valid' };
    const pooled = (x.shape.length === 4
      ? pool2d({ inputs: { x }, backend, attrs: { filterSize, strides, pad } })
      : pool3d({ inputs: { x }, backend, attrs: { filterSize, strides, pad, dataFormat: 'NDHWC' } })) as tf.TensorInfo | null;
    if (pooled === null) return null;
    asWasm(backend).incRef(x.dataId);
    return [pooled, { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype }];
  };
}

export const maxPoolSkip: tf.KernelFunc = withFallback(
  poolSkipWith((a) => kernelOf('MaxPool')(a) as tf.TensorInfo, (a) => kernelOf('MaxPool3D')(a) as tf.TensorInfo) as tf.KernelFunc,
  counted('OsteonMaxPoolSkip', poolSkipWith(maxPool2dBody, maxPool3dBody)),
);

/** add + MaxPoolGrad(dy) from the wasm backend's own kernels (whatever is registered now). */
const maxPoolSkipGradUnfused: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, input, output, add } = inputs as Record<string, tf.TensorInfo>;
  const g = kernelOf(input.shape.length === 4 ? 'MaxPoolGrad' : 'MaxPool3DGrad')({ inputs: { dy, input, output }, backend, attrs }) as tf.TensorInfo;
  const out = kernelOf('Add')({ inputs: { a: g, b: add }, backend, attrs: {} }) as tf.TensorInfo;
  free(asWasm(backend), g);
  return out;
};

/** OsteonMaxPoolSkipGrad: dx = add + the max-pool gradient of dy, in one multi-threaded pass (pool.cc). */
export const maxPoolSkipGrad: tf.KernelFunc = withFallback(maxPoolSkipGradUnfused, counted('OsteonMaxPoolSkipGrad', ({ inputs, backend, attrs }) => {
  const { dy, input, add } = inputs;
  if (typeof dnnl().maxPoolGradAdd !== 'function' || !(f32(dy) && f32(input) && f32(add)) || add.shape.length !== input.shape.length || add.shape.some((d, i) => d !== input.shape[i])) return null;
  const { filterSize, strides, pad } = attrs as unknown as { filterSize: number; strides: number; pad: 'valid' };
  const rank = input.shape.length;
  let geo: Int32Array, outSize: number;
  if (rank === 4) {
    const p = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad);
    geo = poolGeometry({
      n: p.batchSize, d: 1, h: p.inHeight, w: p.inWidth, c: p.inChannels, od: 1, oh: p.outHeight, ow: p.outWidth,
      kd: 1, kh: p.filterHeight, kw: p.filterWidth, sd: 1, sh: p.strideHeight, sw: p.strideWidth, pf: 0, pt: p.padInfo.top, pl: p.padInfo.left,
    });
    outSize = size(p.outShape);
  } else if (rank === 5) {
    const p = tf.backend_util.computePool3DInfo(input.shape as [number, number, number, number, number], filterSize, strides, 1, pad);
    geo = poolGeometry({
      n: p.batchSize, d: p.inDepth, h: p.inHeight, w: p.inWidth, c: p.inChannels, od: p.outDepth, oh: p.outHeight, ow: p.outWidth,
      kd: p.filterDepth, kh: p.filterHeight, kw: p.filterWidth, sd: p.strideDepth, sh: p.strideHeight, sw: p.strideWidth,
      pf: p.padInfo.front, pt: p.padInfo.top, pl: p.padInfo.left,
    });
    outSize = size(p.outShape);
  } else return null;
  if (size(dy.shape) !== outSize || size(input.shape) === 0) return null;
  // The same tie rule as MaxPoolGrad / MaxPool3DGrad here (memops.ts): first maximum in 2D, last in 3D.
  return withViews(backend, [input, dy, add], [input.shape], ([x, g, a], [dx]) => dnnl().maxPoolGradAdd!(geo, x, g, dx, rank === 5, a))[0];
}));
