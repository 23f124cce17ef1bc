import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { asWasm, free } from '../wasm_heap.ts';
import { SIMD_RELAXED_WASM_BASE64, SIMD_WASM_BASE64 } from './simd_wasm.ts';

/**
 * Osteon's own SIMD wasm kernels for the pure-wasm rung (no oneDNN addon): the non-conv ops
 * that the tfjs wasm backend runs as scalar or per-row JS loops in a U-Net training step, and
 * the conv filter gradient that bpf_taps.ts calls (docs/cpu-speed.md, "Pure-wasm rung"). The module (kernels.as.ts, AssemblyScript, built by
 * scripts/build-simd.mjs) imports the wasm backend's own memory, so the kernels read and write
 * tensors where they lie, with no copies: every argument is a byte offset into that heap.
 *
 * Each kernel takes the cases it was written for and hands anything else (other dtypes, other
 * layouts, padded pools) to the kernel it replaced. The results are the replaced kernels' up to
 * float32 rounding (Sum is more accurate), except where a max-pool window holds its maximum
 * twice: the gradient then goes where the cpu backend sends it (see maxPoolGrad).
 */

export interface SimdExports {
  copyRows(src: number, srcStride: number, dst: number, dstStride: number, rows: number, len: number): void;
  sumMiddle(x: number, out: number, acc: number, outer: number, R: number, inner: number): void;
  addBias(a: number, b: number, out: number, rows: number, C: number): void;
  maxPoolGrad(x: number, dy: number, dx: number, N: number, D: number, H: number, W: number, C: number, KD: number, KH: number, KW: number, last: number, add: number): void;
  convFilterGrad(xp: number, dyp: number, dW: number, S: number, C: number, CO: number, KD: number, KH: number, KW: number, sD: number, sH: number, sW: number): void;
  // The fused training kernels (fused.ts).
  reluBiasGrad(dy: number, y: number, g: number, db: number, scratch: number, rows: number, C: number): void;
  addBiasAct(a: number, b: number, out: number, rows: number, C: number, relu: number): void;
  adam(w: number, g: number, m: number, v: number, wOut: number, n: number, negLr: number, b1: number, b2: number, eps: number, omb1: number, omb2: number, omab1: number, omab2: number): void;
  lossNoDice(x: number, targets: number, labels: number, pw: number, cw: number, grad: number, sums: number, M: number, C: number,
    bceC0: number, bceN: number, ceC0: number, K: number, bceScale: number, ceScale0: number): void;
  // The 2x2 stride-2 transposed convolution (fused.ts convTransposeBias / convTransposeBiasGrad).
  upconvPack(w: number, wt: number, C: number, CO: number): void;
  upconvForward(x: number, wt: number, bias: number, y: number, R: number, Wd: number, C: number, CO: number): void;
  upconvFilterGrad(x: number, dy: number, dW: number, R: number, Wd: number, C: number, CO: number): void;
  upconvInputGrad(dy: number, w: number, dx: number, R: number, Wd: number, C: number, CO: number): void;
  maxPool(x: number, y: number, N: number, D: number, H: number, W: number, C: number, KD: number, KH: number, KW: number): void;
  scaleCols(x: number, M: number, C: number, c0: number, K: number, s: number): void;
  diceSums(x: number, targets: number, labels: number, sums: number, M: number, C: number, S: number, bceC0: number, bceN: number, ceC0: number, K: number, sigFrom: number, softFrom: number): void;
  diceGrad(x: number, targets: number, labels: number, ab: number, grad: number, M: number, C: number, S: number, bceC0: number, bceN: number, ceC0: number, K: number, sigFrom: number, softFrom: number, scratch: number): void;
}

/** The slice of the WebAssembly API used here (tsconfig's lib has no WebAssembly types). */
interface WasmApi {
  Memory: abstract new (...a: never[]) => object;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  validate(bytes: Uint8Array): boolean;
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

function bytesOf(base64: string): Uint8Array {
  return Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0));
}

let simd: SimdExports | null = null;
let flavor: 'simd' | 'relaxed-simd' | null = null;
let enabled = true;
let calls = 0;

/** How many times a SIMD kernel ran (not a fallback), for tests. */
export function simdCalls(): number {
  return calls;
}

/** Tests and the bench turn the kernels off (every call goes to the replaced kernel); returns the old value. */
export function setSimdKernels(on: boolean): boolean {
  const old = enabled;
  enabled = on;
  return old;
}

/**
 * Which build runs: 'relaxed-simd' (fused multiply-add in the conv filter gradient) where the
 * engine validates it (Electron, Node 22+; Node 20 only with --experimental-wasm-relaxed-simd),
 * else 'simd'; null before loadSimd succeeded.
 */
export function simdFlavor(): 'simd' | 'relaxed-simd' | null {
  return flavor;
}

/**
 * Instantiates the module on the wasm backend's memory. Returns why not (no SIMD in this
 * engine, a tfjs build that does not expose its memory), or null when the kernels are ready.
 * OSTEON_WASM_RELAXED=0 keeps the plain SIMD build where the relaxed one would load. On Node 20
 * this module always loads its plain build: there relaxed SIMD validates only while V8's
 * --experimental-wasm-relaxed-simd is on, and winograd.ts turns that process-wide flag on for its
 * own compile. A helper thread loading this module in that moment would take the relaxed build
 * while the calling thread runs the plain one, and their filter gradients would differ by the
 * fused multiply-add's rounding.
 */
export function loadSimd(backend: BackendWasm): string | null {
  if (simd) return null;
  const memory = (backend.wasm as unknown as { asm?: { memory?: unknown } }).asm?.memory;
  if (!(memory instanceof WA.Memory)) return 'the tfjs wasm module does not export its memory';
  try {
    const relaxed = bytesOf(SIMD_RELAXED_WASM_BASE64);
    const useRelaxed = globalThis.process?.env.OSTEON_WASM_RELAXED !== '0' && !/^v20\./.test(globalThis.process?.version ?? '') && WA.validate(relaxed);
    const bytes = useRelaxed ? relaxed : bytesOf(SIMD_WASM_BASE64);
    const instance = new WA.Instance(new WA.Module(bytes), { env: { memory } });
    simd = instance.exports as unknown as SimdExports;
    flavor = useRelaxed ? 'relaxed-simd' : 'simd';
    return null;
  } catch (e) {
    return `SIMD wasm module failed to load: ${e instanceof Error ? e.message : String(e)}`;
  }
}

/**
 * The kernels for other Osteon kernels to call (bpf_taps.ts), counted as a use; null when the
 * module is not loaded or the kernels are switched off.
 */
export function simdModule(): SimdExports | null {
  if (!simd || !enabled) return null;
  calls++;
  return simd;
}

/** A tensor's byte offset in the wasm heap, the kernels' pointer type. */
export function ptr(backend: BackendWasm, t: tf.TensorInfo): number {
  const entry = backend.dataIdMap.get(t.dataId);
  if (!entry) throw new Error('simd kernel: tensor is not on the wasm backend');
  return entry.memoryOffset;
}

function prod(shape: readonly number[], from = 0, to = shape.length): number {
  let p = 1;
  for (let i = from; i < to; i++) p *= shape[i];
  return p;
}

const f32 = (t: tf.TensorInfo | undefined): boolean => t !== undefined && t.dtype === 'float32';

type Wrap = (fallback: tf.KernelFunc) => tf.KernelFunc;

/** Concat of float32 tensors along any axis: per input, rows of contiguous values copied in place. */
const concat: Wrap = (fallback) => (args) => {
  const xs = Object.values(args.inputs) as tf.TensorInfo[];
  if (!simd || !enabled || xs.length === 0 || !xs.every(f32)) return fallback(args);
  const backend = asWasm(args.backend);
  calls++;
  const { axis } = args.attrs as unknown as tf.ConcatAttrs;
  const ax = tf.util.parseAxisParam(axis, xs[0].shape)[0];
  const outShape = tf.backend_util.computeOutShape(xs.map((t) => t.shape), ax);
  const out = backend.makeOutput(outShape, 'float32');
  const outer = prod(outShape, 0, ax);
  const rowLen = prod(outShape, ax);
  if (outer * rowLen === 0) return out;
  const dst = ptr(backend, out);
  let offset = 0;
  for (const x of xs) {
    const len = prod(x.shape, ax);
    if (len > 0) simd.copyRows(ptr(backend, x), len, dst + 4 * offset, rowLen, outer, len);
    offset += len;
  }
  return out;
};

/** SplitV of float32 along any axis: the inverse copies of concat. */
const splitV: Wrap = (fallback) => (args) => {
  const x = args.inputs.x;
  if (!simd || !enabled || !x || !f32(x)) return fallback(args);
  const backend = asWasm(args.backend);
  calls++;
  const { numOrSizeSplits, axis } = args.attrs as unknown as tf.SplitVAttrs;
  const ax = tf.util.parseAxisParam(axis, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, ax);
  const outer = prod(x.shape, 0, ax);
  const inner = prod(x.shape, ax + 1);
  const rowLen = x.shape[ax] * inner;
  const outs = sizes.map((s) => backend.makeOutput(x.shape.map((d, i) => (i === ax ? s : d)), 'float32'));
  const src = ptr(backend, x);
  let offset = 0;
  outs.forEach((o, i) => {
    const len = sizes[i] * inner;
    if (len > 0 && outer > 0) simd!.copyRows(src + 4 * offset, rowLen, ptr(backend, o), len, outer, len);
    offset += len;
  });
  return outs;
};

/** Slice of float32 that cuts one axis only (every other axis whole): rows copied. */
const slice: Wrap = (fallback) => (args) => {
  const x = args.inputs.x;
  if (!simd || !enabled || !x || !f32(x)) return fallback(args);
  const { begin, size } = args.attrs as unknown as tf.SliceAttrs;
  const [b, s] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
  const cut = s.map((n, i) => (n !== x.shape[i] ? i : -1)).filter((i) => i >= 0);
  if (cut.length !== 1 || s.some((n) => n === 0)) return fallback(args);
  const backend = asWasm(args.backend);
  calls++;
  const ax = cut[0];
  const inner = prod(x.shape, ax + 1);
  const out = backend.makeOutput(s, 'float32');
  const len = s[ax] * inner;
  simd.copyRows(ptr(backend, x) + 4 * b[ax] * inner, x.shape[ax] * inner, ptr(backend, out), len, prod(x.shape, 0, ax), len);
  return out;
};

/**
 * Sum of float32 over one contiguous run of axes that is not the innermost (the bias gradient:
 * [N,H,W,C] over N,H,W): no transpose, blocked float32 sums added in float64. The innermost
 * case (rows summed) goes to the built-in, which needs no transpose for it.
 */
const sum: Wrap = (fallback) => (args) => {
  const x = args.inputs.x;
  if (!simd || !enabled || !x || !f32(x) || x.shape.length === 0) return fallback(args);
  const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
  const axes = tf.util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
  const a0 = axes[0], a1 = axes[axes.length - 1];
  if (axes.length === 0 || a1 - a0 + 1 !== axes.length || a1 === x.shape.length - 1) return fallback(args);
  const backend = asWasm(args.backend);
  calls++;
  const outer = prod(x.shape, 0, a0), R = prod(x.shape, a0, a1 + 1), inner = prod(x.shape, a1 + 1);
  const kept = x.shape.map((d, i) => (i >= a0 && i <= a1 ? 1 : d));
  const out = backend.makeOutput(keepDims ? kept : x.shape.filter((_, i) => i < a0 || i > a1), 'float32');
  if (outer * inner === 0) return out;
  const acc = backend.makeOutput([2 * inner], 'float32');
  simd.sumMiddle(ptr(backend, x), ptr(backend, out), ptr(backend, acc), outer, R, inner);
  free(backend, acc);
  return out;
};

/** Add of float32 a [..., C] and a bias b [C] (or [1, …, 1, C]), either order. */
const add: Wrap = (fallback) => (args) => {
  const { a, b } = args.inputs;
  if (!simd || !enabled || !a || !b || !f32(a) || !f32(b)) return fallback(args);
  const [big, bias] = prod(a.shape) >= prod(b.shape) ? [a, b] : [b, a];
  const C = big.shape[big.shape.length - 1];
  const biasOk = bias.shape.length >= 1 && bias.shape.length <= big.shape.length && bias.shape[bias.shape.length - 1] === C && prod(bias.shape) === C;
  if (!biasOk || big.shape.length < 2 || prod(big.shape) === C || C === 0) return fallback(args);
  const backend = asWasm(args.backend);
  calls++;
  const out = backend.makeOutput(big.shape, 'float32');
  simd.addBias(ptr(backend, big), ptr(backend, bias), ptr(backend, out), prod(big.shape) / C, C);
  return out;
};

export interface PoolGeom { N: number; D: number; H: number; W: number; C: number; KD: number; KH: number; KW: number }

/** The pool's geometry when its windows equal its strides and it has no padding (tiles), else null. */
export function poolGeom(dims: 2 | 3, shape: number[], attrs: tf.MaxPoolGradAttrs): PoolGeom | null {
  const { filterSize, strides, pad, dimRoundingMode } = attrs;
  let g: PoolGeom, pads: number[], strided: number[], out: number[];
  if (dims === 2) {
    const i = tf.backend_util.computePool2DInfo(shape as [number, number, number, number], filterSize as [number, number] | number, strides as [number, number] | number, 1, pad, dimRoundingMode);
    g = { N: i.batchSize, D: 1, H: i.inHeight, W: i.inWidth, C: i.inChannels, KD: 1, KH: i.filterHeight, KW: i.filterWidth };
    pads = [i.padInfo.top, i.padInfo.bottom, i.padInfo.left, i.padInfo.right, i.dilationHeight - 1, i.dilationWidth - 1];
    strided = [i.strideHeight, i.strideWidth];
    out = [1, i.outHeight, i.outWidth];
  } else {
    const i = tf.backend_util.computePool3DInfo(shape as [number, number, number, number, number], filterSize as unknown as [number, number, number] | number, strides as unknown as [number, number, number] | number, 1, pad as 'valid' | 'same' | number, dimRoundingMode);
    g = { N: i.batchSize, D: i.inDepth, H: i.inHeight, W: i.inWidth, C: i.inChannels, KD: i.filterDepth, KH: i.filterHeight, KW: i.filterWidth };
    pads = [i.padInfo.front, i.padInfo.back, i.padInfo.top, i.padInfo.bottom, i.padInfo.left, i.padInfo.right, i.dilationDepth - 1, i.dilationHeight - 1, i.dilationWidth - 1];
    strided = [i.strideDepth, i.strideHeight, i.strideWidth];
    out = [i.outDepth, i.outHeight, i.outWidth];
  }
  const k = dims === 2 ? [g.KH, g.KW] : [g.KD, g.KH, g.KW];
  if (pads.some((v) => v !== 0) || k.some((v, a) => v !== strided[a])) return null;
  if (out[0] !== Math.floor(g.D / g.KD) || out[1] !== Math.floor(g.H / g.KH) || out[2] !== Math.floor(g.W / g.KW)) return null;
  return g;
}

/**
 * MaxPoolGrad / MaxPool3DGrad for windows equal to their strides, 'valid' (no padding). Where a
 * window holds its maximum more than once, the gradient goes where tfjs's cpu backend sends it
 * (2D: the first; 3D: the last). The wasm built-ins differ there (2D: the last). Such ties are
 * of no consequence in a U-Net: a pool follows a ReLU, whose tied values are its zeros, and the
 * ReLU's gradient is 0 there whichever input the pool chose.
 */
function maxPoolGrad(dims: 2 | 3): Wrap {
  return (fallback) => (args) => {
    const { dy, input } = args.inputs;
    if (!simd || !enabled || !dy || !input || !f32(dy) || !f32(input)) return fallback(args);
    const g = poolGeom(dims, input.shape, args.attrs as unknown as tf.MaxPoolGradAttrs);
    if (!g) return fallback(args);
    const backend = asWasm(args.backend);
    calls++;
    const dx = backend.makeOutput(input.shape, 'float32');
    if (prod(input.shape) === 0) return dx;
    simd.maxPoolGrad(ptr(backend, input), ptr(backend, dy), ptr(backend, dx), g.N, g.D, g.H, g.W, g.C, g.KD, g.KH, g.KW, dims === 3 ? 1 : 0, 0);
    return dx;
  };
}

/**
 * Identity that shares the input's buffer (reference counted), as tfjs's cpu and webgl backends
 * do; the wasm built-in copies it. The engine clones every tensor it saves for the backward
 * pass, so the copies were a memcpy per saved activation. Safe because tfjs tensors are
 * immutable: no Osteon kernel writes into an input.
 */
const identity: Wrap = (fallback) => (args) => {
  const x = args.inputs.x;
  if (!enabled || !x || x.dtype === 'string') return fallback(args);
  (args.backend as BackendWasm).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

/** Kernel name → wrapper, in registration order. */
export const simdKernels: ReadonlyArray<[string, Wrap]> = [
  ['Concat', concat],
  ['SplitV', splitV],
  ['Slice', slice],
  ['Sum', sum],
  ['Add', add],
  ['MaxPoolGrad', maxPoolGrad(2)],
  ['MaxPool3DGrad', maxPoolGrad(3)],
  ['Identity', identity],
];
