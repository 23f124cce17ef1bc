import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { CONV_BIAS, RELU_BIAS_GRAD, type ConvBiasAttrs } from '../../model/fused.ts';
import { POOL_SKIP, POOL_SKIP_GRAD, type PoolSkipAttrs } from '../../model/poolskip.ts';
import { CONV_T_BIAS, CONV_T_BIAS_GRAD, CONV_T_INPUT_GRAD, type ConvTransposeBiasAttrs } from '../../model/upconv.ts';
import { asWasm, free, view } from '../wasm_heap.ts';
import { SPLIT_FUSED_KERNELS, forgetKept, splitKernel } from '../parallel/pool.ts';
import { poolGeom, ptr, simdModule, type SimdExports } from './simd.ts';

/**
 * The pure-wasm rung's fused training ops (what the oneDNN addon's fused kernels are on the
 * wasm+dnnl rung; docs/cpu-speed.md "Fused loss, Adam and network ops on the pure-wasm rung"),
 * on one thread in Osteon's SIMD module (kernels.as.ts), in place on the tfjs wasm heap:
 * - OsteonConvBias (model/fused.ts): 2D is the wasm FusedConv2D kernel with bias and ReLU (tfjs
 *   itself runs Conv2D, Add and Relu while a gradient is recorded); 3D is Conv3D, then the bias
 *   and ReLU in one pass over its output, in place.
 * - OsteonReluBiasGrad: dy·[y>0] and its per-channel sum in one pass (tfjs: Step, Multiply, Sum).
 * - OsteonMaxPoolSkip / OsteonMaxPoolSkipGrad (model/poolskip.ts): the pool's input kept for the
 *   skip without a copy (3D: the pool itself in SIMD; the built-in is a scalar loop), and dx = dskip + the pooling gradient in one pass (tfjs: MaxPoolGrad,
 *   then Add).
 * - OsteonConvTransposeBias / OsteonConvTransposeBiasGrad (model/upconv.ts): the transposed
 *   conv's bias added in place on its output (tfjs: an Add); the gradient is the filter gradient
 *   and the bias sum, two kernels as before, but one tape entry.
 * - `simdHeadLoss` and `simdAdam`, which native/loss-adam.ts runs in place of the addon's
 *   lossFused / adamFused on this rung.
 * Each kernel computes through the registered wasm kernels (whatever they are now: XNNPACK, the
 * helper-thread split) where it needs a convolution, and composes the unfused kernels where the
 * SIMD module is off or the case is not one it handles.
 */

const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
const f32 = (t: tf.TensorInfo | undefined): t is tf.TensorInfo => t !== undefined && t.dtype === 'float32';

function kernelOf(name: string): tf.KernelFunc {
  const k = tf.getKernel(name, 'wasm') as tf.KernelConfig | undefined;
  if (!k) throw new Error(`wasm kernel ${name} is not registered`);
  return k.kernelFunc;
}

const served = new Map<string, number>();

/** Calls each fused kernel served by the SIMD module (tests check that nothing fell back silently). */
export function simdFusedCounts(): Record<string, number> {
  return Object.fromEntries(served);
}

function count(name: string): void {
  served.set(name, (served.get(name) ?? 0) + 1);
}

/**
 * A writable output for `t`'s result: `t` itself when nothing else holds its buffer. Then it is
 * written in place, so the helper threads' copies of its slices are forgotten (forgetKept).
 */
function ownOrNew(b: BackendWasm, t: tf.TensorInfo): tf.TensorInfo {
  if (b.refCount(t.dataId) !== 1) return b.makeOutput([...t.shape], 'float32');
  forgetKept(t.dataId);
  return t;
}

const convBias: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, filter, bias } = inputs as Record<string, tf.TensorInfo>;
  const { strides, pad, activation } = attrs as unknown as ConvBiasAttrs;
  if (x.shape.length === 4) {
    return kernelOf('FusedConv2D')({ inputs: { x, filter, bias }, backend, attrs: { strides, pad, dataFormat: 'NHWC', dilations: 1, activation } });
  }
  const b = asWasm(backend);
  const conv = kernelOf('Conv3D')({ inputs: { x, filter }, backend, attrs: { strides, pad, dataFormat: 'NDHWC', dilations: 1 } }) as tf.TensorInfo;
  if (activation === 'linear') return addBiasInPlace(b, conv, bias, CONV_BIAS);
  const s = simdModule();
  const C = conv.shape[conv.shape.length - 1];
  if (s && f32(conv) && f32(bias) && size(bias.shape) === C && C > 0) {
    count(CONV_BIAS);
    const out = ownOrNew(b, conv);
    if (size(conv.shape) > 0) s.addBiasAct(ptr(b, conv), ptr(b, bias), ptr(b, out), size(conv.shape) / C, C, 1);
    if (out !== conv) free(b, conv);
    return out;
  }
  const added = kernelOf('Add')({ inputs: { a: conv, b: bias }, backend, attrs: {} }) as tf.TensorInfo;
  free(b, conv);
  const out = kernelOf('Relu')({ inputs: { x: added }, backend, attrs: {} }) as tf.TensorInfo;
  free(b, added);
  return out;
};

const reluBiasGrad: tf.KernelFunc = ({ inputs, backend }) => {
  const { dy, y } = inputs as Record<string, tf.TensorInfo>;
  const b = asWasm(backend);
  const C = dy.shape[dy.shape.length - 1];
  const s = simdModule();
  if (s && f32(dy) && f32(y) && dy.shape.length >= 2 && size(dy.shape) === size(y.shape) && size(dy.shape) > 0) {
    count(RELU_BIAS_GRAD);
    const g = b.makeOutput([...dy.shape], 'float32');
    const db = b.makeOutput([C], 'float32');
    const scratch = b.makeOutput([3 * C], 'float32');
    s.reluBiasGrad(ptr(b, dy), ptr(b, y), ptr(b, g), ptr(b, db), ptr(b, scratch), size(dy.shape) / C, C);
    free(b, scratch);
    return [g, db];
  }
  const step = kernelOf('Step')({ inputs: { x: y }, backend, attrs: { alpha: 0 } }) as tf.TensorInfo;
  const g = kernelOf('Multiply')({ inputs: { a: dy, b: step }, backend, attrs: {} }) as tf.TensorInfo;
  free(b, step);
  const db = kernelOf('Sum')({ inputs: { x: g }, backend, attrs: { axis: [...Array(dy.shape.length - 1).keys()], keepDims: false } }) as tf.TensorInfo;
  return [g, db];
};

const maxPoolSkip: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x } = inputs as Record<string, tf.TensorInfo>;
  const { filterSize, strides, pad } = attrs as unknown as PoolSkipAttrs;
  const b = asWasm(backend);
  // 3D: the SIMD pool (the wasm built-in MaxPool3D is a scalar loop); 2D keeps XNNPACK's.
  const s = x.shape.length === 5 && f32(x) ? simdModule() : null;
  const g = s ? poolGeom(3, x.shape, { filterSize, strides, pad } as unknown as tf.MaxPoolGradAttrs) : null;
  if (s && g) {
    count(POOL_SKIP);
    const pooled = b.makeOutput([g.N, Math.floor(g.D / g.KD), Math.floor(g.H / g.KH), Math.floor(g.W / g.KW), g.C], 'float32');
    if (size(pooled.shape) > 0) s.maxPool(ptr(b, x), ptr(b, pooled), g.N, g.D, g.H, g.W, g.C, g.KD, g.KH, g.KW);
    b.incRef(x.dataId);
    return [pooled, { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype }];
  }
  const pooled = (x.shape.length === 4
    ? kernelOf('MaxPool')({ inputs: { x }, backend, attrs: { filterSize, strides, pad } })
    : kernelOf('MaxPool3D')({ inputs: { x }, backend, attrs: { filterSize, strides, pad, dataFormat: 'NDHWC' } })) as tf.TensorInfo;
  // The kept x shares x's buffer (reference-counted, as the SIMD Identity does).
  b.incRef(x.dataId);
  return [pooled, { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype }];
};

const maxPoolSkipGrad: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, input, output, add } = inputs as Record<string, tf.TensorInfo>;
  const b = asWasm(backend);
  const dims = input.shape.length === 4 ? 2 : 3;
  const s = simdModule();
  const g = s && f32(dy) && f32(input) && f32(add) && add.shape.every((d, i) => d === input.shape[i]) && add.shape.length === input.shape.length
    ? poolGeom(dims, input.shape, attrs as unknown as tf.MaxPoolGradAttrs) : null;
  if (s && g) {
    count(POOL_SKIP_GRAD);
    const dx = b.makeOutput([...input.shape], 'float32');
    if (size(input.shape) > 0) s.maxPoolGrad(ptr(b, input), ptr(b, dy), ptr(b, dx), g.N, g.D, g.H, g.W, g.C, g.KD, g.KH, g.KW, dims === 3 ? 1 : 0, ptr(b, add));
    return dx;
  }
  const pg = kernelOf(dims === 2 ? 'MaxPoolGrad' : 'MaxPool3DGrad')({ inputs: { dy, input, output }, backend, attrs }) as tf.TensorInfo;
  const out = kernelOf('Add')({ inputs: { a: pg, b: add }, backend, attrs: {} }) as tf.TensorInfo;
  free(b, pg);
  return out;
};

/** Adds bias [C] to t [..., C] in place (or into a copy when t's buffer is shared); the Add kernel without the SIMD module. */
function addBiasInPlace(b: BackendWasm, t: tf.TensorInfo, bias: tf.TensorInfo, name: string): tf.TensorInfo {
  const s = simdModule();
  const C = t.shape[t.shape.length - 1];
  if (!s || !f32(t) || !f32(bias) || size(bias.shape) !== C || C === 0) {
    const out = kernelOf('Add')({ inputs: { a: t, b: bias }, backend: b, attrs: {} }) as tf.TensorInfo;
    free(b, t);
    return out;
  }
  count(name);
  const out = ownOrNew(b, t);
  if (size(t.shape) > 0) s.addBiasAct(ptr(b, t), ptr(b, bias), ptr(b, out), size(t.shape) / C, C, 0);
  if (out !== t) free(b, t);
  return out;
}

let directUpconv = true;

/** simdFusedCounts keys of the direct 2x2 stride-2 transposed-conv kernels (forward, filter gradient). */
export const UPCONV_DIRECT = 'upconv2x2', UPCONV_DIRECT_GRAD = 'upconv2x2Grad', UPCONV_DIRECT_DX = 'upconv2x2InputGrad';

/** Tests and the bench turn the direct 2x2 stride-2 transposed-conv kernels off (the generic path runs); returns the old value. */
export function setSimdUpconv(on: boolean): boolean {
  const old = directUpconv;
  directUpconv = on;
  return old;
}

/**
 * [R = N·H, W, C, CO] when the transposed conv is the U-Net's 2D 2x2 stride 2 with output
 * [N, 2H, 2W, CO] (one input pixel and one tap per output pixel: 'valid', and 'same' too, whose
 * padding is 0 here) and C, CO multiples of 4 in float32; null for the generic kernels.
 */
function upconvCase(xShape: readonly number[], a: ConvTransposeBiasAttrs, tensors: tf.TensorInfo[]): [number, number, number, number] | null {
  if (!directUpconv || xShape.length !== 4 || a.outShape.length !== 4 || !tensors.every(f32)) return null;
  const [N, H, W, C] = xShape;
  const [kh, kw, CO, ci] = a.filterShape;
  const o = a.outShape;
  if (kh !== 2 || kw !== 2 || ci !== C || Number(a.strides) !== 2 || o[0] !== N || o[1] !== 2 * H || o[2] !== 2 * W || o[3] !== CO) return null;
  if (C % 4 !== 0 || CO % 4 !== 0 || N * H * W === 0 || C === 0 || CO === 0) return null;
  return [N * H, W, C, CO];
}

const convTransposeBias: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, filter, bias } = inputs as Record<string, tf.TensorInfo>;
  const a = attrs as unknown as ConvTransposeBiasAttrs;
  const geom = upconvCase(x.shape, a, [x, filter, bias]);
  const s = geom && size(bias.shape) === geom[3] ? simdModule() : null;
  if (s && geom) {
    count(CONV_T_BIAS);
    count(UPCONV_DIRECT);
    const b = asWasm(backend);
    const [R, W, C, CO] = geom;
    const wt = b.makeOutput([4 * C * CO], 'float32');
    const y = b.makeOutput([...a.outShape], 'float32');
    s.upconvPack(ptr(b, filter), ptr(b, wt), C, CO);
    s.upconvForward(ptr(b, x), ptr(b, wt), ptr(b, bias), ptr(b, y), R, W, C, CO);
    free(b, wt);
    return y;
  }
  const conv = (a.outShape.length === 4
    ? kernelOf('Conv2DBackpropInput')({ inputs: { dy: x, filter }, backend, attrs: { inputShape: a.outShape, strides: a.strides, pad: a.pad, dataFormat: 'NHWC' } })
    : kernelOf('Conv3DBackpropInputV2')({ inputs: { dy: x, filter }, backend, attrs: { inputShape: a.outShape, strides: a.strides, pad: a.pad } })) as tf.TensorInfo;
  return addBiasInPlace(asWasm(backend), conv, bias, CONV_T_BIAS);
};

const convTransposeBiasGrad: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as Record<string, tf.TensorInfo>;
  const a = attrs as unknown as ConvTransposeBiasAttrs;
  const geom = upconvCase(x.shape, a, [x, dy]);
  const s = geom && dy.shape.every((d, i) => d === a.outShape[i]) ? simdModule() : null;
  let dw: tf.TensorInfo;
  if (s && geom) {
    count(CONV_T_BIAS_GRAD);
    count(UPCONV_DIRECT_GRAD);
    const b = asWasm(backend);
    const [R, W, C, CO] = geom;
    dw = b.makeOutput([...a.filterShape], 'float32');
    s.upconvFilterGrad(ptr(b, x), ptr(b, dy), ptr(b, dw), R, W, C, CO);
  } else {
    dw = (a.outShape.length === 4
      ? kernelOf('Conv2DBackpropFilter')({ inputs: { x: dy, dy: x }, backend, attrs: { strides: a.strides, pad: a.pad, dataFormat: 'NHWC', filterShape: a.filterShape } })
      : kernelOf('Conv3DBackpropFilterV2')({ inputs: { x: dy, dy: x }, backend, attrs: { strides: a.strides, pad: a.pad, filterShape: a.filterShape } })) as tf.TensorInfo;
  }
  const db = kernelOf('Sum')({ inputs: { x: dy }, backend, attrs: { axis: [...Array(dy.shape.length - 1).keys()], keepDims: false } }) as tf.TensorInfo;
  return [dw, db];
};

/** dx of convTransposeBias: the direct kernel for the 2x2 stride-2 case, else the conv of dy with the filter. */
const convTransposeInputGrad: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, filter } = inputs as Record<string, tf.TensorInfo>;
  const a = attrs as unknown as ConvTransposeBiasAttrs;
  const b = asWasm(backend);
  // x's shape from the output's: [N, H, W, C] with H, W half the output's (the direct case only).
  const o = a.outShape;
  const xShape = o.length === 4 ? [o[0], Math.floor(o[1] / 2), Math.floor(o[2] / 2), a.filterShape[3]] : [];
  const geom = upconvCase(xShape, a, [dy, filter]);
  const s = geom && dy.shape.every((d, i) => d === o[i]) ? simdModule() : null;
  if (s && geom) {
    count(CONV_T_INPUT_GRAD);
    count(UPCONV_DIRECT_DX);
    const [R, W, C, CO] = geom;
    const dx = b.makeOutput(xShape, 'float32');
    s.upconvInputGrad(ptr(b, dy), ptr(b, filter), ptr(b, dx), R, W, C, CO);
    return dx;
  }
  return (o.length === 4
    ? kernelOf('Conv2D')({ inputs: { x: dy, filter }, backend, attrs: { strides: a.strides, pad: a.pad, dataFormat: 'NHWC', dilations: 1 } })
    : kernelOf('Conv3D')({ inputs: { x: dy, filter }, backend, attrs: { strides: a.strides, pad: a.pad, dataFormat: 'NDHWC', dilations: 1 } })) as tf.TensorInfo;
};

const fusedKernels: ReadonlyArray<[string, tf.KernelFunc]> = [
  [CONV_BIAS, convBias],
  [RELU_BIAS_GRAD, reluBiasGrad],
  [POOL_SKIP, maxPoolSkip],
  [POOL_SKIP_GRAD, maxPoolSkipGrad],
  [CONV_T_BIAS, convTransposeBias],
  [CONV_T_BIAS_GRAD, convTransposeBiasGrad],
  [CONV_T_INPUT_GRAD, convTransposeInputGrad],
];

let active = false;
let splitTransposed = true;

/**
 * Whether the transposed convs (OsteonConvTransposeBias, its input and filter + bias gradients)
 * run split by batch over the helper threads (parallel/pool.ts); returns the old value. On by
 * default. Each is a ~2–3 ms memory-bound call in the 2D reference step: split, the three saved
 * 2–3 ms per step on a quiet machine and cost ~10 ms at load 6, where the split-pays judge pauses
 * every split (docs/cpu-speed.md, "Split caches and more split kernels").
 */
export function setSplitTransposedConvs(on: boolean): boolean {
  const old = splitTransposed;
  splitTransposed = on;
  if (active && old !== on) {
    for (const [name, fn] of fusedKernels) {
      if (!SPLIT_FUSED_KERNELS[name]) continue;
      tf.unregisterKernel(name, 'wasm');
      tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: on ? splitKernel(name, fn) : fn });
    }
  }
  return old;
}

/** Kernel names as the backend report gives them. */
export const simdFusedKernelNames = fusedKernels.map(([k]) => `wasm-simd:${k}`);

/**
 * Registers (true) or removes (false) the fused network kernels on wasm; returns whether they
 * were registered before. Without them the model composes tfjs's ops (model/fused.ts,
 * poolskip.ts), which is what OSTEON_FUSE=0 gives; the oneDNN rung puts its own in their place
 * (native/register.ts).
 */
export function setSimdFusedKernels(on: boolean): boolean {
  const was = active;
  if (on === active) return was;
  for (const [name, fn] of fusedKernels) {
    if (on) tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: splitTransposed && SPLIT_FUSED_KERNELS[name] ? splitKernel(name, fn) : fn });
    else tf.unregisterKernel(name, 'wasm');
  }
  active = on;
  return was;
}

/** The head loss's shape and weights (native/loss-adam.ts builds it from a FusedLossSpec). */
export interface SimdLossArgs {
  m: number;
  c: number;
  bce: { c0: number; n: number; targets: tf.TensorInfo; posWeight: Float32Array } | null;
  ce: { c0: number; k: number; labels: tf.TensorInfo; weight: Float32Array | null } | null;
  a: number;
  b: number;
  /** Soft Dice, only when weighted (c > 0): from which sigmoid channel / softmax class (null: none), rows per sample, smoothing. */
  dice: { c: number; sigFrom: number | null; softFrom: number | null; rowsPerSample: number; smoothNr: number; smoothDr: number } | null;
}

/**
 * BCE (pos_weight) and CE (class weights) of logits [m, c] without Dice, in one SIMD pass
 * (kernels.as.ts lossNoDice), with the addon's normalisations (native/dnnl/src/loss.cc): BCE the
 * mean over m·n values, CE Σ w_y·ce / Σ w_y (the mean without weights); the gradient, unless
 * grad is null, a·dBCE + b·dCE (+ c·dDice) w.r.t. the logits into grad. With `dice`, a second
 * pass sums soft Dice's I, P, G per sample and channel (float64) and a third adds its gradient
 * (MONAI conventions, as loss.cc: the mean over samples and channels of 1 − (2I + nr)/(P + G + dr)).
 * Returns [bce, ce, dice] (NaN for an absent term), or null when the SIMD module is off (the
 * caller runs the tfjs ops).
 */
export function simdHeadLoss(b: BackendWasm, x: tf.TensorInfo, args: SimdLossArgs, grad: tf.TensorInfo | null): [number, number, number] | null {
  const s = simdModule();
  if (!s) return null;
  const { m, c, bce, ce } = args;
  // Scratch: 3 float64 sums, then pos_weight and class weights.
  const nb = bce ? bce.n : 0, k = ce ? ce.k : 0;
  const scratch = b.makeOutput([6 + nb + (ce?.weight ? k : 0)], 'float32');
  const v = view(b, scratch);
  if (bce) v.set(bce.posWeight, 6);
  if (ce?.weight) v.set(ce.weight, 6 + nb);
  const base = ptr(b, scratch);
  const bceScale = bce ? args.a / (m * nb) : 0;
  const ceScale0 = ce?.weight ? args.b : args.b / m;
  s.lossNoDice(ptr(b, x), bce ? ptr(b, bce.targets) : 0, ce ? ptr(b, ce.labels) : 0, base + 24, ce?.weight ? base + 24 + 4 * nb : 0,
    grad ? ptr(b, grad) : 0, base, m, c, bce ? bce.c0 : 0, nb, ce ? ce.c0 : 0, k, bceScale, ceScale0);
  const sv = view(b, scratch);
  const dv = new DataView(sv.buffer, sv.byteOffset, 24);
  const sums = [0, 8, 16].map((o) => dv.getFloat64(o, true));
  free(b, scratch);
  if (grad && ce?.weight) s.scaleCols(ptr(b, grad), m, c, ce.c0, k, 1 / sums[2]);
  const dice = args.dice ? diceTerm(b, s, x, args, args.dice, grad) : NaN;
  return [bce ? sums[0] / (m * nb) : NaN, ce ? (ce.weight ? sums[1] / sums[2] : sums[1] / m) : NaN, dice];
}

/** The soft Dice term's value, and its gradient added into grad (see simdHeadLoss). */
function diceTerm(b: BackendWasm, s: SimdExports, x: tf.TensorInfo, args: SimdLossArgs, d: NonNullable<SimdLossArgs['dice']>, grad: tf.TensorInfo | null): number {
  const { m, c, bce, ce } = args;
  const sigFrom = bce && d.sigFrom !== null ? d.sigFrom : -1;
  const softFrom = ce && d.softFrom !== null ? d.softFrom : -1;
  const nD = (sigFrom >= 0 ? bce!.n - sigFrom : 0) + (softFrom >= 0 ? ce!.k - softFrom : 0);
  if (nD <= 0) return NaN;
  const N = m / d.rowsPerSample, k = ce ? ce.k : 0;
  // Float64 scratch: I, P, G per (sample, channel); then α, β; then 2k for the softmax rows.
  const scratch = b.makeOutput([2 * (N * nD * 5 + 2 * k)], 'float32');
  const base = ptr(b, scratch);
  const geo = [m, c, d.rowsPerSample, bce ? bce.c0 : 0, bce ? bce.n : 0, ce ? ce.c0 : 0, k, sigFrom, softFrom] as const;
  const tg = bce ? ptr(b, bce.targets) : 0, lb = ce ? ptr(b, ce.labels) : 0;
  s.diceSums(ptr(b, x), tg, lb, base, ...geo);
  const sv = view(b, scratch);
  const f64 = new Float64Array(sv.buffer, sv.byteOffset, N * nD * 5 + 2 * k);
  const per = 1 / (N * nD);
  let f = 0;
  for (let i = 0; i < N * nD; i++) {
    const I = f64[3 * i], P = f64[3 * i + 1], G = f64[3 * i + 2];
    const num = 2 * I + d.smoothNr, D = P + G + d.smoothDr;
    f += 1 - num / D;
    f64[3 * N * nD + 2 * i] = (-2 / D) * per * d.c;
    f64[3 * N * nD + 2 * i + 1] = (num / (D * D)) * per * d.c;
  }
  if (grad) s.diceGrad(ptr(b, x), tg, lb, base + 24 * N * nD, ptr(b, grad), ...geo, base + 40 * N * nD);
  free(b, scratch);
  return f * per;
}

/** Adam's constants as native/loss-adam.ts computes them: lr, β1, β2, ε, 1−β1, 1−β2, 1−β1ᵗ, 1−β2ᵗ (float32). */
export type AdamConstants = Float32Array;

/**
 * Adam on one parameter tensor (kernels.as.ts adam): m and v updated in place, the new weights
 * into wOut. Bit-identical to tf.train.adam's ops on wasm. False when the SIMD module is off.
 */
export function simdAdam(b: BackendWasm, list: ReadonlyArray<{ w: tf.TensorInfo; g: tf.TensorInfo; m: tf.TensorInfo; v: tf.TensorInfo; out: tf.TensorInfo }>, k: AdamConstants): boolean {
  const s = simdModule();
  if (!s) return false;
  const negLr = -k[0];
  for (const e of list) {
    // The moments change in place (no convolution reads them, but a kept copy would be stale).
    forgetKept(e.m.dataId);
    forgetKept(e.v.dataId);
    s.adam(ptr(b, e.w), ptr(b, e.g), ptr(b, e.m), ptr(b, e.v), ptr(b, e.out), size(e.w.shape), negLr, k[1], k[2], k[3], k[4], k[5], k[6], k[7]);
  }
  return true;
}
