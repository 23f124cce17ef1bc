/**
 * Threshold calibration of sigmoid channels on validation data. A sigmoid channel trained with a
 * pos_weight above 1 is trained for a balanced world: at 0.5 it over-segments its structure (on
 * the pelvis the hips came out 31% and 28% too large). Its threshold is chosen on the validation
 * cases instead, by one of two rules:
 *   dice    the threshold with the highest pooled validation Dice;
 *   volume  the threshold whose predicted volume is closest to the true volume;
 *   fixed   0.5 (no calibration; kept for comparison).
 * Softmax parts are an arg-max and have no threshold (reported as null).
 *
 * The result is stored with the run (calibration.json) and applied at inference
 * (app/learning/infer.ts); `volumes` shows predicted against true volume per structure, so
 * over-segmentation is visible at a glance. Pooled over cases: voxels of every case together.
 */
import { BINS, curveFromHistogram, probabilityHistogram, thresholdGrid } from '../metrics/thresholds.ts';
import { sigmoidChannels, type PosWeightHead } from '../labels/pos-weight.ts';

export type ThresholdRule = 'dice' | 'volume' | 'fixed';
export const THRESHOLD_RULES: readonly ThresholdRule[] = ['dice', 'volume', 'fixed'];
/** The default rule, measured by `osteon posweight-table` (docs/pos-weight.md). */
export const DEFAULT_THRESHOLD_RULE: ThresholdRule = 'dice';

/**
 * Candidate thresholds: 0.001 … 0.999, every bin of the histogram (metrics/thresholds.ts BINS),
 * since a channel trained with a large pos_weight puts most of its probabilities above 0.99.
 */
const GRID = thresholdGrid(1 / BINS);

export interface StructureCalibration {
  id: string;
  /** A sigmoid channel (its threshold is calibrated); false for softmax parts. */
  tunable: boolean;
  /** The calibrated threshold; null for softmax parts. */
  threshold: number | null;
  /** Pooled validation Dice at 0.5 and at the calibrated threshold (NaN when undefined). */
  diceAtHalf: number;
  dice: number;
  /** Voxels predicted at 0.5, at the calibrated threshold, and true, pooled over validation cases. */
  predictedAtHalf: number;
  predicted: number;
  truth: number;
}

export interface Calibration {
  format: 'osteon-calibration/1';
  rule: ThresholdRule;
  /** One per structure, channel order; 0.5 for softmax parts (ignored by binarize). */
  thresholds: number[];
  structures: StructureCalibration[];
}

interface Histogram { pos: Float64Array; neg: Float64Array }

/** Voxels with p >= t, and those that are foreground, from a histogram (t on the 1/BINS grid). */
function countsAt(h: Histogram, t: number): { tp: number; predicted: number; truth: number } {
  const b = Math.min(BINS + 1, Math.max(0, Math.ceil(t * BINS - 1e-9)));
  let tp = 0, fp = 0, truth = 0;
  for (let i = 0; i <= BINS; i++) {
    truth += h.pos[i];
    if (i >= b) { tp += h.pos[i]; fp += h.neg[i]; }
  }
  return { tp, predicted: tp + fp, truth };
}

/** The threshold a rule picks from a channel's pooled histogram. */
export function pickThreshold(h: Histogram, rule: ThresholdRule): number {
  switch (rule) {
    case 'fixed': return 0.5;
    case 'dice': {
      const best = curveFromHistogram(h, GRID).best;
      return Number.isFinite(best.dice) ? best.threshold : 0.5;
    }
    case 'volume': {
      // predicted(t) from suffix sums over the bins: voxels with p >= t.
      const suffix = new Float64Array(BINS + 2);
      let truth = 0;
      for (let b = BINS; b >= 0; b--) { suffix[b] = suffix[b + 1] + h.pos[b] + h.neg[b]; truth += h.pos[b]; }
      let best = 0.5, err = Infinity;
      for (const t of GRID) {
        const e = Math.abs(suffix[Math.min(BINS + 1, Math.max(0, Math.ceil(t * BINS - 1e-9)))] - truth);
        // Ties: the one nearer 0.5 (no move without evidence).
        if (e < err || (e === err && Math.abs(t - 0.5) < Math.abs(best - 0.5))) { err = e; best = t; }
      }
      return best;
    }
    default: { const never: never = rule; throw new RangeError(`unknown threshold rule ${String(never)}`); }
  }
}

function diceAt(h: Histogram, t: number): number {
  const { tp, predicted, truth } = countsAt(h, t);
  return predicted + truth > 0 ? (2 * tp) / (predicted + truth) : NaN;
}

/**
 * Calibrates every sigmoid channel of a head on validation probabilities.
 * probs[case][structure] and gts[case][structure] in channel order, on the same grid per case.
 */
export function calibrate(
  probs: readonly (readonly ArrayLike<number>[])[], gts: readonly (readonly Uint8Array[])[],
  head: PosWeightHead, ids: readonly string[], hasWhole: boolean, rule: ThresholdRule,
): Calibration {
  const tunable = new Set(sigmoidChannels(head, ids.length, hasWhole));
  const structures = ids.map((id, k): StructureCalibration => {
    let h: Histogram | undefined;
    probs.forEach((p, n) => { h = probabilityHistogram(p[k], gts[n][k], h); });
    const hist = h ?? { pos: new Float64Array(BINS + 1), neg: new Float64Array(BINS + 1) };
    const on = tunable.has(k);
    const t = on ? pickThreshold(hist, rule) : 0.5;
    const half = countsAt(hist, 0.5), at = countsAt(hist, t);
    return {
      id, tunable: on, threshold: on ? t : null, diceAtHalf: diceAt(hist, 0.5), dice: diceAt(hist, t),
      predictedAtHalf: half.predicted, predicted: at.predicted, truth: at.truth,
    };
  });
  return { format: 'osteon-calibration/1', rule, thresholds: structures.map((s) => s.threshold ?? 0.5), structures };
}

/** Relative volume error (predicted − true)/true; NaN without a true volume. */
export function volumeError(predicted: number, truth: number): number {
  return truth > 0 ? (predicted - truth) / truth : NaN;
}

/** One line per structure: "hip_left: threshold 0.83, volume +31% at 0.5 → +2% calibrated, Dice 0.87 → 0.94". */
export function describeCalibration(c: Calibration): string[] {
  const pct = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}%` : '—');
  const d = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '—');
  return c.structures.map((s) => s.tunable
    ? `${s.id}: threshold ${s.threshold!.toFixed(3)} (${c.rule}); volume ${pct(volumeError(s.predictedAtHalf, s.truth))} at 0.5 → ${pct(volumeError(s.predicted, s.truth))}; Dice ${d(s.diceAtHalf)} → ${d(s.dice)}`
    : `${s.id}: arg-max part; volume ${pct(volumeError(s.predicted, s.truth))}; Dice ${d(s.dice)}`);
}
