// The training form's model: defaults from the plan, which loss terms and pos_weight channels a
// head uses, and the contract request it becomes.
import type { TrainPlan, TrainRequest } from '../contract.ts';
import { sigmoidChannels } from './sweep.ts';

export type Head = 'softmax' | 'sigmoid' | 'joint';

export const modelSizes: Record<string, number[]> = {
  tiny: [4, 8],
  small: [8, 16, 32],
  medium: [16, 32, 64, 128],
  large: [32, 64, 128, 256],
};

export type ThresholdRule = 'dice' | 'volume';

export interface FormValues {
  caseIds: string[];
  valCaseIds: string[];
  head: Head;
  lossWeights: { a: number; b: number; c: number };
  /** One value per structure (channel order); only the head's sigmoid channels are sent. */
  posWeight: number[];
  epochs: number;
  stepsPerEpoch: number;
  batchSize: number;
  filters: number[];
  learningRate: number;
  /** How each sigmoid channel's threshold is chosen on validation after training. */
  thresholdRule: ThresholdRule;
}

/** Loss terms each head uses: a·BCE (sigmoid channels), b·CE (softmax parts), c·Dice. */
export function usedTerms(head: Head): { a: boolean; b: boolean; c: boolean } {
  return { a: head !== 'softmax', b: head !== 'sigmoid', c: true };
}

export function defaults(plan: TrainPlan): FormValues {
  const ids = plan.selected;
  return {
    caseIds: ids,
    valCaseIds: ids.length > 1 ? [ids[ids.length - 1]] : [],
    head: plan.recommendation?.head ?? 'joint',
    lossWeights: { a: 1, b: 1, c: 1 },
    posWeight: suggestedPosWeight(plan),
    epochs: 20,
    stepsPerEpoch: 50,
    batchSize: 4,
    filters: modelSizes.small,
    learningRate: 1e-3,
    thresholdRule: 'dice',
  };
}

/** The suggested pos_weight per structure, as the form shows and prefills it. */
export function suggestedPosWeight(plan: TrainPlan): number[] {
  return plan.posWeight.map((w) => (w === null ? 1 : Number(w.toPrecision(3))));
}

/** Validation cases that are also used (a tick left on an unused case is ignored, never a blocker). */
export function usedValidation(v: Pick<FormValues, 'caseIds' | 'valCaseIds'>): string[] {
  return v.valCaseIds.filter((id) => v.caseIds.includes(id));
}

/** Why Start is disabled, one reason per problem; empty when the form can start. */
export function blockers(v: FormValues, plan: TrainPlan, filtersOk: boolean, busy: boolean): string[] {
  const out: string[] = [];
  if (busy) out.push('a run is starting or running');
  if (v.caseIds.length === 0) out.push('no case chosen: tick at least one case under Cases and split');
  const val = usedValidation(v);
  if (v.caseIds.length > 0 && val.length >= v.caseIds.length) out.push('every chosen case is a validation case: leave at least one for training');
  if (!filtersOk) out.push('filters per level: give 2 to 7 whole numbers, e.g. 8, 16, 32');
  const num = (x: number, lo: number, hi: number, int: boolean) => Number.isFinite(x) && x >= lo && x <= hi && (!int || Number.isInteger(x));
  if (!num(v.epochs, 1, 10000, true)) out.push('epochs: a whole number from 1 to 10000');
  if (!num(v.stepsPerEpoch, 1, 100000, true)) out.push('steps / epoch: a whole number from 1 to 100000');
  if (!num(v.batchSize, 1, 256, true)) out.push('batch: a whole number from 1 to 256');
  if (!num(v.learningRate, 1e-7, 1, false)) out.push('learning rate: a number above 0, at most 1');
  for (const t of ['a', 'b', 'c'] as const) if (!num(v.lossWeights[t], 0, 100, false)) out.push(`loss weight ${t}: a number from 0 to 100`);
  const terms = usedTerms(v.head);
  if ((terms.a ? v.lossWeights.a : 0) + (terms.b ? v.lossWeights.b : 0) + v.lossWeights.c <= 0) out.push('every loss term this head uses has weight 0');
  for (const k of sigmoidChannels(v.head, plan)) {
    const w = v.posWeight[k];
    if (!(Number.isFinite(w) && w > 0 && w <= 1e6)) out.push(`pos_weight of ${plan.structures[k]?.name ?? k}: a number above 0`);
  }
  const bad = v.caseIds.filter((id) => plan.cases.find((c) => c.id === id)?.selectable === false);
  if (bad.length) out.push(`${bad.join(', ')}: another schema than the other chosen cases`);
  return out;
}

export function hasWhole(plan: TrainPlan): boolean {
  return plan.structures[0]?.role === 'whole';
}

export function toRequest(v: FormValues, plan: TrainPlan): TrainRequest {
  const channels = sigmoidChannels(v.head, plan);
  return {
    caseIds: v.caseIds, valCaseIds: usedValidation(v), head: v.head, lossWeights: v.lossWeights,
    posWeight: channels.length ? channels.map((k) => v.posWeight[k] ?? 1) : 'auto',
    epochs: v.epochs, stepsPerEpoch: v.stepsPerEpoch, batchSize: v.batchSize, filters: v.filters, learningRate: v.learningRate,
    thresholdRule: v.thresholdRule,
  };
}
