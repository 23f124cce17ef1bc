/**
 * Pixel-wise classification losses on raw logits, channels-last as tfjs lays tensors out:
 * 2D `[N,H,W,C]`, 3D `[N,D,H,W,C]` (any rank >= 2 works: `[N, ...spatial, C]`). Label maps have
 * no channel axis (`[N,H,W]`). Every function runs inside `tf.tidy()`, returns a scalar float32
 * tensor owned by the caller, and is differentiable with respect to the logits.
 *
 * The definitions follow PyTorch so that the oracle (test/fixtures/oracle)
 * can check them to 1e-4 relative:
 * - https://pytorch.org/docs/stable/generated/torch.nn.BCEWithLogitsLoss.html
 * - https://pytorch.org/docs/stable/generated/torch.nn.CrossEntropyLoss.html
 */
import * as tf from '@tensorflow/tfjs';
import { OsteonError } from '../util/errors.ts';

/** A shape or dtype that does not fit the loss: a caller bug or a mis-configured head. */
export function lossInputError(field: string, problem: string): OsteonError {
  return new OsteonError({ code: 'mismatch', field, message: `${field}: ${problem}` });
}

export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function requireDtype(t: tf.Tensor, dtype: 'float32' | 'int32', field: string): void {
  if (t.dtype !== dtype) throw lossInputError(field, `dtype ${t.dtype}, expected ${dtype}`);
}

/** Logits `[N, ...spatial, C]` with at least `minRank` axes; returns C. */
export function channelCount(logits: tf.Tensor, minRank: number, field = 'logits'): number {
  requireDtype(logits, 'float32', field);
  if (logits.rank < minRank) {
    throw lossInputError(field, `shape ${shapeText(logits.shape)} has rank ${logits.rank}, expected >= ${minRank} ([N, ...spatial, C])`);
  }
  const c = logits.shape[logits.rank - 1];
  if (c < 1) throw lossInputError(field, `shape ${shapeText(logits.shape)} has no channels`);
  return c;
}

/** Per-channel (or per-class) weights: a list of C finite numbers >= 0, or null for all ones. */
export function checkWeights(w: readonly number[] | null | undefined, c: number, field: string): number[] | null {
  if (w === null || w === undefined) return null;
  if (w.length !== c) throw lossInputError(field, `${w.length} values, expected ${c} (one per channel of the logits)`);
  w.forEach((v, i) => {
    if (!Number.isFinite(v) || v < 0) throw lossInputError(`${field}[${i}]`, `${v}, expected a finite number >= 0`);
  });
  return [...w];
}

/** The label range per tensor already read (keyed by dataId: it outlives a clone's wrapper). */
const checkedRanges = new WeakMap<object, [number, number]>();

/**
 * Labels `[N, ...spatial]` int32 matching logits `[N, ...spatial, K]`, values in 0..K-1.
 * The range check reads the labels back, because tf.oneHot would silently turn an out-of-range
 * label into an all-zero row and drop that voxel from the loss. It reads the labels themselves
 * rather than a min/max computed on the device: labels come from host arrays, so every backend
 * (webgpu included, which cannot read device memory synchronously in Node) still holds them
 * before their first use. The range is remembered per tensor, because webgpu drops the host
 * copy once the labels are uploaded (the Dice term checks the same labels after CE used them).
 */
export function checkLabels(labels: tf.Tensor, logits: tf.Tensor, k: number, field = 'labels', checkRange = true): void {
  requireDtype(labels, 'int32', field);
  if (!sameShape(labels.shape, logits.shape.slice(0, -1))) {
    throw lossInputError(field, `shape ${shapeText(labels.shape)}, expected ${shapeText(logits.shape.slice(0, -1))} (logits ${shapeText(logits.shape)} without the class axis)`);
  }
  if (!checkRange || labels.size === 0) return;
  let range = checkedRanges.get(labels.dataId);
  if (!range) {
    const v = labels.dataSync();
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < v.length; i++) { const x = v[i]; if (x < lo) lo = x; if (x > hi) hi = x; }
    range = [lo, hi];
    checkedRanges.set(labels.dataId, range);
  }
  const [lo, hi] = range;
  if (lo < 0 || hi >= k) throw lossInputError(field, `values span ${lo}..${hi}, expected 0..${k - 1} (${k} classes)`);
}

/**
 * one_hot(labels, k) as float32 `[...labels.shape, k]`. Not tf.oneHot(..., 'float32'): the wasm
 * backend's OneHot kernel (tfjs 4.22) ignores the dtype and writes int32 bit patterns into the
 * float32 buffer (1 reads as 1.4e-45), so the one-hot is built in int32 and cast.
 */
export function oneHotF32(labels: tf.Tensor, k: number): tf.Tensor {
  return tf.tidy(() => tf.cast(tf.oneHot(labels, k), 'float32'));
}

/** Elements each level of a blocked sum adds one after another. */
const BLOCK = 64;

/**
 * Σ over axis 1 of x `[A, M, B]` → `[A, B]`, in blocks: M is cut into rows of BLOCK values,
 * each row summed, then the row sums are cut and summed again, until one row is left. A float32
 * sum that runs value by value (the wasm and cpu backends' Sum) gathers a rounding error that
 * grows with M: at [1,32,64,64,4] (2^19 values) it put BCE 5e-4 and CE 3e-4 relative off the
 * float64 reference. Blocked, each value passes through log_BLOCK(M) short sums, and the error
 * stays near float32's own (test/unit/losses-large.test.ts). Differentiable: pad, reshape, sum.
 */
function blockedSum(x: tf.Tensor3D): tf.Tensor2D {
  let t: tf.Tensor3D = x;
  while (t.shape[1] > BLOCK) {
    const [a, m, b] = t.shape;
    const rows = Math.ceil(m / BLOCK);
    if (rows * BLOCK !== m) t = tf.pad(t, [[0, 0], [0, rows * BLOCK - m], [0, 0]]);
    t = b === 1 ? tf.reshape(tf.sum(tf.reshape(t, [a * rows, BLOCK]), 1), [a, rows, 1]) : tf.sum(tf.reshape(t, [a, rows, BLOCK, b]), 2);
  }
  return tf.sum(t, 1);
}

/** Σ of every element, blocked (see blockedSum). */
export function accurateSum(x: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.reshape(blockedSum(tf.reshape(x, [1, x.size, 1])), []) as tf.Scalar);
}

/** Mean of every element, blocked (see blockedSum). */
export function accurateMean(x: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.div(accurateSum(x), x.size) as tf.Scalar);
}

/** `[N, ...spatial, C]` → `[N, C]`: Σ over the spatial axes, blocked (see blockedSum). */
export function spatialSum(x: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => {
    const n = x.shape[0], c = x.shape[x.rank - 1];
    return blockedSum(tf.reshape(x, [n, x.size / (n * c), c]));
  });
}

export interface BceOptions {
  /** `[C]` weight of the positive term per channel (PyTorch `pos_weight`); null = 1. */
  posWeight?: readonly number[] | null;
}

/**
 * Mean binary cross-entropy on logits, multi-label: `targets` is a float32 multi-hot (or soft,
 * in [0,1]) mask with the logits' shape `[N, ...spatial, C]`, never a one-hot of a class map.
 *
 * Per element, with w = 1 + (pw[c] - 1)·y:
 *   l = -[pw·y·log σ(x) + (1-y)·log(1-σ(x))]
 *     = (1-y)·x + w·softplus(-x)        since -log σ(x) = softplus(-x), log(1-σ(x)) = -x - softplus(-x)
 * and softplus(-x) = log1p(exp(-|x|)) + max(-x, 0) never overflows, so logits of ±100 stay finite
 * (no log(sigmoid(x)), which is -inf for x = -100 in float32). tf.softplus is used rather than the
 * log1p form because the wasm backend's Log1p is log(1+x) (relative error up to 1 for x < 1e-8),
 * and softplus's gradient is sigmoid(x) exactly, also at x = 0 where |x| has a kink.
 * Empty or all-foreground channels need nothing special. Returns the mean over all N·|S|·C values,
 * summed in blocks so that it keeps PyTorch's value at training sizes (accurateMean).
 */
export function bceWithLogits(logits: tf.Tensor, targets: tf.Tensor, opts: BceOptions = {}): tf.Scalar {
  const c = channelCount(logits, 2);
  requireDtype(targets, 'float32', 'targets');
  if (!sameShape(targets.shape, logits.shape)) {
    throw lossInputError('targets', `shape ${shapeText(targets.shape)}, expected the logits' shape ${shapeText(logits.shape)} (multi-hot [N,...,C])`);
  }
  const pw = checkWeights(opts.posWeight, c, 'posWeight');
  return tf.tidy(() => {
    const negPart = tf.mul(tf.sub(1, targets), logits);
    const sp = tf.softplus(tf.neg(logits));
    // pw broadcasts over the last (channel) axis.
    const w = pw ? tf.add(1, tf.mul(tf.sub(tf.tensor1d(pw), 1), targets)) : null;
    const l = tf.add(negPart, w ? tf.mul(w, sp) : sp);
    return accurateMean(l);
  });
}

export interface CrossEntropyOptions {
  /** `[K]` class weights (PyTorch `weight`); null = plain mean. */
  weight?: readonly number[] | null;
  /** Read the labels back to check they lie in 0..K-1 (default true). */
  checkRange?: boolean;
}

/**
 * Cross-entropy over the last axis of `logits [N, ...spatial, K]` with integer `labels
 * [N, ...spatial]` (int32, 0..K-1; not one-hot). Every voxel counts (no ignore index).
 *   l_v = -log_softmax(z_v)[y_v],  loss = Σ_v w[y_v]·l_v / Σ_v w[y_v]
 * which is PyTorch's weighted mean (a plain mean without weights). If every labelled class has
 * weight 0 the result is NaN (0/0), as in PyTorch. tf.logSoftmax subtracts the row maximum
 * before exponentiating (z - max - log Σexp(z - max)), so logits of ±100 stay finite.
 */
export function crossEntropy(logits: tf.Tensor, labels: tf.Tensor, opts: CrossEntropyOptions = {}): tf.Scalar {
  const k = channelCount(logits, 2);
  checkLabels(labels, logits, k, 'labels', opts.checkRange ?? true);
  const w = checkWeights(opts.weight, k, 'weight');
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits, -1);
    const oneHot = oneHotF32(labels, k);
    const nll = tf.neg(tf.sum(tf.mul(oneHot, logp), -1));
    if (!w) return accurateMean(nll);
    const wv = tf.sum(tf.mul(oneHot, tf.tensor1d(w)), -1);
    return tf.div(accurateSum(tf.mul(wv, nll)), accurateSum(wv)) as tf.Scalar;
  });
}
