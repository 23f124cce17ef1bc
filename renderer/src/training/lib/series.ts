// Chart series from a run's per-epoch history: loss components and per-structure validation Dice.
import type { EpochRecord } from '../contract.ts';

export const lossKeys = ['total', 'bce', 'ce', 'dice'] as const;
export type LossKey = (typeof lossKeys)[number];
export const lossLabels: Record<LossKey, string> = { total: 'total', bce: 'BCE', ce: 'CE', dice: 'Dice loss' };

export function epochs(history: readonly EpochRecord[]): number[] {
  return history.map((h) => h.epoch);
}

/** The loss components present in a history (a softmax run has no BCE, a sigmoid run no CE). */
export function presentLosses(history: readonly EpochRecord[]): LossKey[] {
  return lossKeys.filter((k) => history.some((h) => typeof h.loss[k] === 'number'));
}

export function lossSeries(history: readonly EpochRecord[], key: LossKey): (number | null)[] {
  return history.map((h) => h.loss[key] ?? null);
}

/** Train and validation loss curves: one colour per component, validation dashed. */
export interface LossCurve { label: string; component: LossKey; split: 'train' | 'val'; values: (number | null)[] }

/** The loss components present in the validation losses of a history. */
export function presentValLosses(history: readonly EpochRecord[]): LossKey[] {
  return lossKeys.filter((k) => history.some((h) => typeof h.validation?.loss?.[k] === 'number'));
}

/** Validation loss component per epoch; null where the epoch was not validated. */
export function valLossSeries(history: readonly EpochRecord[], key: LossKey): (number | null)[] {
  return history.map((h) => h.validation?.loss?.[key] ?? null);
}

/** Every train loss component, then every validation loss component, in lossKeys order. */
export function lossCurves(history: readonly EpochRecord[]): LossCurve[] {
  return [
    ...presentLosses(history).map((k) => ({ label: `train ${lossLabels[k]}`, component: k, split: 'train' as const, values: lossSeries(history, k) })),
    ...presentValLosses(history).map((k) => ({ label: `val ${lossLabels[k]}`, component: k, split: 'val' as const, values: valLossSeries(history, k) })),
  ];
}

/** Validation Dice of structure k per epoch; null where the epoch was not validated. */
export function diceSeries(history: readonly EpochRecord[], k: number): (number | null)[] {
  return history.map((h) => h.validation?.dice[k] ?? null);
}

export function meanDiceSeries(history: readonly EpochRecord[]): (number | null)[] {
  return history.map((h) => h.validation?.meanDice ?? null);
}

/** The collapse finding's causes, as sentences (the finding is app/metrics/collapse.ts CollapseFinding). */
export function collapseCauses(finding: unknown): { text: string; evidence?: string }[] {
  const f = finding as { likelyCauses?: { text?: unknown; evidence?: unknown }[] } | null;
  return (f?.likelyCauses ?? []).filter((c) => typeof c.text === 'string').map((c) => ({ text: c.text as string, ...(typeof c.evidence === 'string' ? { evidence: c.evidence } : {}) }));
}
