/**
 * The training loss and Adam fused into single multi-threaded native calls on the
 * wasm+dnnl rung (native/dnnl/src/loss.cc, adam.cc); every other rung keeps the tfjs ops.
 *
 * - `nativeFusedHeadLoss` (installed as ../fusion.ts's fusedHeadLoss by register.ts): BCE-with-logits (pos_weight), softmax CE (class weights) and soft Dice (only
 *   when weighted) of a head, value and gradient w.r.t. the logits in one pass, wrapped in a
 *   tf.customGrad op: the backward pass multiplies the saved gradient by dy.
 * - `FusedAdam`: a tf.AdamOptimizer whose applyGradients updates every variable's m, v and
 *   weights in one call. It keeps the base class's moment variables, names and getWeights /
 *   setWeights, so checkpoints (checkpoint.ts) and resume read and write the same state.
 *
 * On the pure-wasm rung (no addon) both run in Osteon's SIMD module instead
 * (../kernels/simd/fused.ts simdHeadLoss, simdAdam): on the calling thread, with the same terms
 * and normalisations (Dice only when weighted), Adam to the bit of tf.train.adam.
 *
 * Both fall back to the tfjs path whenever the fused one does not apply (another backend, the
 * addon without these entry points, OSTEON_FUSE=0 (the one switch for every fusion; OSTEON_FUSED=0 still works), a tensor not on the wasm heap).
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { alloc, asWasm, view } from '../kernels/wasm_heap.ts';
import { simdAdam, simdHeadLoss } from '../kernels/simd/fused.ts';
import { simdModule } from '../kernels/simd/simd.ts';
import type { FusedLossResult, FusedLossSpec } from '../fusion.ts';
import { profileSpan } from '../profile.ts';
import { loadNative, type DnnlAddon } from './addon.ts';
import { nativeKernelsActive } from './register.ts';

let enabled = true;
const counts = { loss: 0, adam: 0 };

/** Fused loss and Adam calls so far (tests check that the fused path really ran). */
export function fusedCounts(): { loss: number; adam: number } {
  return { ...counts };
}

/** Turns the fused loss and Adam off (true: on, the default), e.g. to compare both paths in one process; returns the old setting. */
export function setFusion(on: boolean): boolean {
  const old = enabled;
  enabled = on;
  return old;
}

/**
 * Where the fused loss and Adam run now: the addon (wasm backend with the native kernels), the
 * SIMD module (pure wasm), or null (another backend, switched off: run the tfjs ops).
 */
function fusedAddon(): DnnlAddon | 'simd' | null {
  if (!enabled || (process.env.OSTEON_FUSE === '0' || process.env.OSTEON_FUSED === '0')) return null;
  if (tf.getBackend() !== 'wasm') return null;
  if (!nativeKernelsActive()) return simdModule() ? 'simd' : null;
  const a = loadNative().addon;
  return a && typeof a.lossFused === 'function' && typeof a.adamFused === 'function' ? a : null;
}

/** True when the fused loss and Adam run on the current backend. */
export function fusionActive(): boolean {
  return fusedAddon() !== null;
}

function onHeap(b: BackendWasm, ts: readonly tf.TensorInfo[]): boolean {
  return ts.every((t) => b.dataIdMap.has(t.dataId));
}

/**
 * The fused loss, or null when it does not apply here (then the caller runs the tfjs ops).
 * Logits `[N, ...spatial, C]` float32; the result's total is differentiable w.r.t. the logits.
 */
export function nativeFusedHeadLoss(logits: tf.Tensor, spec: FusedLossSpec): FusedLossResult | null {
  const addon = fusedAddon();
  if (!addon || logits.dtype !== 'float32' || logits.rank < 2) return null;
  const b = asWasm(tf.backend());
  const aux = [spec.bce?.targets, spec.ce?.labels].filter((t): t is tf.Tensor => t !== undefined);
  if (!onHeap(b, [logits, ...aux])) return null;
  const dice = spec.c > 0 && (spec.bce?.diceFrom != null || spec.ce?.diceFrom != null);
  if (addon === 'simd' && ((spec.bce && spec.bce.targets.dtype !== 'float32') || (spec.ce && spec.ce.labels.dtype !== 'int32'))) return null;
  const c = logits.shape[logits.rank - 1];
  const m = logits.size / c;
  const n = logits.shape[0];
  const { bce, ce } = spec;
  const dims = Int32Array.of(m, c, m / n, bce?.c0 ?? 0, bce?.n ?? 0, ce?.c0 ?? 0, ce?.k ?? 0,
    spec.c > 0 && bce?.diceFrom != null ? bce.diceFrom : -1, spec.c > 0 && ce?.diceFrom != null ? ce.diceFrom : -1, 0);
  const params = Float64Array.of(spec.a, spec.b, spec.c, spec.smoothNr, spec.smoothDr);
  const pw = bce ? Float32Array.from(bce.posWeight ?? Array<number>(bce.n).fill(1)) : null;
  const cw = ce?.weight ? Float32Array.from(ce.weight) : null;
  const out = new Float64Array(3);
  const tape = (tf.engine() as unknown as { isTapeOn(): boolean }).isTapeOn();

  const run = (x: tf.Tensor, grad: tf.TensorInfo | null): void => addon === 'simd' ? profileSpan('FusedLoss', 'wasm', () => {
    const r = simdHeadLoss(b, x, {
      m, c, a: spec.a, b: spec.b,
      bce: bce ? { c0: bce.c0, n: bce.n, targets: bce.targets, posWeight: pw! } : null,
      ce: ce ? { c0: ce.c0, k: ce.k, labels: ce.labels, weight: cw } : null,
      dice: dice ? { c: spec.c, sigFrom: bce?.diceFrom ?? null, softFrom: ce?.diceFrom ?? null, rowsPerSample: m / n, smoothNr: spec.smoothNr, smoothDr: spec.smoothDr } : null,
    }, grad);
    if (!r) throw new Error('fused loss: the SIMD module went away during a step');
    counts.loss++;
    out[0] = r[0];
    out[1] = r[1];
    out[2] = r[2];
  }) : profileSpan('FusedLoss', 'native', () => {
    counts.loss++;
    // Views only after the last allocation (the grad buffer): growing the heap detaches them.
    addon.lossFused!(dims, params, view(b, x), bce ? view(b, bce.targets) : null, ce ? (view(b, ce.labels) as unknown as Int32Array) : null,
      pw, cw, grad ? view(b, grad) : null, out);
  });

  let total: tf.Scalar;
  const into = gradInto;
  if (into && !tape && into.logits === logits) {
    // The native training step (net-step.ts): the gradient straight into its buffer, no tape.
    into.ran = true;
    run(logits, into.grad);
    total = tf.scalar(weightedTotal(out, spec, !!bce, !!ce));
  } else if (!tape) {
    run(logits, null);
    total = tf.scalar(weightedTotal(out, spec, !!bce, !!ce));
  } else {
    const op = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
      const g = alloc(b, [...x.shape]);
      run(x, g);
      const grad = tf.engine().makeTensorFromTensorInfo(g);
      save([grad]);
      return { value: tf.scalar(weightedTotal(out, spec, !!bce, !!ce)), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => scaled(dy, saved[0]) };
    }) as unknown as (...args: Array<tf.Tensor | tf.GradSaveFunc>) => { value: tf.Scalar; gradFunc: (dy: tf.Scalar, saved: tf.Tensor[]) => tf.Tensor });
    total = op(logits) as tf.Scalar;
  }
  const components: FusedLossResult['components'] = {};
  if (bce) components.bce = tf.scalar(out[0]);
  if (ce) components.ce = tf.scalar(out[1]);
  if (spec.c > 0 && (bce?.diceFrom != null || ce?.diceFrom != null)) components.dice = tf.scalar(out[2]);
  return { total, components };
}

let gradInto: { logits: tf.Tensor; grad: tf.TensorInfo; ran: boolean } | null = null;

/**
 * Calls `fn` (a head's loss on `logits`, outside any gradient tape) with the fused loss writing
 * its gradient w.r.t. `logits` into `grad` (a buffer of the logits' shape on the wasm heap), for
 * the native training step (net-step.ts). Returns fn's result, and whether the fused loss ran on
 * these logits (false: the head ran its tfjs ops, and `grad` was not written).
 */
export function lossWithGradInto<T>(logits: tf.Tensor, grad: tf.TensorInfo, fn: () => T): { result: T; ran: boolean } {
  const prev = gradInto;
  const slot = { logits, grad, ran: false };
  gradInto = slot;
  try {
    return { result: fn(), ran: slot.ran };
  } finally {
    gradInto = prev;
  }
}

/**
 * dy * grad for the scalar dy of the loss: a shared copy of grad when dy is 1 (a plain training
 * step: the wasm Multiply of a scalar by the gradient ran single-threaded, ~0.3 ms per 2D step).
 */
function scaled(dy: tf.Tensor, grad: tf.Tensor): tf.Tensor {
  return dy.size === 1 && dy.dataSync()[0] === 1 ? tf.clone(grad) : tf.mul(dy, grad);
}

function weightedTotal(out: Float64Array, spec: FusedLossSpec, bce: boolean, ce: boolean): number {
  let t = 0;
  if (bce && spec.a > 0) t += spec.a * out[0];
  if (ce && spec.b > 0) t += spec.b * out[1];
  if (spec.c > 0 && !Number.isNaN(out[2])) t += spec.c * out[2];
  return t;
}

interface AdamInternals {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: Array<{ originalName: string; variable: tf.Variable }>;
  accumulatedSecondMoment: Array<{ originalName: string; variable: tf.Variable }>;
  incrementIterations(): void;
}

/**
 * tf.train.adam with the update fused on the wasm+dnnl rung (tf.AdamOptimizer elsewhere). The
 * moments are updated in place when nothing else holds their buffers; new weights go to fresh
 * buffers that the variables take over (assign), because oneDNN and XNNPACK cache packed filters
 * by buffer and must see a new one.
 */
export class FusedAdam extends tf.AdamOptimizer {
  constructor(learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon: number | null = null) {
    super(learningRate, beta1, beta2, epsilon as number);
  }

  override applyGradients(variableGradients: Parameters<tf.AdamOptimizer['applyGradients']>[0]): void {
    const addon = fusedAddon();
    if (!addon) {
      super.applyGradients(variableGradients);
      return;
    }
    const self = this as unknown as AdamInternals;
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const registered = tf.engine().registeredVariables;
    const list: Array<{ w: tf.Variable; g: tf.Tensor; m: tf.Variable; v: tf.Variable }> = [];
    names.forEach((name, i) => {
      const value = registered[name];
      self.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      self.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      const g = Array.isArray(variableGradients) ? variableGradients[i].tensor : variableGradients[name];
      if (g == null) return;
      list.push({ w: value, g, m: self.accumulatedFirstMoment[i].variable, v: self.accumulatedSecondMoment[i].variable });
    });
    const b = asWasm(tf.backend());
    if (!onHeap(b, list.flatMap((e) => [e.w, e.g, e.m, e.v])) || list.some((e) => e.g.dtype !== 'float32' || e.g.size !== e.w.size)) {
      super.applyGradients(variableGradients);
      return;
    }
    // Copy-on-write for a moment whose buffer is shared with another tensor (e.g. the one
    // setWeights made it from: tfjs counts every tensor on a buffer in the backend's refCount).
    const own = (v: tf.Variable): void => {
      if (b.refCount(v.dataId) > 1) v.assign(tf.tidy(() => tf.add(v, 0)));
    };
    for (const e of list) { own(e.m); own(e.v); }
    const f = Math.fround;
    const omab1 = f(1 - self.accBeta1.dataSync()[0]);
    const omab2 = f(1 - self.accBeta2.dataSync()[0]);
    const k = Float32Array.of(self.learningRate, self.beta1, self.beta2, self.epsilon, 1 - self.beta1, 1 - self.beta2, omab1, omab2);
    const outs = list.map((e) => alloc(b, [...e.w.shape]));
    if (addon === 'simd') {
      profileSpan('FusedAdam', 'wasm', () => {
        if (!simdAdam(b, list.map((e, i) => ({ w: e.w, g: e.g, m: e.m, v: e.v, out: outs[i] })), k)) throw new Error('fused Adam: the SIMD module went away during a step');
        counts.adam++;
      });
    } else profileSpan('FusedAdam', 'native', () => {
      counts.adam++;
      addon.adamFused!(list.map((e) => view(b, e.w)), list.map((e) => view(b, e.g)), list.map((e) => view(b, e.m)), list.map((e) => view(b, e.v)), outs.map((o) => view(b, o)), k);
    });
    tf.tidy(() => {
      list.forEach((e, i) => e.w.assign(tf.engine().makeTensorFromTensorInfo(outs[i])));
      self.accBeta1.assign(tf.mul(self.accBeta1, self.beta1));
      self.accBeta2.assign(tf.mul(self.accBeta2, self.beta2));
    });
    self.incrementIterations();
  }
}

/** The training loop's Adam: fused where it can be (FusedAdam falls back per call). */
export function createAdam(learningRate: number): tf.AdamOptimizer {
  return new FusedAdam(learningRate);
}
