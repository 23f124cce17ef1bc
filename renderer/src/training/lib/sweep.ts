// The pos_weight sweep's grid: which pos_weight vector each queued short run gets.
// Only sigmoid channels take a pos_weight; which ones comes with the plan (train.plan).
import type { TrainPlan } from '../contract.ts';

export type SweepMode = 'scale-all' | 'grid';

/** Sigmoid channels of a head, as indices into the structure list: the plan carries them (app/labels/pos-weight.ts decides). */
export function sigmoidChannels(head: 'softmax' | 'sigmoid' | 'joint', plan: Pick<TrainPlan, 'posWeightChannels'>): number[] {
  return plan.posWeightChannels[head];
}

/**
 * The pos_weight vectors of a sweep. 'scale-all': one run per factor, every channel's base value
 * times that factor. 'grid': the Cartesian product of per-channel factors (capped at `max` runs,
 * which throws rather than silently dropping points). Values are rounded to 3 significant digits.
 */
export function sweepGrid(base: readonly number[], factors: readonly number[], mode: SweepMode, max = 27): number[][] {
  if (!base.length) throw new RangeError('no sigmoid channel to sweep: the softmax head has no pos_weight');
  if (!factors.length || factors.some((f) => !(f > 0))) throw new RangeError('sweep factors must be positive numbers');
  const round = (v: number) => Number(v.toPrecision(3));
  if (mode === 'scale-all') return factors.map((f) => base.map((b) => round(b * f)));
  const n = factors.length ** base.length;
  if (n > max) throw new RangeError(`a grid of ${factors.length} values over ${base.length} channels is ${n} runs (at most ${max}); use scale-all or fewer values`);
  let rows: number[][] = [[]];
  for (const b of base) rows = rows.flatMap((r) => factors.map((f) => [...r, round(b * f)]));
  return rows;
}

/** Parses "0.25, 1, 4" into factors; null when any entry is not a positive number. */
export function parseFactors(text: string): number[] | null {
  const parts = text.split(/[\s,;]+/).filter(Boolean).map(Number);
  return parts.length && parts.every((x) => Number.isFinite(x) && x > 0) ? parts : null;
}
