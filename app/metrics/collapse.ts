/**
 * Channel-collapse detector for sigmoid (BCE) channels: "the model outputs the same
 * segmentation in all channels", the failure this project's design discussion started from.
 *
 * For each pair of the given sigmoid channels a, b the agreement of the predicted masks is
 * compared with the agreement of the same pair of targets, pooled over the cases:
 *   agree(X_a, X_b) = 2·Σ_n |X_a ∩ X_b| / (Σ_n |X_a| + Σ_n |X_b|)
 * A pair where both predicted channels are empty, or both targets are, says nothing and is
 * ignored (an empty pair is not "full agreement"). A pair is collapsed when the predictions agree
 * at least `minPredAgreement` (0.5) and at least `minExcess` (0.35) more than the targets do:
 * the model makes two channels alike where the data keeps them apart. A collapse is a group of
 * at least three such channels (two when the head has only two), every pair of it flagged. This catches
 * - the hard collapse (every channel the same mask: agreement near 1, disjoint targets near 0);
 * - the soft collapse (every channel ≈ the whole: part pairs agree 0.6–0.7 while their targets
 *   agree 0), which a threshold at 0.75 missed;
 * while a nested pair (the whole vs one of its parts: targets agree about 0.5) needs a
 * prediction agreeing 0.85 or more to count.
 *
 * Softmax parts are exclusive by construction (an arg-max) and never passed in: the advice is
 * about BCE. app/learning/train.ts turns findings into one warning per episode (CollapseMonitor),
 * confirmed at two validations in a row, with a count while it lasts.
 */
import { diceFromCounts } from './dice.ts';
import type { Mask } from './grid.ts';

export interface CollapseOptions {
  /** Sigmoid channel indices to compare (default: every channel). */
  channels?: readonly number[];
  minPredAgreement?: number;
  minExcess?: number;
  /** Channel names for the message, e.g. ['whole', 'part 1', 'part 2', 'part 3']. */
  channelNames?: readonly string[];
  /** The run's pos_weight per channel (index as in `channels`' structure order), when known. */
  posWeight?: readonly (number | null)[];
  /**
   * Per channel, the fraction of voxels whose probability is at least 0.99 (pooled over cases),
   * when the caller has probabilities: a channel saturated "on" almost everywhere is stuck there.
   */
  saturation?: readonly number[];
}

/** A channel counts as saturated when p ≥ 0.99 in at least this fraction of voxels … */
const SATURATED_FRACTION = 0.5;
/** … and in at least this many times its true foreground fraction. */
const SATURATED_EXCESS = 5;

export interface PairAgreement {
  a: number;
  b: number;
  pred: number;
  target: number;
}

export type CollapseCauseId = 'activation-before-bce' | 'one-hot-targets' | 'zero-pos-weight';

export interface CollapseCause {
  id: CollapseCauseId;
  text: string;
  /** What in the masks or the run points to this cause, when anything does. */
  evidence?: string;
}

export interface CollapseFinding {
  kind: 'channel-collapse';
  channels: number[];
  pairs: PairAgreement[];
  /** Channels whose probability is ≥ 0.99 almost everywhere (see CollapseOptions.saturation). */
  saturated: number[];
  message: string;
  likelyCauses: CollapseCause[];
}

interface Counts {
  size: number[];
  inter: number[][];
}

/** Per-channel foreground counts and pairwise intersections pooled over cases[n][c]. */
function pool(cases: readonly (readonly Mask[])[], what: string): Counts {
  const C = cases.length ? cases[0].length : 0;
  const size = new Array<number>(C).fill(0);
  const inter = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  const on = new Int32Array(C);
  for (const [n, chans] of cases.entries()) {
    if (chans.length !== C) throw new RangeError(`collapse: ${what} case ${n} has ${chans.length} channels, case 0 has ${C}`);
    const len = C ? chans[0].length : 0;
    chans.forEach((m, c) => { if (m.length !== len) throw new RangeError(`collapse: ${what} case ${n} channel ${c} has ${m.length} voxels, channel 0 ${len}`); });
    for (let v = 0; v < len; v++) {
      let k = 0;
      for (let c = 0; c < C; c++) if (chans[c][v] !== 0) on[k++] = c;
      for (let i = 0; i < k; i++) {
        size[on[i]]++;
        for (let j = i + 1; j < k; j++) inter[on[i]][on[j]]++;
      }
    }
  }
  return { size, inter };
}

/** Pairwise agreement (a < b) of predictions and targets over `channels`; pairs with both predictions or both targets empty are left out. */
export function pairwiseAgreement(pred: readonly (readonly Mask[])[], target: readonly (readonly Mask[])[], channels?: readonly number[]): PairAgreement[] {
  const p = pool(pred, 'pred'), t = pool(target, 'target');
  if (p.size.length !== t.size.length) throw new RangeError(`collapse: ${p.size.length} predicted channels, ${t.size.length} target channels`);
  if (pred.length !== target.length) throw new RangeError(`collapse: ${pred.length} predicted cases, ${target.length} target cases`);
  const ch = channels ?? p.size.map((_, c) => c);
  const out: PairAgreement[] = [];
  for (let i = 0; i < ch.length; i++) {
    for (let j = i + 1; j < ch.length; j++) {
      const a = ch[i], b = ch[j];
      const pa = diceFromCounts(p.inter[a][b], p.size[a], p.size[b]);
      const ta = diceFromCounts(t.inter[a][b], t.size[a], t.size[b]);
      if (Number.isNaN(pa) || Number.isNaN(ta)) continue;
      out.push({ a, b, pred: pa, target: ta });
    }
  }
  return out;
}

/** Returns a finding when predicted sigmoid channels agree far more than their targets, else null. */
export function detectChannelCollapse(
  pred: readonly (readonly Mask[])[],
  target: readonly (readonly Mask[])[],
  opts: CollapseOptions = {},
): CollapseFinding | null {
  const minPred = opts.minPredAgreement ?? 0.5, minExcess = opts.minExcess ?? 0.35;
  const flagged = pairwiseAgreement(pred, target, opts.channels).filter((q) => q.pred >= minPred && q.pred - q.target >= minExcess);
  const considered = opts.channels ?? (pred[0] ?? []).map((_, c) => c);
  const group = collapsedGroup(flagged, Math.min(3, considered.length));
  const truth = targetFractions(target);
  const saturated = opts.saturation
    ? considered.filter((c) => (opts.saturation![c] ?? 0) >= SATURATED_FRACTION && opts.saturation![c] >= SATURATED_EXCESS * truth[c])
    : [];
  if (!group && !saturated.length) return null;
  const pairs = group ? flagged.filter((q) => group.includes(q.a) && group.includes(q.b)) : [];
  const name = (c: number) => opts.channelNames?.[c] ?? `channel ${c}`;
  const channels = [...new Set([...pairs.flatMap((q) => [q.a, q.b]), ...saturated])].sort((x, y) => x - y);
  const range = (v: number[]) => `${fmt(Math.min(...v))}–${fmt(Math.max(...v))}`;
  const pct = (x: number) => `${fmt(100 * x)}%`;
  const message = [
    pairs.length ? `Predicted ${[...new Set(pairs.flatMap((q) => [q.a, q.b]))].sort((x, y) => x - y).map(name).join(', ')} agree far more than their targets do ` +
      `(pairwise Dice ${range(pairs.map((q) => q.pred))} in the prediction vs ${range(pairs.map((q) => q.target))} in the targets): ` +
      'the model is making these channels the same mask.' : '',
    saturated.length ? `${saturated.map((c) => `${name(c)} has probability ≥ 0.99 in ${pct(opts.saturation![c])} of the voxels (its structure fills ${pct(truth[c])})`).join('; ')}: ` +
      'the channel is stuck "on" everywhere, so no threshold can recover its shape.' : '',
  ].filter(Boolean).join(' ');
  return { kind: 'channel-collapse', channels, pairs, saturated, message, likelyCauses: causes(channels, name, opts.posWeight) };
}

/** Foreground fraction per target channel, pooled over cases. */
function targetFractions(target: readonly (readonly Mask[])[]): number[] {
  const C = target[0]?.length ?? 0;
  const on = new Array<number>(C).fill(0);
  let n = 0;
  for (const chans of target) {
    n += chans[0]?.length ?? 0;
    chans.forEach((m, c) => { for (let v = 0; v < m.length; v++) if (m[v] !== 0) on[c]++; });
  }
  return on.map((x) => (n ? x / n : 0));
}

/**
 * The largest set of at least `min` channels in which every pair is flagged; null when none.
 * A collapse makes several channels one mask; a single alike pair is not one (two mirror-image
 * parts, left and right hip, that a young 2D model still confuses agree 0.7–0.85 on the phantom
 * while the other channels stay apart).
 */
function collapsedGroup(flagged: readonly PairAgreement[], min: number): number[] | null {
  if (min < 2) return null;
  const key = (a: number, b: number) => `${Math.min(a, b)},${Math.max(a, b)}`;
  const edges = new Set(flagged.map((q) => key(q.a, q.b)));
  const nodes = [...new Set(flagged.flatMap((q) => [q.a, q.b]))].sort((x, y) => x - y);
  let best: number[] | null = null;
  // Few sigmoid channels (≤ 64, usually ≤ 8): grow cliques greedily from each node, in order.
  for (const start of nodes) {
    const clique = [start];
    for (const n of nodes) if (n !== start && clique.every((c) => edges.has(key(c, n)))) clique.push(n);
    if (clique.length >= min && (!best || clique.length > best.length)) best = clique.sort((x, y) => x - y);
  }
  return best;
}

function causes(channels: number[], name: (c: number) => string, posWeight: CollapseOptions['posWeight']): CollapseCause[] {
  const zero = posWeight ? channels.filter((c) => posWeight[c] === 0) : [];
  return [
    {
      id: 'activation-before-bce',
      text: 'Check that no sigmoid (or softmax) is applied to the model output before BCEWithLogitsLoss: the loss applies its own ' +
        'sigmoid, so the outputs it sees never leave 0.5–0.73 and the channels drift to the same mask. Feed raw logits to the loss.',
    },
    {
      id: 'one-hot-targets',
      text: 'Check the targets: a sigmoid head needs one 0/1 mask per structure (multi-hot, channels-last [N,…,C]), not a one-hot ' +
        'of a class map, not the same mask copied into every channel, and not masks stacked along the wrong axis. Look at each target channel.',
    },
    {
      id: 'zero-pos-weight',
      text: 'Check pos_weight: a channel with pos_weight 0 never pays for missed foreground and learns nothing of its own.',
      ...(zero.length ? { evidence: `this run has pos_weight 0 on ${zero.map(name).join(', ')}` } : posWeight ? { evidence: 'this run has no pos_weight of 0' } : {}),
    },
  ];
}

/**
 * Warnings per collapse episode. A young model often outputs alike parts for one validation and
 * then pulls them apart, so a collapse must be found at two validations in a row before it
 * warns (or at the run's last validation, when there is no next one to wait for). The first
 * warning of an episode carries `first`; each later validation that still finds it raises the
 * count (the host updates one warning instead of stacking copies); a clean validation ends it.
 */
export class CollapseMonitor {
  #episode = 0;
  #count = 0;
  #warned = false;

  /** Folds one validation's result in; returns the episode and its length while a confirmed collapse lasts, else null. */
  observe(finding: CollapseFinding | null, last = false): { episode: number; count: number; first: boolean } | null {
    if (!finding) { this.#count = 0; this.#warned = false; return null; }
    this.#count++;
    if (this.#count < 2 && !last) return null;
    const first = !this.#warned;
    if (first) { this.#episode++; this.#warned = true; }
    return { episode: this.#episode, count: this.#count, first };
  }
}

function fmt(v: number): string {
  return Number.isFinite(v) ? String(+v.toPrecision(3)) : String(v);
}
