/**
 * Channel-collapse detector for multi-label (sigmoid/BCE) heads: "the model outputs the same
 * segmentation in all channels", the failure this project's design discussion started from.
 *
 * Agreement of two channels a, b = pooled Dice over the cases,
 *   2·Σ_n |M_a ∩ M_b| / (Σ_n |M_a| + Σ_n |M_b|),
 * and 1 when both channels are empty everywhere (identical outputs). It is computed for the
 * predicted masks and for the target masks. A pair is collapsed when the prediction agrees at
 * least `minPredAgreement` (0.75) while the targets agree at most `maxTargetAgreement` (0.6)
 * and the prediction exceeds the targets by at least `minExcess` (0.3): the model makes the
 * channels alike where the data does not. (Targets mixed up along the channel axis, a model
 * that fits them, gave pairwise Dice 0.71–0.87 between parts whose targets agree 0 on a phantom.) Targets that are nested (whole
 * bone vs one of three parts) agree about 0.5; disjoint parts about 0.
 *
 * The finding names the channels, the numbers and the usual causes, with evidence where the
 * masks offer some:
 * - a sigmoid/softmax applied to the logits before BCEWithLogitsLoss (which applies its own);
 * - the stacked targets built along the wrong axis (e.g. [N,C,H,W] fed where [N,H,W,C] is
 *   expected), so every output channel is trained towards the same thing;
 * - one channel (typically the whole structure) holding far more foreground than the others,
 *   trained without a per-channel pos_weight, so its gradient dominates the shared features.
 */
import { diceFromCounts } from './dice.ts';
import type { Mask } from './grid.ts';
import { posWeightFromCounts } from './weights.ts';

export interface CollapseOptions {
  minPredAgreement?: number;
  maxTargetAgreement?: number;
  /** Least excess of predicted over target agreement for a pair to count; default 0.3. */
  minExcess?: number;
  /** Channel names for the message, e.g. ['whole', 'part 1', 'part 2', 'part 3']. */
  channelNames?: readonly string[];
  /** Foreground ratio of the largest target channel to the median of the others that counts as dominant; default 2. */
  dominanceRatio?: number;
}

export interface PairAgreement {
  a: number;
  b: number;
  pred: number;
  target: number;
}

export type CollapseCauseId = 'activation-before-bce' | 'channel-axis-mixup' | 'dominant-channel-without-pos-weight';

export interface CollapseCause {
  id: CollapseCauseId;
  text: string;
  /** What in the masks points to this cause, when anything does. */
  evidence?: string;
}

export interface CollapseFinding {
  kind: 'channel-collapse';
  channels: number[];
  pairs: PairAgreement[];
  message: string;
  likelyCauses: CollapseCause[];
  /** Recommended BCE pos_weight per channel from the targets (negatives/positives). */
  recommendedPosWeight: number[];
}

interface Counts {
  size: number[];
  inter: number[][];
  voxels: number;
}

/** Per-channel foreground counts and pairwise intersections pooled over cases[n][c]. */
function pool(cases: readonly (readonly Mask[])[], what: string): Counts {
  const C = cases.length ? cases[0].length : 0;
  const size = new Array<number>(C).fill(0);
  const inter = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  let voxels = 0;
  const on = new Int32Array(C);
  for (const [n, chans] of cases.entries()) {
    if (chans.length !== C) throw new RangeError(`collapse: ${what} case ${n} has ${chans.length} channels, case 0 has ${C}`);
    const len = C ? chans[0].length : 0;
    chans.forEach((m, c) => { if (m.length !== len) throw new RangeError(`collapse: ${what} case ${n} channel ${c} has ${m.length} voxels, channel 0 ${len}`); });
    voxels += len;
    for (let v = 0; v < len; v++) {
      let k = 0;
      for (let c = 0; c < C; c++) if (chans[c][v] !== 0) on[k++] = c;
      for (let i = 0; i < k; i++) {
        size[on[i]]++;
        for (let j = i + 1; j < k; j++) inter[on[i]][on[j]]++;
      }
    }
  }
  return { size, inter, voxels };
}

function agreement(k: Counts, a: number, b: number): number {
  const d = diceFromCounts(k.inter[a][b], k.size[a], k.size[b]);
  return Number.isNaN(d) ? 1 : d;
}

/** Pairwise agreement (a < b) of predictions and targets; pred[n][c], target[n][c]. */
export function pairwiseAgreement(pred: readonly (readonly Mask[])[], target: readonly (readonly Mask[])[]): PairAgreement[] {
  return pairsOf(pool(pred, 'pred'), pool(target, 'target'));
}

function pairsOf(p: Counts, t: Counts): PairAgreement[] {
  if (p.size.length !== t.size.length) throw new RangeError(`collapse: ${p.size.length} predicted channels, ${t.size.length} target channels`);
  const out: PairAgreement[] = [];
  for (let a = 0; a < p.size.length; a++) {
    for (let b = a + 1; b < p.size.length; b++) out.push({ a, b, pred: agreement(p, a, b), target: agreement(t, a, b) });
  }
  return out;
}

/** Returns a finding when predicted channels agree far more than their targets, else null. */
export function detectChannelCollapse(
  pred: readonly (readonly Mask[])[],
  target: readonly (readonly Mask[])[],
  opts: CollapseOptions = {},
): CollapseFinding | null {
  const minPred = opts.minPredAgreement ?? 0.75, maxTarget = opts.maxTargetAgreement ?? 0.6, minExcess = opts.minExcess ?? 0.3;
  const p = pool(pred, 'pred'), t = pool(target, 'target');
  const pairs = pairsOf(p, t).filter((q) => q.pred >= minPred && q.target <= maxTarget && q.pred - q.target >= minExcess);
  if (pairs.length === 0) return null;
  const name = (c: number) => opts.channelNames?.[c] ?? `channel ${c}`;
  const channels = [...new Set(pairs.flatMap((q) => [q.a, q.b]))].sort((x, y) => x - y);
  const recommendedPosWeight = t.size.map((s) => posWeightFromCounts(s, t.voxels - s));
  const range = (v: number[]) => `${fmt(Math.min(...v))}–${fmt(Math.max(...v))}`;
  const message =
    `Predicted ${channels.map(name).join(', ')} agree far more than their targets do ` +
    `(pairwise Dice ${range(pairs.map((q) => q.pred))} in the prediction vs ${range(pairs.map((q) => q.target))} in the targets): ` +
    'the model outputs nearly the same mask in these channels.';
  return {
    kind: 'channel-collapse',
    channels,
    pairs,
    message,
    likelyCauses: causes(p, t, crossDice(pred, target, p, t), channels, name, recommendedPosWeight, opts.dominanceRatio ?? 2),
    recommendedPosWeight,
  };
}

function causes(p: Counts, t: Counts, cross: number[][], channels: number[], name: (c: number) => string, pw: number[], ratio: number): CollapseCause[] {
  const out: CollapseCause[] = [{
    id: 'activation-before-bce',
    text: 'A sigmoid (or softmax) applied to the model output before BCEWithLogitsLoss: the loss applies its own sigmoid on top, ' +
      'so in its eyes every output lies between 0.5 and 0.73, never confidently negative; the gradients flatten and the channels ' +
      'drift towards the same mask. Feed raw logits to the loss; apply sigmoid and a threshold only at inference.',
  }];
  const allEmpty = channels.every((c) => p.size[c] === 0);
  const like = channels.map((c) => bestTarget(cross, c)).filter((x) => x.dice >= 0.8);
  const same = like.length === channels.length && like.every((x) => x.target === like[0].target);
  out.push({
    id: 'channel-axis-mixup',
    text: 'The stacked targets built along the wrong axis (channels-first [N,C,...] where channels-last [N,...,C] is expected, ' +
      'or masks stacked on a spatial axis), so every output channel is trained towards the same or a shuffled target. ' +
      'Check the target tensor shape and look at each target channel.',
    evidence: allEmpty ? 'every collapsed channel is predicted empty' :
      same ? `every collapsed channel resembles target ${name(like[0].target)} (Dice ${fmt(Math.min(...like.map((x) => x.dice)))} or more)` : undefined,
  });
  const sizes = t.size.map((s, c) => ({ s, c })).sort((x, y) => y.s - x.s);
  if (sizes.length >= 2) {
    const top = sizes[0];
    const others = sizes.slice(1).map((x) => x.s).sort((x, y) => x - y);
    const median = others[Math.floor((others.length - 1) / 2)];
    const dominant = median === 0 ? top.s > 0 : top.s / median >= ratio;
    out.push({
      id: 'dominant-channel-without-pos-weight',
      text: 'One channel (typically the whole structure, which contains the parts) holds far more foreground than the others; ' +
        'with one shared BCE and no per-channel pos_weight its gradient dominates the shared features and the other channels copy it. ' +
        `Use BCEWithLogits pos_weight per channel (negatives/positives from the targets: ${pw.map(fmt).join(', ')}), ` +
        'or a separate whole-structure head with cross-entropy for the parts.',
      evidence: dominant
        ? median === 0
          ? `target ${name(top.c)} has foreground while most other channels have none`
          : `target ${name(top.c)} has ${fmt(top.s / median)}× the median foreground of the other channels`
        : undefined,
    });
  }
  return out;
}

/** Pooled Dice of each predicted channel against each target channel: cross[c][k]. */
function crossDice(pred: readonly (readonly Mask[])[], target: readonly (readonly Mask[])[], p: Counts, t: Counts): number[][] {
  const C = p.size.length;
  const inter = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  pred.forEach((chans, n) => {
    const tc = target[n];
    if (!tc) throw new RangeError(`collapse: ${pred.length} predicted cases, ${target.length} target cases`);
    for (let c = 0; c < C; c++) {
      const a = chans[c];
      for (let k = 0; k < C; k++) {
        const b = tc[k];
        if (a.length !== b.length) throw new RangeError(`collapse: case ${n}: pred channel ${c} and target channel ${k} differ in size`);
        let x = 0;
        for (let v = 0; v < a.length; v++) if (a[v] !== 0 && b[v] !== 0) x++;
        inter[c][k] += x;
      }
    }
  });
  return inter.map((row, c) => row.map((x, k) => {
    const d = diceFromCounts(x, p.size[c], t.size[k]);
    return Number.isNaN(d) ? 1 : d;
  }));
}

function bestTarget(cross: number[][], c: number): { target: number; dice: number } {
  let best = { target: -1, dice: -1 };
  cross[c].forEach((d, k) => { if (d > best.dice) best = { target: k, dice: d }; });
  return best;
}

function fmt(v: number): string {
  return Number.isFinite(v) ? String(+v.toPrecision(3)) : String(v);
}
