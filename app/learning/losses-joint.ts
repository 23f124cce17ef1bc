/**
 * The joint head loss (K. Frank's recommendation on the PyTorch forums for whole + parts): one
 * network predicts the whole bone as a single-label binary task AND its substructures as a
 * single-label multi-class task, from one output with 1 + (parts + 1) channels:
 *
 *   logits [N, ...spatial, 1 + K], K = parts + 1 classes (class 0 = background)
 *   channel 0      x0 → BCEWithLogits against `whole` (0/1 float32 [N, ...spatial]), scalar pos_weight
 *   channels 1..K  z  → CrossEntropy against `labels` (int32 [N, ...spatial], 0..parts)
 *   total = a·bce + b·ce (+ c·dice when c > 0)
 *
 * The whole mask is an input, not derived from labels > 0: the annotated whole bone may differ
 * slightly from the union of the parts. BCE and CE are always computed and reported; Dice only
 * when c > 0 (it cost ~1/3 of the loss for nothing at the default c = 0). On the wasm+dnnl rung
 * the whole loss is one fused native op (fusion.ts, native/loss-adam.ts); elsewhere the tfjs ops below.
 */
import * as tf from '@tensorflow/tfjs';
import { bceWithLogits, channelCount, checkLabels, crossEntropy, lossInputError, oneHotF32, requireDtype, sameShape, shapeText } from './losses.ts';
import { defaultSmooth, diceOfProbs, dropChannel0 } from './losses-dice.ts';
import { fusedHeadLoss } from './fusion.ts';

export interface JointTarget {
  /** 0/1 whole-structure mask, float32 `[N, ...spatial]`. */
  whole: tf.Tensor;
  /** Substructure class map, int32 `[N, ...spatial]`, 0 = background, 1..parts. */
  labels: tf.Tensor;
}

export interface JointLossOptions {
  /** Number of substructures (3 in Osteon's default head: logits have 1 + 4 = 5 channels). */
  parts: number;
  /** pos_weight of the whole-structure BCE term. */
  posWeight: number;
  /** `[parts + 1]` class weights of the CE term (background first); null = plain mean. */
  classWeights?: readonly number[] | null;
  /** Weights of the BCE, CE and Dice terms. */
  a: number;
  b: number;
  c: number;
  smoothNr?: number;
  smoothDr?: number;
}

export interface JointLossResult {
  total: tf.Scalar;
  /** dice only when c > 0. */
  components: { bce: tf.Scalar; ce: tf.Scalar; dice?: tf.Scalar };
}

function checkTermWeight(v: number, field: string): number {
  if (!Number.isFinite(v) || v < 0) throw lossInputError(field, `${v}, expected a finite number >= 0`);
  return v;
}

/** Splits `[..., C]` at the channel axis into `[..., 0:1]` and `[..., 1:C]`. */
function splitHead(logits: tf.Tensor): [tf.Tensor, tf.Tensor] {
  const c = logits.shape[logits.rank - 1];
  return tf.split(logits, [1, c - 1], -1) as [tf.Tensor, tf.Tensor];
}

/**
 * dice = mean over n and k of 1 - (2·I + smoothNr)/(P + G + smoothDr), channels k being
 * p = sigmoid(x0) vs whole, and softmax(z)[k] vs [labels == k] for k = 1..parts; the softmax
 * runs over all K class logits, but background is not a Dice channel.
 */
export function jointHeadLoss(logits: tf.Tensor, target: JointTarget, opts: JointLossOptions): JointLossResult {
  if (!Number.isInteger(opts.parts) || opts.parts < 1) throw lossInputError('parts', `${opts.parts}, expected an integer >= 1`);
  const want = opts.parts + 2;
  const c = channelCount(logits, 3);
  if (c !== want) throw lossInputError('logits', `${c} channels (shape ${shapeText(logits.shape)}), expected 1 + ${opts.parts + 1} = ${want} for ${opts.parts} parts`);
  requireDtype(target.whole, 'float32', 'whole');
  if (!sameShape(target.whole.shape, logits.shape.slice(0, -1))) {
    throw lossInputError('whole', `shape ${shapeText(target.whole.shape)}, expected ${shapeText(logits.shape.slice(0, -1))} (logits ${shapeText(logits.shape)} without the channel axis)`);
  }
  if (!Number.isFinite(opts.posWeight) || opts.posWeight < 0) throw lossInputError('posWeight', `${opts.posWeight}, expected a finite number >= 0`);
  const a = checkTermWeight(opts.a, 'a');
  const b = checkTermWeight(opts.b, 'b');
  const cw = checkTermWeight(opts.c, 'c');
  const k = opts.parts + 1;
  const smoothNr = opts.smoothNr ?? defaultSmooth, smoothDr = opts.smoothDr ?? defaultSmooth;
  return tf.tidy(() => {
    const whole = tf.expandDims(target.whole, -1);
    checkLabels(target.labels, logits, k);
    const fused = fusedHeadLoss(logits, {
      bce: { c0: 0, n: 1, targets: whole, posWeight: [opts.posWeight], diceFrom: 0 },
      ce: { c0: 1, k, labels: target.labels, weight: opts.classWeights ?? null, diceFrom: 1 },
      a, b, c: cw, smoothNr, smoothDr,
    });
    if (fused) {
      const { bce, ce, dice } = fused.components;
      return { total: fused.total, components: { bce: bce!, ce: ce!, ...(dice ? { dice } : {}) } };
    }
    const [x0, z] = splitHead(logits);
    const bce = bceWithLogits(x0, whole, { posWeight: [opts.posWeight] });
    const ce = crossEntropy(z, target.labels, { weight: opts.classWeights ?? null, checkRange: false });
    let total = tf.add(tf.mul(a, bce), tf.mul(b, ce));
    if (cw === 0) return { total: total as tf.Scalar, components: { bce, ce } };
    const p = tf.concat([tf.sigmoid(x0), dropChannel0(tf.softmax(z, -1))], -1);
    const g = tf.concat([whole, dropChannel0(oneHotF32(target.labels, k))], -1);
    const dice = diceOfProbs(p, g, smoothNr, smoothDr);
    total = tf.add(total, tf.mul(cw, dice));
    return { total: total as tf.Scalar, components: { bce, ce, dice } };
  });
}
