/**
 * pos_weight, in one place: its estimate from masks, the rules that turn the estimate into the
 * value a run trains with, its shape per head, and the words that explain it.
 *
 * PyTorch's `BCEWithLogitsLoss(pos_weight=…)` multiplies the loss of every foreground voxel of a
 * sigmoid channel (https://pytorch.org/docs/stable/generated/torch.nn.BCEWithLogitsLoss.html).
 * The classic estimate is negatives/positives: with it, the foreground of a channel weighs as
 * much in total as its background. That balances the classes, so a channel trained with it
 * over-predicts its (rare) structure at the 0.5 threshold: its probabilities are those of a
 * balanced world. Either the threshold moves (calibration, app/learning/calibrate.ts) or the
 * weight shrinks (the `sqrt` and `one` rules). docs/pos-weight.md has the measurements.
 *
 * Shape per head (the only place this rule is written):
 *   sigmoid  one value per structure channel (channel order [whole?, ...parts])
 *   joint    one value, the whole's channel (the parts are a softmax: CE, no pos_weight)
 *   softmax  none (its classes compete in one arg-max; CE takes class weights instead)
 *
 * Empty cases: a channel without positives has ratio Infinity (PyTorch would divide by zero) and
 * 0 without negatives; the rules give 1 for a channel without positives (nothing to weigh).
 */
import type { Mask } from '../metrics/grid.ts';

export type PosWeightHead = 'softmax' | 'sigmoid' | 'joint';

/** How a run turns negatives/positives into its pos_weight. */
export type PosWeightRule = 'one' | 'sqrt' | 'ratio';
export const POS_WEIGHT_RULES: readonly PosWeightRule[] = ['one', 'sqrt', 'ratio'];

/**
 * The rule a run uses when none is given. Chosen by `osteon posweight-table` on the phantoms and
 * the real pelvis (docs/pos-weight.md): see DEFAULT_RULE_EVIDENCE.
 */
export const DEFAULT_POS_WEIGHT_RULE: PosWeightRule = 'sqrt';

/** One sentence with the measured numbers behind the default, shown in the UI and the CLI. */
export const DEFAULT_RULE_EVIDENCE =
  'Measured on held-out phantom cases (osteon posweight-table, docs/pos-weight.md): sigmoid head, mean Dice 0.896 with ' +
  '√(neg/pos) and calibrated thresholds, against 0.841 with pos_weight 1 and 0.645 with neg/pos at 0.5 (parts +121% to +200% too large); ' +
  'joint head 0.882 (√) against 0.831 (neg/pos) and 0.722 (1). On the real pelvis, calibrating the thresholds raised the sigmoid ' +
  'head (√) from 0.234 to 0.449 mean Dice, and neg/pos at 0.5 made every structure +102% to +401% too large.';

export interface ChannelCount {
  positives: number;
  negatives: number;
}

/** negatives/positives: Infinity without positives, 0 without negatives. */
export function posWeightRatio(positives: number, negatives: number): number {
  if (positives === 0) return Infinity;
  return negatives / positives;
}

/** Ones and zeros of one mask (any non-zero value is a one). */
export function countMask(mask: Mask): ChannelCount {
  let p = 0;
  for (let v = 0; v < mask.length; v++) if (mask[v] !== 0) p++;
  return { positives: p, negatives: mask.length - p };
}

/** Per channel counts pooled over cases; cases[i][c] is channel c of case i. */
export function countChannels(cases: readonly (readonly Mask[])[]): ChannelCount[] {
  const C = cases.length ? cases[0].length : 0;
  const out = Array.from({ length: C }, () => ({ positives: 0, negatives: 0 }));
  for (const [i, chans] of cases.entries()) {
    if (chans.length !== C) throw new RangeError(`pos_weight: case ${i} has ${chans.length} channels, case 0 has ${C}`);
    chans.forEach((m, c) => addCount(out[c], countMask(m)));
  }
  return out;
}

/** Counts of an interleaved multi-hot buffer [..., S] (what the sampler hands the loss). */
export function countMultiHot(multiHot: ArrayLike<number>, S: number, into?: ChannelCount[]): ChannelCount[] {
  const out = into ?? Array.from({ length: S }, () => ({ positives: 0, negatives: 0 }));
  for (let q = 0; q < multiHot.length; q += S) {
    for (let k = 0; k < S; k++) {
      if (multiHot[q + k] !== 0) out[k].positives++;
      else out[k].negatives++;
    }
  }
  return out;
}

export function addCount(into: ChannelCount, c: ChannelCount): ChannelCount {
  into.positives += c.positives;
  into.negatives += c.negatives;
  return into;
}

/** Two decimals: what the UI shows and a run records. */
export function roundWeight(w: number): number {
  return Math.round(w * 100) / 100;
}

/** The value a rule gives a channel with these counts (finite, > 0; 1 without positives). */
export function posWeightByRule(c: ChannelCount, rule: PosWeightRule): number {
  const r = posWeightRatio(c.positives, c.negatives);
  if (!Number.isFinite(r) || r <= 0) return 1;
  switch (rule) {
    case 'one': return 1;
    case 'sqrt': return roundWeight(Math.sqrt(r));
    case 'ratio': return roundWeight(r);
    default: { const never: never = rule; throw new RangeError(`unknown pos_weight rule ${String(never)}`); }
  }
}

/** Sigmoid channels of a head, as indices into the structure list (channel order). */
export function sigmoidChannels(head: PosWeightHead, structures: number, hasWhole: boolean): number[] {
  switch (head) {
    case 'sigmoid': return Array.from({ length: structures }, (_, k) => k);
    case 'joint': return hasWhole ? [0] : [];
    case 'softmax': return [];
    default: { const never: never = head; throw new RangeError(`unknown head ${String(never)}`); }
  }
}

/**
 * The head's pos_weight from per-structure values: the values of its sigmoid channels, in
 * channel order. `values` may hold one value per structure or exactly one per sigmoid channel.
 */
export function posWeightForHead(head: PosWeightHead, values: readonly number[], structures: number, hasWhole: boolean): number[] {
  const ch = sigmoidChannels(head, structures, hasWhole);
  if (values.length === ch.length) return [...values];
  if (values.length === structures) return ch.map((k) => values[k]);
  throw new RangeError(`pos_weight: ${values.length} values; the ${head} head takes ${ch.length} (one per sigmoid channel) or ${structures} (one per structure)`);
}

/** The rule's values for the head's sigmoid channels, from per-structure counts. */
export function posWeightFromRule(head: PosWeightHead, counts: readonly ChannelCount[], rule: PosWeightRule, hasWhole: boolean): number[] {
  return sigmoidChannels(head, counts.length, hasWhole).map((k) => posWeightByRule(counts[k], rule));
}

/** A head config's pos_weight as the one shape used everywhere else: values of its sigmoid channels. */
export function headPosWeight(head: { kind: 'softmax' } | { kind: 'sigmoid'; channels: number; posWeight?: number[] | null } | { kind: 'joint'; posWeight: number }): number[] {
  switch (head.kind) {
    case 'sigmoid': return head.posWeight ? [...head.posWeight] : new Array<number>(head.channels).fill(1);
    case 'joint': return [head.posWeight];
    case 'softmax': return [];
    default: { const never: never = head; throw new RangeError(`unknown head ${JSON.stringify(never)}`); }
  }
}

export const RULE_TEXT: Record<PosWeightRule, string> = {
  one: 'pos_weight 1 (no reweighting): probabilities stay those of the data, 0.5 is a fair threshold',
  sqrt: '√(negatives/positives): a rare structure gets more weight, without the full balance that makes 0.5 over-segment',
  ratio: 'negatives/positives: the classes balanced; calibrated thresholds land well above 0.5',
};

/** What the weight does and why the default is what it is; the UI and `osteon train --help` show it. */
export function explainPosWeight(rule: PosWeightRule = DEFAULT_POS_WEIGHT_RULE): string {
  return `pos_weight multiplies the loss of a sigmoid channel's foreground voxels. Rule: ${RULE_TEXT[rule]}. ` +
    'Each channel\'s threshold is then calibrated on the validation cases. ' + DEFAULT_RULE_EVIDENCE;
}
