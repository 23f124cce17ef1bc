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
}

/** Loss terms each head uses: a·BCE (sigmoid channels), b·CE (softmax parts), c·Dice. */
export function usedTerms(head: Head): { a: boolean; b: boolean; c: boolean } {
  return { a: head !== 'softmax', b: head !== 'sigmoid', c: true };
}

export function defaults(plan: TrainPlan): FormValues {
  const ids = plan.cases.map((c) => c.id);
  return {
    caseIds: ids,
    valCaseIds: ids.length > 1 ? [ids[ids.length - 1]] : [],
    head: plan.recommendation?.head ?? 'joint',
    lossWeights: { a: 1, b: 1, c: 1 },
    posWeight: plan.posWeight.map((w) => (w === null ? 1 : Number(w.toPrecision(3)))),
    epochs: 20,
    stepsPerEpoch: 50,
    batchSize: 4,
    filters: modelSizes.small,
    learningRate: 1e-3,
  };
}

export function hasWhole(plan: TrainPlan): boolean {
  return plan.structures[0]?.role === 'whole';
}

export function toRequest(v: FormValues, plan: TrainPlan): TrainRequest {
  const channels = sigmoidChannels(v.head, plan.structures.length, hasWhole(plan));
  return {
    caseIds: v.caseIds, valCaseIds: v.valCaseIds.filter((id) => v.caseIds.includes(id)), head: v.head, lossWeights: v.lossWeights,
    posWeight: channels.length ? channels.map((k) => v.posWeight[k] ?? 1) : 'auto',
    epochs: v.epochs, stepsPerEpoch: v.stepsPerEpoch, batchSize: v.batchSize, filters: v.filters, learningRate: v.learningRate,
  };
}
