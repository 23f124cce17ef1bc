/**
 * The U-Net training step on the wasm+dnnl rung without the tfjs engine and tape: the forward
 * pass, the backward pass and the fused loss call the addon's kernels (native/dnnl/src) directly,
 * on buffers allocated once per batch shape (a plan), then the optimizer's applyGradients (the
 * fused Adam of loss-adam.ts) updates the tfjs variables as it does after `minimize`, so the
 * optimizer state, checkpoints and resume are those of the tfjs step.
 *
 * The same kernels as the tfjs step on this rung (OsteonConvBias, OsteonReluBiasGrad, the conv
 * backprops, OsteonConvTransposeBias(Grad), MaxPool, OsteonMaxPoolSkipGrad, Concat, SplitV, Sum)
 * in the same order of arithmetic, so results match it within float rounding. What goes: the
 * engine's per-kernel bookkeeping and tape, tensor allocation and disposal per kernel (66
 * Identity clones a 2D step), the geometry computed per call, and the gradient passes between
 * kernels (the skip's gradient is added inside the pool gradient, as before).
 *
 * The loss runs through the head's own loss function (heads.ts) under tf.valueAndGrad on the
 * logits: the fused native loss where it applies (one call), the tfjs ops otherwise.
 *
 * Covered: models without normalisation (UNetConfig.normalization 'none'), 2D and 3D, float32,
 * on the wasm backend with the native kernels and the fused loss and Adam active (not OSTEON_FUSE=0,
 * not OSTEON_NATIVE=0), an addon with every entry point used here. `nativeStepBlocker` says why
 * not otherwise; then ../step.ts runs the tfjs step. OSTEON_NATIVE_STEP=0 (or setNativeStep(false))
 * turns it off, for A/B comparisons.
 *
 * `--profile` / OSTEON_PROFILE=1: each addon call is a span (profile.ts) named after the kernel
 * the tfjs step runs for it, so both tables read the same.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { geomFrom2D, geomFrom3D } from '../kernels/geometry.ts';
import { alloc, asWasm, view } from '../kernels/wasm_heap.ts';
import type { Params, UNetConfig } from '../model/unet.ts';
import { sizeMultiple } from '../model/unet.ts';
import { profileSpan } from '../profile.ts';
import { loadNative, type DnnlAddon } from './addon.ts';
import { info2D, info3D } from './conv.ts';
import { BIAS, RELU, convGeometry, poolGeometry } from './geometry.ts';
import { fusionActive, lossWithGradInto } from './loss-adam.ts';
import { nativeKernelsActive } from './register.ts';

let enabled = true;
const counts = { steps: 0, errors: 0 };
let lastError: string | null = null;

/** Turns the native step on (the default) or off in this process, e.g. for A/B timings. */
export function setNativeStep(on: boolean): void {
  enabled = on;
}

/** Native steps run so far, and addon errors that sent a step back to the tfjs path. */
export function nativeStepCounts(): { steps: number; errors: number; lastError: string | null } {
  return { ...counts, lastError };
}

const ENTRY_POINTS = ['conv', 'deconv', 'reluBiasGrad', 'maxPool', 'maxPoolGradAdd', 'concatRows', 'splitRows', 'sumRows', 'lossFused', 'adamFused'] as const;

/** Why the native step does not apply to this model and input here, or null when it does. */
export function nativeStepBlocker(cfg: UNetConfig, x: tf.Tensor): string | null {
  if (!enabled || process.env.OSTEON_NATIVE_STEP === '0') return 'turned off (OSTEON_NATIVE_STEP=0)';
  if (cfg.normalization !== 'none') return `normalisation '${cfg.normalization}'`;
  // The pure-wasm rung fuses the loss and Adam too (kernels/simd/fused.ts); this step is the oneDNN rung's.
  if (!nativeKernelsActive()) return 'the oneDNN kernels are not registered (the pure-wasm rung)';
  if (!fusionActive()) return 'the fused loss and Adam do not run here (another backend, OSTEON_NATIVE=0, OSTEON_FUSE=0, or an addon without them)';
  const a = loadNative().addon as unknown as Record<string, unknown> | null;
  const missing = ENTRY_POINTS.filter((k) => typeof a?.[k] !== 'function');
  if (missing.length) return `the addon lacks ${missing.join(', ')}`;
  const nd = cfg.spatialDims;
  if (x.dtype !== 'float32' || x.rank !== nd + 2 || x.shape[nd + 1] !== cfg.inChannels) return `input [${x.shape.join(',')}] ${x.dtype}`;
  const m = sizeMultiple(cfg);
  if (x.shape.slice(1, nd + 1).some((s) => s % m !== 0) || x.size === 0) return `input [${x.shape.join(',')}] not a multiple of ${m}`;
  if (!asWasm(tf.backend()).dataIdMap.has(x.dataId)) return 'input not on the wasm heap';
  return null;
}

/** A conv + bias (+ ReLU) layer of the plan: its geometries (forward with the post-ops, backward without), parameters and gradients. */
interface Layer {
  fwd: Int32Array;
  bwd: Int32Array;
  w: string;
  b: string;
  rows: number;
  co: number;
}

/** A decoder stage's transposed conv + bias. */
interface Up {
  /** The deconvolution (forward, and filter + bias gradient), flags BIAS. */
  deconv: Int32Array;
  /** The same geometry as a plain convolution: the input gradient (tfjs: conv2d(dy, W)). */
  conv: Int32Array;
  w: string;
  b: string;
}

type LossFn = (logits: tf.Tensor, target: never) => { total: tf.Scalar; components: Record<string, tf.Scalar | undefined> };

export interface StepResult {
  total: tf.Scalar;
  components: Record<string, tf.Scalar>;
}

const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

class Plan {
  readonly buffers: tf.Tensor[] = [];
  readonly key: string;
  /** Per level: conv0 output, conv1 output (the skip), pool output (all but the last level). */
  readonly a: tf.Tensor[] = [];
  readonly e: tf.Tensor[] = [];
  readonly p: tf.Tensor[] = [];
  /** Per decoder level: up-sampled, concatenated, conv0 and conv1 outputs. */
  readonly u: tf.Tensor[] = [];
  readonly c: tf.Tensor[] = [];
  readonly d0: tf.Tensor[] = [];
  readonly d1: tf.Tensor[] = [];
  readonly logits: tf.Tensor;
  /** The loss's gradient w.r.t. the logits (the fused loss writes it here). */
  readonly glogits: tf.Tensor;
  /** Backward scratch per level: two gradient buffers and the skip's gradient; one ReLU-masked gradient buffer for all. */
  readonly q: tf.Tensor[] = [];
  readonly r: tf.Tensor[] = [];
  readonly g: tf.Tensor | null = null;
  readonly k: tf.Tensor[] = [];
  /** Parameter gradients by parameter name, in the params' order. */
  readonly grads = new Map<string, tf.Tensor>();
  readonly enc: Array<[Layer, Layer]> = [];
  readonly dec: Array<[Layer, Layer]> = [];
  readonly ups: Up[] = [];
  readonly head: Layer;
  readonly pools: Int32Array[] = [];
  /** Voxels (rows) per level. */
  readonly rows: number[] = [];

  constructor(readonly cfg: UNetConfig, params: Params, xShape: number[]) {
    this.key = xShape.join(',');
    try {
      const nd = cfg.spatialDims, f = cfg.filters, L = f.length, n = xShape[0];
      const b = asWasm(tf.backend());
      const buf = (shape: number[]): tf.Tensor => {
        const t = tf.keep(tf.engine().makeTensorFromTensorInfo(alloc(b, shape)));
        this.buffers.push(t);
        return t;
      };
      const spatial = (l: number): number[] => xShape.slice(1, nd + 1).map((s) => s >> l);
      const shape = (l: number, ch: number): number[] => [n, ...spatial(l), ch];
      const k3 = Array<number>(nd).fill(3), k1 = Array<number>(nd).fill(1), k2 = Array<number>(nd).fill(2);
      const geometry = (xs: number[], fs: number[], stride: number, pad: 'same' | 'valid', flags: number): Int32Array => {
        const g = nd === 2 ? geomFrom2D(info2D(xs, fs, { strides: stride, pad })) : geomFrom3D(info3D(xs, fs, stride, pad));
        const geo = convGeometry(g, nd, flags);
        if (!geo) throw new Error(`native step: no oneDNN geometry for x [${xs.join(',')}], filter [${fs.join(',')}]`);
        return geo;
      };
      const layer = (name: string, xs: number[], cin: number, cout: number, k: number[], relu: boolean): Layer => {
        const fs = [...k, cin, cout];
        const pad = relu ? 'same' : 'valid';
        return { fwd: geometry(xs, fs, 1, pad, BIAS | (relu ? RELU : 0)), bwd: geometry(xs, fs, 1, pad, 0), w: `${name}.w`, b: `${name}.b`, rows: prod(xs) / cin, co: cout };
      };
      for (let l = 0; l < L; l++) {
        this.rows.push(n * prod(spatial(l)));
        const cin = l === 0 ? cfg.inChannels : f[l - 1];
        const xs = l === 0 ? xShape : shape(l, f[l - 1]);
        this.enc.push([layer(`enc${l}.conv0`, xs, cin, f[l], k3, true), layer(`enc${l}.conv1`, shape(l, f[l]), f[l], f[l], k3, true)]);
        this.a.push(buf(shape(l, f[l])));
        this.e.push(buf(shape(l, f[l])));
        if (l < L - 1) {
          this.p.push(buf(shape(l + 1, f[l])));
          const s = spatial(l), o = spatial(l + 1);
          const [d, h, w] = nd === 3 ? s : [1, ...s];
          const [od, oh, ow] = nd === 3 ? o : [1, ...o];
          this.pools.push(poolGeometry({ n, d, h, w, c: f[l], od, oh, ow, kd: nd === 3 ? 2 : 1, kh: 2, kw: 2, sd: nd === 3 ? 2 : 1, sh: 2, sw: 2, pf: 0, pt: 0, pl: 0 }));
        }
        // q: the gradients entering a conv block (f), the concat's (2f) and the pool input's (f[l-1]); r: within a block (f).
        this.q.push(buf([this.rows[l] * (l > 0 ? Math.max(2 * f[l], f[l - 1]) : 2 * f[l])]));
        this.r.push(buf([this.rows[l] * f[l]]));
        if (l < L - 1) this.k.push(buf([this.rows[l] * f[l]]));
      }
      for (let l = 0; l < L - 1; l++) {
        const us = shape(l, f[l]);
        const fs = [...k2, f[l], f[l + 1]];
        this.ups[l] = { deconv: geometry(us, fs, 2, 'valid', BIAS), conv: geometry(us, fs, 2, 'valid', 0), w: `dec${l}.up.w`, b: `dec${l}.up.b` };
        this.u[l] = buf(us);
        this.c[l] = buf(shape(l, 2 * f[l]));
        this.dec[l] = [layer(`dec${l}.conv0`, shape(l, 2 * f[l]), 2 * f[l], f[l], k3, true), layer(`dec${l}.conv1`, us, f[l], f[l], k3, true)];
        this.d0[l] = buf(us);
        this.d1[l] = buf(us);
      }
      // An addon without the in-place ReLU + bias gradient: one masked-gradient buffer for the largest level.
      if (typeof loadNative().addon?.reluBiasGradInPlace !== 'function') this.g = buf([Math.max(...this.rows.map((r, l) => r * f[l]))]);
      this.head = layer('head', shape(0, f[0]), f[0], cfg.outChannels, k1, false);
      this.logits = buf(shape(0, cfg.outChannels));
      this.glogits = buf(shape(0, cfg.outChannels));
      for (const [name, v] of params) this.grads.set(name, buf([...v.shape]));
    } catch (e) {
      // A partly built plan (e.g. the wasm heap's limit reached) frees what it allocated.
      this.dispose();
      throw e;
    }
  }

  private readonly ids = new Set<unknown>();
  private views = new Map<unknown, Float32Array>();
  private heap: ArrayBufferLike | null = null;

  /** A view of a tensor on the heap; the plan's own buffers' views are kept until the heap grows. */
  view(b: BackendWasm, t: tf.TensorInfo): Float32Array {
    if (this.ids.size === 0) for (const x of this.buffers) this.ids.add(x.dataId);
    if (!this.ids.has(t.dataId)) return view(b, t);
    // The module's memory (Emscripten: HEAPU8, replaced when the heap grows).
    const heap = (b.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer;
    if (heap !== this.heap) {
      this.views = new Map();
      this.heap = heap;
    }
    let a = this.views.get(t.dataId);
    if (!a) {
      a = view(b, t);
      this.views.set(t.dataId, a);
    }
    return a;
  }

  dispose(): void {
    tf.dispose(this.buffers);
    this.buffers.length = 0;
    this.ids.clear();
    this.views.clear();
  }
}

/**
 * The native training step of one model: `run` returns null when it does not apply (the caller
 * then runs the tfjs step), else does the whole step, the optimizer's update included.
 */
export class NativeNetStep {
  private plan: Plan | null = null;
  private broken = false;

  constructor(private readonly params: Params, private readonly cfg: UNetConfig, private readonly loss: LossFn, private readonly optimizer: tf.Optimizer,
    private readonly lossInputHook?: (logits: tf.Tensor) => tf.Tensor) {}

  /** Why `run` would hand this input back, or null. */
  blocker(x: tf.Tensor): string | null {
    if (this.broken) return `an addon error earlier in this run: ${lastError}`;
    return nativeStepBlocker(this.cfg, x);
  }

  run(x: tf.Tensor, target: unknown): StepResult | null {
    if (this.blocker(x) !== null) return null;
    const key = x.shape.join(',');
    if (this.plan?.key !== key) {
      this.plan?.dispose();
      this.plan = null;
      try {
        this.plan = new Plan(this.cfg, this.params, [...x.shape]);
      } catch (e) {
        // e.g. the wasm heap's limit: the tfjs step frees as it goes and may still fit.
        counts.errors++;
        lastError = e instanceof Error ? e.message : String(e);
        this.broken = true;
        return null;
      }
    }
    const plan = this.plan;
    const addon = loadNative().addon!;
    const b = asWasm(tf.backend());
    let res: StepResult | null = null;
    /** The valueAndGrad path's gradient (the fused path writes the plan's buffer). */
    let glogits: tf.Tensor | null = null;
    try {
      forwardPass(addon, b, plan, this.params, x);
      // The head's own loss (heads.ts), value and gradient w.r.t. the logits: the fused native
      // loss writes the gradient into the plan's buffer (no tape); where it did not run (a loss
      // input hook, a head on its tfjs ops), tf.valueAndGrad over the head's ops.
      const lossOf = (l: tf.Tensor): Record<string, tf.Scalar> => tf.tidy(() => {
        const r = this.loss(l, target as never);
        const out: Record<string, tf.Scalar> = { '': r.total };
        for (const [k, v] of Object.entries(r.components)) if (v) out[k] = v;
        return out;
      });
      let grad: tf.Tensor = plan.glogits;
      if (!this.lossInputHook) {
        const { result, ran } = lossWithGradInto(plan.logits, plan.glogits, () => lossOf(plan.logits));
        if (ran) res = split(result);
        else tf.dispose(Object.values(result));
      }
      if (!res) {
        let comps: Record<string, tf.Scalar> = {};
        const vg = tf.valueAndGrad((l: tf.Tensor) => {
          const r = split(lossOf(this.lossInputHook ? this.lossInputHook(l) : l));
          comps = Object.fromEntries(Object.entries(r.components).map(([k, v]) => [k, tf.keep(v)]));
          return r.total;
        });
        const vgOut = vg(plan.logits);
        res = { total: vgOut.value as tf.Scalar, components: comps };
        grad = glogits = vgOut.grad;
      }
      backwardPass(addon, b, plan, this.params, x, grad);
    } catch (e) {
      counts.errors++;
      lastError = e instanceof Error ? e.message : String(e);
      this.broken = true;
      if (res) tf.dispose([res.total, ...Object.values(res.components)]);
      return null;
    } finally {
      glogits?.dispose();
    }
    const named: tf.NamedTensorMap = {};
    for (const [name, v] of this.params) named[v.name] = plan.grads.get(name)!;
    this.optimizer.applyGradients(named);
    counts.steps++;
    return res;
  }

  dispose(): void {
    this.plan?.dispose();
    this.plan = null;
  }
}

function split(r: Record<string, tf.Scalar>): StepResult {
  const { '': total, ...components } = r;
  return { total, components };
}

function names(nd: number): { fwd: string; data: string; filter: string; conv: string; pool: string } {
  return nd === 2
    ? { fwd: 'OsteonConvBias', data: 'Conv2DBackpropInput', filter: 'Conv2DBackpropFilter', conv: 'Conv2D', pool: 'MaxPool' }
    : { fwd: 'OsteonConvBias', data: 'Conv3DBackpropInputV2', filter: 'Conv3DBackpropFilterV2', conv: 'Conv3D', pool: 'MaxPool3D' };
}

const span = (name: string, fn: () => void): void => profileSpan(name, 'native', fn);

function forwardPass(A: DnnlAddon, b: BackendWasm, p: Plan, params: Params, x: tf.Tensor): void {
  const v = (t: tf.TensorInfo): Float32Array => p.view(b, t);
  const P = (name: string): Float32Array => v(params.get(name)!);
  const nm = names(p.cfg.spatialDims);
  const f = p.cfg.filters, L = f.length;
  const conv = (ly: Layer, xin: tf.TensorInfo, y: tf.TensorInfo): void => span(nm.fwd, () => A.conv(0, ly.fwd, v(xin), P(ly.w), v(y), P(ly.b)));
  let h: tf.TensorInfo = x;
  for (let l = 0; l < L; l++) {
    conv(p.enc[l][0], h, p.a[l]);
    conv(p.enc[l][1], p.a[l], p.e[l]);
    if (l === L - 1) break;
    span(nm.pool, () => A.maxPool(p.pools[l], v(p.e[l]), v(p.p[l])));
    h = p.p[l];
  }
  h = p.e[L - 1];
  for (let l = L - 2; l >= 0; l--) {
    const up = p.ups[l];
    span('OsteonConvTransposeBias', () => A.deconv!(0, up.deconv, v(h), P(up.w), v(p.u[l]), P(up.b)));
    span('Concat', () => A.concatRows(p.rows[l], [v(p.e[l]), v(p.u[l])], [f[l], f[l]], v(p.c[l])));
    conv(p.dec[l][0], p.c[l], p.d0[l]);
    conv(p.dec[l][1], p.d0[l], p.d1[l]);
    h = p.d1[l];
  }
  conv(p.head, h, p.logits);
}

function backwardPass(A: DnnlAddon, b: BackendWasm, p: Plan, params: Params, x: tf.Tensor, glogits: tf.Tensor): void {
  const v = (t: tf.TensorInfo): Float32Array => p.view(b, t);
  const part = (t: tf.TensorInfo, n: number): Float32Array => v(t).subarray(0, n);
  const P = (name: string): Float32Array => v(params.get(name)!);
  const G = (name: string): Float32Array => v(p.grads.get(name)!);
  const nm = names(p.cfg.spatialDims);
  const f = p.cfg.filters, L = f.length;
  const lastMax = p.cfg.spatialDims === 3;
  // y = relu(conv(x) + b): the ReLU-masked gradient and db in one pass, then dW and (unless dx is null) dx.
  // The incoming gradient is dead once masked: masked in place where the addon can (no separate
  // output's write-allocate traffic), else into the plan's one masked-gradient buffer.
  const inPlace = typeof A.reluBiasGradInPlace === 'function';
  const back = (ly: Layer, xin: tf.TensorInfo, y: tf.TensorInfo, dy: [tf.TensorInfo, number], dx: [tf.TensorInfo, number] | null): void => {
    const n = ly.rows * ly.co;
    const g = inPlace ? dy[0] : p.g!;
    if (inPlace) span('OsteonReluBiasGrad', () => A.reluBiasGradInPlace!(ly.rows, ly.co, v(y), part(g, n), G(ly.b)));
    else span('OsteonReluBiasGrad', () => A.reluBiasGrad(ly.rows, ly.co, v(y), part(dy[0], n), part(g, n), G(ly.b)));
    span(nm.filter, () => A.conv(2, ly.bwd, v(xin), part(g, n), G(ly.w), null));
    if (dx) span(nm.data, () => A.conv(1, ly.bwd, part(g, n), P(ly.w), part(dx[0], dx[1]), null));
  };
  // The linear head: db = Σ dy, dW, dx.
  const hd = p.head;
  const hIn = L > 1 ? p.d1[0] : p.e[0];
  span('Sum', () => A.sumRows(hd.rows, hd.co, v(glogits), G(hd.b)));
  span(nm.filter, () => A.conv(2, hd.bwd, v(hIn), v(glogits), G(hd.w), null));
  span(nm.data, () => A.conv(1, hd.bwd, v(glogits), P(hd.w), part(p.q[0], p.rows[0] * f[0]), null));
  for (let l = 0; l < L - 1; l++) {
    const m = p.rows[l];
    back(p.dec[l][1], p.d0[l], p.d1[l], [p.q[l], m * f[l]], [p.r[l], m * f[l]]);
    back(p.dec[l][0], p.c[l], p.d0[l], [p.r[l], m * f[l]], [p.q[l], m * 2 * f[l]]);
    span('SplitV', () => A.splitRows(m, part(p.q[l], m * 2 * f[l]), [f[l], f[l]], [v(p.k[l]), part(p.r[l], m * f[l])]));
    const up = p.ups[l];
    const low = l + 1 === L - 1 ? p.e[l + 1] : p.d1[l + 1];
    span('OsteonConvTransposeBiasGrad', () => A.deconv!(2, up.deconv, v(low), part(p.r[l], m * f[l]), G(up.w), G(up.b)));
    span(nm.conv, () => A.conv(0, up.conv, part(p.r[l], m * f[l]), P(up.w), part(p.q[l + 1], p.rows[l + 1] * f[l + 1]), null));
  }
  for (let l = L - 1; l >= 0; l--) {
    const m = p.rows[l];
    // The skip's gradient plus the pool's, written over the skip's (2x2 tiles: each element read, then written once).
    const ge = l < L - 1 ? p.k[l] : p.q[l];
    if (l < L - 1) {
      span('OsteonMaxPoolSkipGrad', () => A.maxPoolGradAdd!(p.pools[l], v(p.e[l]), part(p.q[l + 1], p.rows[l + 1] * f[l]), v(p.k[l]), lastMax, v(p.k[l])));
    }
    back(p.enc[l][1], p.a[l], p.e[l], [ge, m * f[l]], [p.r[l], m * f[l]]);
    back(p.enc[l][0], l === 0 ? x : p.p[l - 1], p.a[l], [p.r[l], m * f[l]], l > 0 ? [p.q[l], m * f[l - 1]] : null);
  }
}
