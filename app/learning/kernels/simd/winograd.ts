import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { OsteonError } from '../../../util/errors.ts';
import { asWasm, free, reshaped, view } from '../wasm_heap.ts';
import { WINOGRAD_RELAXED_WASM_BASE64, WINOGRAD_WASM_BASE64 } from './winograd_wasm.ts';

/**
 * Winograd convolutions for the pure-wasm rung (docs/cpu-speed.md, "Winograd convolutions"):
 * 3×3, stride 1, dilation 1, NHWC float32 Conv2D, FusedConv2D (bias and ReLU in the output
 * transform), Conv2DBackpropInput (a convolution of dy with the rotated, transposed filter) and
 * Conv2DBackpropFilter (the transformed input times the transformed output gradient, summed
 * over tiles, then brought back to 3×3), and Conv3DBackpropFilterV2 for KD×3×3 filters as
 * in-plane filter gradients per depth tap.
 * The module (winograd.as.ts, built by scripts/build-simd.mjs) works in place on the tfjs wasm
 * heap, as simd.ts's does. F(4×4, 3×3) does 4× fewer multiplications than a direct convolution,
 * F(2×2, 3×3) 2.25×. Anything else (other filters and strides, channel counts that are not
 * multiples of 4, other activations, NCHW) goes to the kernel it wraps.
 *
 * OSTEON_WINOGRAD=0 turns it off (nothing is registered); =2 or =4 keeps one tile size (tests,
 * benchmarks).
 */

interface WinogradExports {
  filterTransform(f: number, U: number, Ci: number, Co: number, m: number, flip: number, tmp: number): void;
  conv(x: number, U: number, bias: number, out: number, scratch: number, N: number, H: number, W: number, Ci: number, Co: number, OH: number, OW: number, padT: number, padL: number, relu: number, m: number, T: number): void;
  convFilterGrad(x: number, dy: number, dW: number, scratch: number, N: number, H: number, W: number, Ci: number, Co: number, OH: number, OW: number, padT: number, padL: number, m: number, T: number): void;
}

interface WasmApi {
  Memory: abstract new (...a: never[]) => object;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  validate(bytes: Uint8Array): boolean;
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const env = (name: string): string | undefined => globalThis.process?.env[name];

let mod: WinogradExports | null = null;
let enabled = env('OSTEON_WINOGRAD') !== '0';
let tile: 0 | 2 | 4 = env('OSTEON_WINOGRAD') === '2' ? 2 : env('OSTEON_WINOGRAD') === '4' ? 4 : 0;
const counts = new Map<string, number>();

/** Calls per kernel name that ran as Winograd (not a fallback), for tests and the bench. */
export function winogradCalls(): Record<string, number> {
  return Object.fromEntries(counts);
}

/** Turns the Winograd kernels on or off (tests, bench); returns the old value. */
export function setWinograd(on: boolean): boolean {
  const old = enabled;
  enabled = on;
  return old;
}

/** Forces F(2×2) or F(4×4) for every call (0: chosen per call); returns the old value. */
export function setWinogradTile(m: 0 | 2 | 4): 0 | 2 | 4 {
  const old = tile;
  tile = m;
  return old;
}

let flavor: 'simd' | 'relaxed-simd' | null = null;

/** Which Winograd build runs ('relaxed-simd': fused multiply-add in the products), null before loading. */
export function winogradFlavor(): 'simd' | 'relaxed-simd' | null {
  return flavor;
}

/**
 * The relaxed-SIMD build compiled, or null where the engine will not take it. Electron and Node
 * 22+ validate relaxed SIMD; Node 20 only behind V8's --experimental-wasm-relaxed-simd, which is
 * turned on for this one compilation and off again (process-wide: left on, the SIMD module of a
 * helper thread started later would load its relaxed build while the calling thread runs the
 * plain one). A module keeps the features it was compiled with, its later optimising compiles
 * included. The products are bound by the multiply and add instructions, which the fused
 * multiply-add halves (docs/cpu-speed.md, "Winograd at the narrow levels").
 */
function relaxedModule(bytes: Uint8Array): object | null {
  if (env('OSTEON_WASM_RELAXED') === '0') return null;
  if (WA.validate(bytes)) return new WA.Module(bytes);
  const v8 = (globalThis.process as { getBuiltinModule?: (id: string) => unknown } | undefined)?.getBuiltinModule?.('node:v8') as { setFlagsFromString(f: string): void } | undefined;
  if (!v8 || !/^v20\./.test(globalThis.process.version)) return null;
  // Helper threads load at the same time and share the flag: one may turn it off between another's
  // setting it and compiling, so a few tries.
  for (let i = 0; i < 4; i++) {
    try {
      v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
      if (WA.validate(bytes)) return new WA.Module(bytes);
    } catch {
      // compiled after another thread turned the flag off: again
    } finally {
      v8.setFlagsFromString('--no-experimental-wasm-relaxed-simd');
    }
  }
  return null;
}

/** Instantiates the module on the wasm backend's memory; returns why not, or null. */
export function loadWinograd(backend: BackendWasm): string | null {
  if (mod) return null;
  const memory = (backend.wasm as unknown as { asm?: { memory?: unknown } }).asm?.memory;
  if (!(memory instanceof WA.Memory)) return 'the tfjs wasm module does not export its memory';
  try {
    const relaxed = relaxedModule(Uint8Array.from(atob(WINOGRAD_RELAXED_WASM_BASE64), (ch) => ch.charCodeAt(0)));
    const compiled = relaxed ?? new WA.Module(Uint8Array.from(atob(WINOGRAD_WASM_BASE64), (ch) => ch.charCodeAt(0)));
    mod = new WA.Instance(compiled, { env: { memory } }).exports as unknown as WinogradExports;
    flavor = relaxed ? 'relaxed-simd' : 'simd';
    return null;
  } catch (e) {
    return `Winograd wasm module failed to load: ${e instanceof Error ? e.message : String(e)}`;
  }
}

function ptr(backend: BackendWasm, t: tf.TensorInfo): number {
  const entry = backend.dataIdMap.get(t.dataId);
  if (!entry) throw new Error('winograd kernel: tensor is not on the wasm backend');
  return entry.memoryOffset;
}

/** One Winograd convolution's geometry: x [N,H,W,Ci] → out [N,OH,OW,Co]. */
interface Geom { N: number; H: number; W: number; Ci: number; Co: number; OH: number; OW: number; padT: number; padL: number }

/**
 * Bytes of transformed input and products per block of tiles: they should stay in L2 (512 KiB;
 * 128 KiB measured alike, 1–2 MiB slower in one loaded run). OSTEON_WINOGRAD_BLOCK overrides it.
 */
let blockBytes = 1 << 19;

/**
 * OSTEON_WINOGRAD and OSTEON_WINOGRAD_BLOCK, checked where the kernels are registered: a typo must
 * not pass for the default, and a block of NaN bytes would never end its loop over tiles.
 */
function checkEnv(): void {
  const w = env('OSTEON_WINOGRAD');
  if (w !== undefined && w !== '' && !['0', '2', '4'].includes(w)) {
    throw new OsteonError({ code: 'usage', field: 'OSTEON_WINOGRAD', message: `OSTEON_WINOGRAD=${w}: expected 0 (off), 2 or 4 (one tile size), or unset` });
  }
  const b = env('OSTEON_WINOGRAD_BLOCK');
  if (b === undefined || b === '') return;
  const n = Number(b);
  if (!Number.isInteger(n) || n < 4096) {
    throw new OsteonError({ code: 'usage', field: 'OSTEON_WINOGRAD_BLOCK', message: `OSTEON_WINOGRAD_BLOCK=${b}: expected a whole number of bytes ≥ 4096` });
  }
  blockBytes = n;
}

/** The tile size for this geometry: F(4×4) where the image holds whole 4×4 tiles, else F(2×2). */
function tileFor(g: Geom): 2 | 4 {
  if (tile) return tile;
  return Math.min(g.OH, g.OW) >= 8 ? 4 : 2;
}

/** Tiles per block: the block's transformed input and products (or output gradients) stay in L2. */
function blockTiles(g: Geom, m: number): number {
  const a2 = (m + 2) * (m + 2);
  const tiles = g.N * Math.ceil(g.OH / m) * Math.ceil(g.OW / m);
  return Math.max(4, Math.min(4 * Math.ceil(tiles / 4), 4 * Math.floor(blockBytes / (16 * a2 * (g.Ci + g.Co)))));
}

function run(backend: BackendWasm, g: Geom, x: tf.TensorInfo, filter: tf.TensorInfo, bias: tf.TensorInfo | null, relu: boolean, flip: boolean): tf.TensorInfo {
  const m = tileFor(g);
  const a2 = (m + 2) * (m + 2);
  const T = blockTiles(g, m);
  const out = backend.makeOutput([g.N, g.OH, g.OW, g.Co], 'float32');
  const U = backend.makeOutput([a2 * g.Ci * g.Co], 'float32');
  const scratch = backend.makeOutput([a2 * T * (g.Ci + g.Co) + 8 * a2], 'float32');
  const k = mod!;
  k.filterTransform(ptr(backend, filter), ptr(backend, U), g.Ci, g.Co, m, flip ? 1 : 0, ptr(backend, scratch)); // scratch ≥ α²·Co floats
  k.conv(ptr(backend, x), ptr(backend, U), bias ? ptr(backend, bias) : 0, ptr(backend, out), ptr(backend, scratch), g.N, g.H, g.W, g.Ci, g.Co, g.OH, g.OW, g.padT, g.padL, relu ? 1 : 0, m, T);
  free(backend, U, scratch);
  return out;
}

const ones = (v: number | number[] | undefined): boolean => v === undefined || (Array.isArray(v) ? v.every((d) => d === 1) : v === 1);

/** The geometry of a forward 3×3 stride-1 NHWC float32 convolution this module takes, else null. */
function forwardGeom(x: tf.TensorInfo | undefined, filter: tf.TensorInfo | undefined, attrs: tf.Conv2DAttrs): Geom | null {
  if (!x || !filter || x.dtype !== 'float32' || filter.dtype !== 'float32' || x.shape.length !== 4 || filter.shape.length !== 4) return null;
  if ((attrs.dataFormat ?? 'NHWC') !== 'NHWC' || !ones(attrs.strides) || !ones(attrs.dilations)) return null;
  const [KH, KW, Ci, Co] = filter.shape;
  if (KH !== 3 || KW !== 3 || x.shape[3] !== Ci || Ci % 4 !== 0 || Co % 4 !== 0 || Ci === 0 || Co === 0) return null;
  const ci = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filter.shape as [number, number, number, number], attrs.strides, attrs.dilations, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  const { top, left } = ci.padInfo;
  if (top < 0 || left < 0 || top > 2 || left > 2 || ci.outHeight <= 0 || ci.outWidth <= 0 || x.shape[0] === 0) return null;
  return { N: x.shape[0], H: x.shape[1], W: x.shape[2], Ci, Co, OH: ci.outHeight, OW: ci.outWidth, padT: top, padL: left };
}

function count(name: string): void {
  counts.set(name, (counts.get(name) ?? 0) + 1);
}

type Wrap = (fallback: tf.KernelFunc) => tf.KernelFunc;

const conv2d: Wrap = (fallback) => (args) => {
  if (!mod || !enabled) return fallback(args);
  const { x, filter } = args.inputs;
  const g = forwardGeom(x, filter, args.attrs as unknown as tf.Conv2DAttrs);
  if (!g) return fallback(args);
  count('Conv2D');
  return run(asWasm(args.backend), g, x!, filter!, null, false, false);
};

const fusedConv2d: Wrap = (fallback) => (args) => {
  if (!mod || !enabled) return fallback(args);
  const { x, filter, bias, preluActivationWeights } = args.inputs;
  const attrs = args.attrs as unknown as tf.FusedConv2DAttrs;
  if (preluActivationWeights || (attrs.activation !== 'linear' && attrs.activation !== 'relu')) return fallback(args);
  const g = forwardGeom(x, filter, attrs);
  if (!g) return fallback(args);
  if (bias && (bias.dtype !== 'float32' || tf.util.sizeFromShape(bias.shape) !== g.Co || bias.shape[bias.shape.length - 1] !== g.Co)) return fallback(args);
  count('FusedConv2D');
  return run(asWasm(args.backend), g, x!, filter!, bias ?? null, attrs.activation === 'relu', false);
};

/** dx of a 3×3 stride-1 convolution: dy convolved with the rotated filter, channel axes swapped. */
const conv2dBackpropInput: Wrap = (fallback) => (args) => {
  if (!mod || !enabled) return fallback(args);
  const { dy, filter } = args.inputs;
  const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  if (!dy || !filter || dy.dtype !== 'float32' || filter.dtype !== 'float32' || dy.shape.length !== 4 || filter.shape.length !== 4) return fallback(args);
  if ((attrs.dataFormat ?? 'NHWC') !== 'NHWC' || !ones(attrs.strides)) return fallback(args);
  const [KH, KW, A, B] = filter.shape;
  if (KH !== 3 || KW !== 3 || dy.shape[3] !== B || A % 4 !== 0 || B % 4 !== 0 || A === 0 || B === 0) return fallback(args);
  const inputShape = attrs.inputShape as [number, number, number, number];
  const ci = tf.backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  const { top, left } = ci.padInfo;
  if (top < 0 || left < 0 || top > 2 || left > 2 || ci.outHeight !== dy.shape[1] || ci.outWidth !== dy.shape[2] || inputShape[0] !== dy.shape[0]) return fallback(args);
  if (inputShape[0] === 0 || inputShape[1] === 0 || inputShape[2] === 0) return fallback(args);
  count('Conv2DBackpropInput');
  const g: Geom = { N: dy.shape[0], H: dy.shape[1], W: dy.shape[2], Ci: B, Co: A, OH: inputShape[1], OW: inputShape[2], padT: 2 - top, padL: 2 - left };
  return run(asWasm(args.backend), g, dy, filter, null, false, true);
};

/**
 * dW of a 3×3 stride-1 convolution: Σ over tiles of the transformed input times the transformed
 * output gradient (A dY Aᵀ), per point of the tile, then Gᵀ dU G.
 */
const conv2dBackpropFilter: Wrap = (fallback) => (args) => {
  if (!mod || !enabled) return fallback(args);
  const { x, dy } = args.inputs;
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  if (!x || !dy || x.dtype !== 'float32' || dy.dtype !== 'float32' || x.shape.length !== 4 || dy.shape.length !== 4) return fallback(args);
  if ((attrs.dataFormat ?? 'NHWC') !== 'NHWC' || !ones(attrs.strides)) return fallback(args);
  const [KH, KW, Ci, Co] = attrs.filterShape;
  if (KH !== 3 || KW !== 3 || x.shape[3] !== Ci || dy.shape[3] !== Co || Co % 4 !== 0 || Ci === 0 || Co === 0) return fallback(args);
  const ci = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  const { top, left } = ci.padInfo;
  if (top < 0 || left < 0 || top > 2 || left > 2 || ci.outHeight !== dy.shape[1] || ci.outWidth !== dy.shape[2] || x.shape[0] !== dy.shape[0] || x.shape[0] === 0 || ci.outHeight === 0 || ci.outWidth === 0) return fallback(args);
  count('Conv2DBackpropFilter');
  const backend = asWasm(args.backend);
  const g: Geom = { N: x.shape[0], H: x.shape[1], W: x.shape[2], Ci, Co, OH: ci.outHeight, OW: ci.outWidth, padT: top, padL: left };
  const m = tileFor(g);
  // Input channels that are not a multiple of 4 (a network's first layer, e.g. 1 CT channel) are
  // padded with zero channels; the direct kernels are slow there (the SIMD one needs multiples of 4).
  const C4 = 4 * Math.ceil(Ci / 4);
  const gp: Geom = { ...g, Ci: C4 };
  const a2 = (m + 2) * (m + 2);
  const T = blockTiles(gp, m);
  const xp = C4 === Ci ? x : backend.makeOutput([g.N, g.H, g.W, C4], 'float32');
  const dW = backend.makeOutput([3, 3, C4, Co], 'float32');
  const scratch = backend.makeOutput([a2 * C4 * Co + a2 * T * (C4 + Co) + 8 * a2], 'float32');
  if (xp !== x) {
    const src = view(backend, x);
    const dst = view(backend, xp);
    dst.fill(0);
    for (let p = 0, q = 0; p < src.length; p += Ci, q += C4) for (let c = 0; c < Ci; c++) dst[q + c] = src[p + c];
  }
  mod.convFilterGrad(ptr(backend, xp), ptr(backend, dy), ptr(backend, dW), ptr(backend, scratch), g.N, g.H, g.W, C4, Co, g.OH, g.OW, top, left, m, T);
  free(backend, scratch);
  if (xp === x) return dW;
  free(backend, xp);
  const out = backend.makeOutput([3, 3, Ci, Co], 'float32');
  const src = view(backend, dW);
  const dst = view(backend, out);
  for (let t = 0; t < 9; t++) dst.set(src.subarray(t * C4 * Co, t * C4 * Co + Ci * Co), t * Ci * Co);
  free(backend, dW);
  return out;
};

/**
 * Conv3DBackpropFilterV2 for KD×3×3 filters, stride 1, no dilation: per depth tap kd, the input
 * depth slices that tap reads, batched [N·OD, H, W, C] (zeros in the depth padding), and dy as
 * [N·OD, OH, OW, CO] (its own buffer, reshaped) give dW[kd] through the registered
 * Conv2DBackpropFilter, i.e. the Winograd filter gradient above (on this thread when nested in
 * a split call). The forward and input-gradient 3D convolutions reach Winograd the same way,
 * through conv3d_slices.ts.
 */
const conv3dBackpropFilter: Wrap = (fallback) => (args) => {
  if (!mod || !enabled) return fallback(args);
  const { x, dy } = args.inputs;
  const attrs = args.attrs as unknown as tf.Conv3DBackpropFilterV2Attrs;
  if (!x || !dy || x.dtype !== 'float32' || dy.dtype !== 'float32' || x.shape.length !== 5 || dy.shape.length !== 5) return fallback(args);
  if (!ones(attrs.strides) || ((attrs as { dataFormat?: string }).dataFormat ?? 'NDHWC') !== 'NDHWC') return fallback(args);
  const [KD, KH, KW, C, CO] = attrs.filterShape;
  if (KH !== 3 || KW !== 3 || x.shape[4] !== C || dy.shape[4] !== CO || CO % 4 !== 0 || C === 0) return fallback(args);
  const ci = tf.backend_util.computeConv3DInfo(x.shape as [number, number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad);
  const [N, D, H, W] = x.shape;
  const { outDepth: OD, outHeight: OH, outWidth: OW } = ci;
  if (OD !== dy.shape[1] || OH !== dy.shape[2] || OW !== dy.shape[3] || N !== dy.shape[0] || N * OD * OH * OW === 0) return fallback(args);
  const bpf = tf.getKernel('Conv2DBackpropFilter', 'wasm');
  if (!bpf) return fallback(args);
  count('Conv3DBackpropFilterV2');
  const backend = asWasm(args.backend);
  const { front, top, bottom, left, right } = ci.padInfo;
  const slice = H * W * C;
  const tap = 9 * C * CO;
  const dW = backend.makeOutput(attrs.filterShape, 'float32');
  const dy2 = reshaped(dy, [N * OD, OH, OW, CO]);
  for (let kd = 0; kd < KD; kd++) {
    const slab = backend.makeOutput([N * OD, H, W, C], 'float32');
    const xs = view(backend, x);
    const sv = view(backend, slab);
    let any = false;
    for (let n = 0; n < N; n++) {
      for (let od = 0; od < OD; od++) {
        const id = od - front + kd;
        const dst = (n * OD + od) * slice;
        if (id < 0 || id >= D) sv.fill(0, dst, dst + slice);
        else {
          sv.set(xs.subarray((n * D + id) * slice, (n * D + id + 1) * slice), dst);
          any = true;
        }
      }
    }
    if (!any) {
      free(backend, slab);
      view(backend, dW).fill(0, kd * tap, (kd + 1) * tap);
      continue;
    }
    const g = bpf.kernelFunc({
      inputs: { x: slab, dy: dy2 },
      backend,
      attrs: { strides: [1, 1], pad: [[0, 0], [top, bottom], [left, right], [0, 0]], dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: [3, 3, C, CO] } as unknown as tf.NamedAttrMap,
    }) as tf.TensorInfo;
    view(backend, dW).set(view(backend, g), kd * tap);
    free(backend, slab, g);
  }
  return dW;
};

const kernels: ReadonlyArray<[string, Wrap]> = [
  ['Conv2D', conv2d],
  ['FusedConv2D', fusedConv2d],
  ['Conv2DBackpropInput', conv2dBackpropInput],
  ['Conv2DBackpropFilter', conv2dBackpropFilter],
  ['Conv3DBackpropFilterV2', conv3dBackpropFilter],
];

let status: string | null = null;
const inner = new WeakMap<tf.KernelFunc, tf.KernelFunc>();

/** The kernel a Winograd wrapper falls back to (tests check which kernel that is), else `f`. */
export function unwrapWinograd(f: tf.KernelFunc): tf.KernelFunc {
  return inner.get(f) ?? f;
}

/** Why the Winograd kernels are not in use (null: they are, or the backend is not wasm). */
export function winogradUnavailable(): string | null {
  return status;
}

/**
 * Wraps the registered wasm Conv2D, FusedConv2D, Conv2DBackpropInput, Conv2DBackpropFilter and
 * Conv3DBackpropFilterV2 (each falls back to what it wraps); `replaced` records the kernel each replaced. Names
 * 'wasm-winograd:Conv2D'. With OSTEON_WINOGRAD=0 nothing is registered.
 */
export function registerWinogradKernels(replaced: Map<string, tf.KernelFunc>): string[] {
  checkEnv();
  const backend = tf.findBackend('wasm');
  if (env('OSTEON_WINOGRAD') === '0') status = 'turned off (OSTEON_WINOGRAD=0)';
  else status = backend ? loadWinograd(asWasm(backend)) : 'the wasm backend is not registered';
  if (status) return [];
  const names: string[] = [];
  for (const [kernelName, wrap] of kernels) {
    const old = tf.getKernel(kernelName, 'wasm') as tf.KernelConfig | undefined;
    if (!old) continue;
    tf.unregisterKernel(kernelName, 'wasm');
    if (!replaced.has(kernelName)) replaced.set(kernelName, old.kernelFunc);
    const fn = wrap(old.kernelFunc);
    inner.set(fn, old.kernelFunc);
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: fn });
    names.push(`wasm-winograd:${kernelName}`);
  }
  return names;
}
