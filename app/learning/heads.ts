/**
 * Output heads and their losses, as one discriminated union: the head's kind fixes the
 * activation, the target's form and which loss terms exist, so an illegal combination (a sigmoid
 * head with class weights, a softmax head scored against a multi-hot mask, a joint head without a
 * whole-bone mask) cannot be written in code and is rejected when parsed from a file.
 *
 *   kind      logits channels   target                                       terms
 *   softmax   classes           labels int32 [N,...]  (0..classes-1)          CE (+ soft Dice)
 *   sigmoid   channels          multi-hot float32 [N,...,C], overlap allowed  BCE(pos_weight) (+ Dice)
 *   joint     1 + parts + 1     {whole float32 [N,...], labels int32 [N,...]}  a·BCE + b·CE (+ c·Dice)
 *
 * A sigmoid head's target is never the one-hot of a class map: use a softmax head for that.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { badInput } from '../util/errors.ts';
import { bceWithLogits, crossEntropy, lossInputError, shapeText } from './losses.ts';
import { softDice } from './losses-dice.ts';
import { jointHeadLoss, type JointTarget } from './losses-joint.ts';
import { checkLabels, checkWeights, requireDtype, sameShape } from './losses.ts';
import { defaultSmooth } from './losses-dice.ts';
import { fusedHeadLoss, type FusedLossResult } from './fusion.ts';

export type { JointTarget } from './losses-joint.ts';

export interface SoftmaxHead {
  kind: 'softmax';
  /** Classes including background (class 0); >= 2. */
  classes: number;
  /** `[classes]` CE class weights (PyTorch `weight`); null = plain mean. */
  classWeights?: number[] | null;
  /** Term weights: total = ceWeight·CE + diceWeight·Dice. Defaults 1 and 0. */
  ceWeight?: number;
  diceWeight?: number;
  /** Score background in the Dice term (default false, as nnU-Net does for labels). */
  includeBackground?: boolean;
}

export interface SigmoidHead {
  kind: 'sigmoid';
  /** Independent (possibly overlapping) binary channels; >= 1. */
  channels: number;
  /** `[channels]` BCE pos_weight per channel; null = 1. */
  posWeight?: number[] | null;
  /** Term weights: total = bceWeight·BCE + diceWeight·Dice. Defaults 1 and 0. */
  bceWeight?: number;
  diceWeight?: number;
  /** Score channel 0 in the Dice term (default true: every channel is a structure). */
  includeBackground?: boolean;
}

export interface JointHead {
  kind: 'joint';
  /** Substructures; the logits have 1 + (parts + 1) channels. */
  parts: number;
  /** pos_weight of the whole-structure BCE. */
  posWeight: number;
  /** `[parts + 1]` CE class weights, background first; null = plain mean. */
  classWeights?: number[] | null;
  /** total = a·BCE + b·CE (+ c·Dice when c > 0). */
  a: number;
  b: number;
  c: number;
}

export type HeadConfig = SoftmaxHead | SigmoidHead | JointHead;
export type HeadKind = HeadConfig['kind'];

/** The target each head is trained against. */
export interface TargetByKind {
  softmax: tf.Tensor;
  sigmoid: tf.Tensor;
  joint: JointTarget;
}

/** Scalars owned by the caller (dispose them, or compute inside tf.tidy / an optimizer step). */
export interface LossResult {
  total: tf.Scalar;
  components: { bce?: tf.Scalar; ce?: tf.Scalar; dice?: tf.Scalar };
}

export type HeadLoss<K extends HeadKind = HeadKind> = (logits: tf.Tensor, target: TargetByKind[K]) => LossResult;

const weight = z.number().finite().nonnegative();
const weights = z.array(weight).min(1);

const softmaxSchema = z.strictObject({
  kind: z.literal('softmax'),
  classes: z.number().int().min(2),
  classWeights: weights.nullable().optional(),
  ceWeight: weight.optional(),
  diceWeight: weight.optional(),
  includeBackground: z.boolean().optional(),
}).refine((h) => h.classWeights == null || h.classWeights.length === h.classes, { message: 'needs one weight per class', path: ['classWeights'] })
  .refine((h) => (h.ceWeight ?? 1) + (h.diceWeight ?? 0) > 0, { message: 'ceWeight and diceWeight are both 0', path: ['ceWeight'] });

const sigmoidSchema = z.strictObject({
  kind: z.literal('sigmoid'),
  channels: z.number().int().min(1),
  posWeight: weights.nullable().optional(),
  bceWeight: weight.optional(),
  diceWeight: weight.optional(),
  includeBackground: z.boolean().optional(),
}).refine((h) => h.posWeight == null || h.posWeight.length === h.channels, { message: 'needs one pos_weight per channel', path: ['posWeight'] })
  .refine((h) => (h.bceWeight ?? 1) + (h.diceWeight ?? 0) > 0, { message: 'bceWeight and diceWeight are both 0', path: ['bceWeight'] });

const jointSchema = z.strictObject({
  kind: z.literal('joint'),
  parts: z.number().int().min(1),
  posWeight: weight,
  classWeights: weights.nullable().optional(),
  a: weight,
  b: weight,
  c: weight,
}).refine((h) => h.classWeights == null || h.classWeights.length === h.parts + 1, { message: 'needs parts + 1 weights (background first)', path: ['classWeights'] })
  .refine((h) => h.a + h.b + h.c > 0, { message: 'a, b and c are all 0', path: ['a'] });

export const headConfigSchema: z.ZodType<HeadConfig> = z.discriminatedUnion('kind', [softmaxSchema, sigmoidSchema, jointSchema]);

/** Parses a head from JSON (a model config); the error names the file and the field. */
export function parseHeadConfig(value: unknown, file: string): HeadConfig {
  const r = headConfigSchema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = ['head', ...issue.path.map(String)].join('.');
  throw badInput(file, field, issue.message);
}

/** Channels the network's last layer must produce for this head. */
export function headChannels(head: HeadConfig): number {
  switch (head.kind) {
    case 'softmax': return head.classes;
    case 'sigmoid': return head.channels;
    case 'joint': return head.parts + 2;
    default: {
      const unknownHead: never = head;
      throw lossInputError('head', `unknown head ${JSON.stringify(unknownHead)}`);
    }
  }
}

function checkChannels(logits: tf.Tensor, head: HeadConfig): void {
  const want = headChannels(head);
  const got = logits.shape[logits.rank - 1];
  if (logits.rank < 3 || got !== want) {
    throw lossInputError('logits', `shape ${shapeText(logits.shape)}, expected [N, ...spatial, ${want}] for the ${head.kind} head`);
  }
}

/** Adds the weighted terms; a term whose weight is 0 is neither computed nor reported. */
function weighted(terms: Array<[keyof LossResult['components'], number, () => tf.Scalar]>): LossResult {
  return tf.tidy(() => {
    const components: LossResult['components'] = {};
    const parts: tf.Tensor[] = [];
    for (const [name, w, compute] of terms) {
      if (w <= 0) continue;
      const v = compute();
      components[name] = v;
      parts.push(w === 1 ? v : tf.mul(w, v));
    }
    if (parts.length === 0) throw lossInputError('head', 'every term weight is 0');
    return { total: (parts.length === 1 ? tf.clone(parts[0]) : tf.addN(parts)) as tf.Scalar, components };
  });
}

/** The fused result with only the weighted terms reported (as `weighted` reports them). */
function fusedWeighted(r: FusedLossResult, terms: Array<[keyof LossResult['components'], number]>): LossResult {
  const components: LossResult['components'] = {};
  for (const [name, w] of terms) {
    const v = r.components[name];
    if (w > 0 && v) components[name] = v;
  }
  return { total: r.total, components };
}

/**
 * The loss function of a head. The returned function validates shapes (logits channels against
 * the config, target against the logits) and returns the total and its components as scalars.
 */
export function lossFor<H extends HeadConfig>(head: H): HeadLoss<H['kind']> {
  const h: HeadConfig = head;
  switch (h.kind) {
    case 'softmax': {
      const fn: HeadLoss<'softmax'> = (logits, labels) => {
        checkChannels(logits, h);
        const cw = h.ceWeight ?? 1, dw = h.diceWeight ?? 0;
        // The fused op (wasm+dnnl) makes only its result tensors: no tidy needed around it.
        checkLabels(labels, logits, h.classes);
        const weight = checkWeights(h.classWeights, h.classes, 'weight');
        const fused = fusedHeadLoss(logits, { ce: { c0: 0, k: h.classes, labels, weight, diceFrom: h.includeBackground ? 0 : 1 }, a: 0, b: cw, c: dw, smoothNr: defaultSmooth, smoothDr: defaultSmooth });
        if (fused) return fusedWeighted(fused, [['ce', cw], ['dice', dw]]);
        return weighted([
          ['ce', h.ceWeight ?? 1, () => crossEntropy(logits, labels, { weight: h.classWeights ?? null })],
          ['dice', h.diceWeight ?? 0, () => softDice(logits, { activation: 'softmax', labels }, { includeBackground: h.includeBackground ?? false })],
        ]);
      };
      return fn as HeadLoss<H['kind']>;
    }
    case 'sigmoid': {
      const fn: HeadLoss<'sigmoid'> = (logits, targets) => {
        checkChannels(logits, h);
        const bw = h.bceWeight ?? 1, dw = h.diceWeight ?? 0;
        requireDtype(targets, 'float32', 'targets');
        if (sameShape(targets.shape, logits.shape)) {
          const posWeight = checkWeights(h.posWeight, h.channels, 'posWeight');
          const from = (h.includeBackground ?? true) || h.channels === 1 ? 0 : 1;
          const fused = fusedHeadLoss(logits, { bce: { c0: 0, n: h.channels, targets, posWeight, diceFrom: from }, a: bw, b: 0, c: dw, smoothNr: defaultSmooth, smoothDr: defaultSmooth });
          if (fused) return fusedWeighted(fused, [['bce', bw], ['dice', dw]]);
        }
        return weighted([
          ['bce', h.bceWeight ?? 1, () => bceWithLogits(logits, targets, { posWeight: h.posWeight ?? null })],
          ['dice', h.diceWeight ?? 0, () => softDice(logits, { activation: 'sigmoid', targets }, { includeBackground: h.includeBackground ?? true })],
        ]);
      };
      return fn as HeadLoss<H['kind']>;
    }
    case 'joint': {
      const fn: HeadLoss<'joint'> = (logits, target) => {
        checkChannels(logits, h);
        return jointHeadLoss(logits, target, { parts: h.parts, posWeight: h.posWeight, classWeights: h.classWeights ?? null, a: h.a, b: h.b, c: h.c });
      };
      return fn as HeadLoss<H['kind']>;
    }
    default: {
      const unknownHead: never = h;
      throw lossInputError('head', `unknown head ${JSON.stringify(unknownHead)}`);
    }
  }
}
