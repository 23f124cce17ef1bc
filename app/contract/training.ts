/**
 * Training, runs, evaluation and threshold tuning on the wire. The TrainEvent schemas mirror
 * app/learning/train.ts (TrainEvent) one for one; a test parses every event a real run emits.
 * Non-finite numbers (a NaN Dice when both masks are empty) travel as null: JSON has no NaN.
 */
import { z } from 'zod';
import { CollapseFindingData, PostprocessPlanData, RunConfigData } from './run-config.ts';
import { Id, IsoTime, Name } from './schemas.ts';

/** A metric that may be undefined (NaN/Infinity become null on the wire). */
export const Num = z.number().nullable();

export const HeadKind = z.enum(['softmax', 'sigmoid', 'joint']);
export type HeadKind = z.infer<typeof HeadKind>;

export const LossValues = z.strictObject({ total: Num, bce: Num.optional(), ce: Num.optional(), dice: Num.optional() });
export type LossValues = z.infer<typeof LossValues>;

export const Validation = z.strictObject({
  dice: z.array(Num).max(64),
  meanDice: Num,
  perCase: z.array(z.strictObject({ caseId: z.string().max(200), dice: z.array(Num).max(64) })).max(4096),
  loss: LossValues.optional(),
  /** Thresholds calibrated on validation per structure; null for softmax parts (arg-max). */
  thresholds: z.array(Num).max(64).optional(),
  /** Predicted and true volume per structure (mL, summed over the validation cases). */
  volumeMl: z.strictObject({ predicted: z.array(Num).max(64), truth: z.array(Num).max(64) }).optional(),
});

export const ThresholdRule = z.enum(['dice', 'volume', 'fixed']);
export type ThresholdRule = z.infer<typeof ThresholdRule>;

/** app/learning/calibrate.ts Calibration: the run's thresholds, chosen on validation. */
export const Calibration = z.strictObject({
  format: z.literal('osteon-calibration/1'),
  rule: ThresholdRule,
  thresholds: z.array(z.number()).max(64),
  structures: z.array(z.strictObject({
    id: z.string().max(64), tunable: z.boolean(), threshold: z.number().nullable(), diceAtHalf: Num, dice: Num,
    predictedAtHalf: z.number(), predicted: z.number(), truth: z.number(),
  })).max(64),
});
export type Calibration = z.infer<typeof Calibration>;

const Ids = z.array(z.string().max(200)).max(4096);

export const TrainEventData = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('start'), runDir: z.string().max(4096), structures: z.array(z.string().max(64)).max(64), params: z.number(),
    trainCases: Ids, valCases: Ids, startEpoch: z.number().int(), epochs: z.number().int(), stepsPerEpoch: z.number().int(),
    /** On webgpu: the batch and patch chosen from the adapter's limits, as a sentence. */
    memory: z.string().max(2000).optional(),
  }),
  z.strictObject({
    type: z.literal('step'), epoch: z.number().int(), step: z.number().int(), stepsPerEpoch: z.number().int(),
    loss: LossValues, samplesPerSec: Num, etaSec: Num,
  }),
  z.strictObject({ type: z.literal('epoch'), epoch: z.number().int(), loss: LossValues, seconds: z.number(), validation: Validation.optional() }),
  z.strictObject({ type: z.literal('checkpoint'), kind: z.enum(['last', 'best']), epoch: z.number().int(), path: z.string().max(4096), meanDice: Num.optional() }),
  z.strictObject({
    type: z.literal('warning'), code: z.enum(['channel-collapse', 'whole-not-union']), epoch: z.number().int(), message: z.string().max(8192),
    /** app/metrics/collapse.ts CollapseFinding (channels, pairs, likelyCauses) for channel-collapse; null otherwise. */
    finding: CollapseFindingData.nullable(),
    /** channel-collapse: which episode, and how many validations in a row it has lasted (1 = the first warning). */
    episode: z.number().int().optional(), count: z.number().int().optional(),
  }),
  z.strictObject({ type: z.literal('calibration'), calibration: Calibration }),
  z.strictObject({ type: z.literal('postprocessing'), plan: PostprocessPlanData }),
  z.strictObject({ type: z.literal('paused') }),
  z.strictObject({ type: z.literal('resumed') }),
  z.strictObject({
    type: z.literal('done'), reason: z.enum(['completed', 'cancelled', 'early-stopped', 'non-finite-loss']), epoch: z.number().int(),
    bestEpoch: z.number().int().nullable(), bestMeanDice: Num, message: z.string().max(8192),
  }),
]);
export type TrainEventData = z.infer<typeof TrainEventData>;

export const TrainRequest = z.strictObject({
  /** Cases to use (train + validation); each needs labels. */
  caseIds: z.array(Id).min(1).max(4096),
  /** Validation cases (a subset of caseIds); empty = a fraction chosen by the seed. */
  valCaseIds: z.array(Id).max(4096).default([]),
  valFraction: z.number().min(0.05).max(0.9).default(0.25),
  head: HeadKind,
  lossWeights: z.strictObject({ a: z.number().min(0).max(100), b: z.number().min(0).max(100), c: z.number().min(0).max(100) }),
  /**
   * Per sigmoid channel (every structure for the sigmoid head, the whole for joint), or a rule
   * applied to negatives/positives of the sampled targets ('auto' = the measured default rule).
   */
  posWeight: z.union([z.enum(['auto', 'one', 'sqrt', 'ratio']), z.array(z.number().positive().max(1e6)).min(1).max(64)]),
  epochs: z.number().int().min(1).max(10_000),
  stepsPerEpoch: z.number().int().min(1).max(100_000),
  batchSize: z.number().int().min(1).max(256).default(4),
  filters: z.array(z.number().int().min(1).max(1024)).min(2).max(7),
  spatialDims: z.union([z.literal(2), z.literal(3)]).default(2),
  learningRate: z.number().positive().max(1).default(1e-3),
  seed: z.number().int().min(0).max(2 ** 31).default(1),
  note: z.string().max(4096).optional(),
  /** How sigmoid thresholds are calibrated on validation (maximise Dice or match the volume); default 'dice'. */
  thresholdRule: ThresholdRule.optional(),
  /** Set when the run is one point of a pos_weight sweep. */
  sweep: z.strictObject({ id: Id, value: z.number() }).optional(),
});
export type TrainRequest = z.input<typeof TrainRequest>;

export const RunStatus = z.enum(['running', 'completed', 'cancelled', 'early-stopped', 'non-finite-loss', 'failed', 'interrupted', 'unknown']);

export const RunSummary = z.strictObject({
  id: Id,
  created: IsoTime,
  note: z.string().max(4096).optional(),
  status: RunStatus,
  head: z.string().max(32).nullable(),
  structures: z.array(z.string().max(64)).max(64),
  epochs: z.number().int().nullable(),
  epochsDone: z.number().int(),
  bestMeanDice: Num,
  posWeight: z.array(z.number()).max(64).nullable(),
  sweep: z.strictObject({ id: z.string().max(64), value: z.number() }).nullable(),
});
export type RunSummary = z.infer<typeof RunSummary>;

export const EpochRecord = z.strictObject({
  epoch: z.number().int(), loss: LossValues, seconds: z.number(), validation: Validation.optional(),
  /** Mean samples/s over the epoch's last step. */
  samplesPerSec: Num,
});
export type EpochRecord = z.infer<typeof EpochRecord>;

export const RunDetail = z.strictObject({
  summary: RunSummary,
  /** The run's config.json (app/learning/config.ts TrainConfig). */
  config: RunConfigData.nullable(),
  history: z.array(EpochRecord).max(100_000),
  warnings: z.array(z.strictObject({ epoch: z.number().int(), message: z.string().max(8192), finding: CollapseFindingData.nullable() })).max(10_000),
  message: z.string().max(8192).nullable(),
});
export type RunDetail = z.infer<typeof RunDetail>;

export const CellMetrics = z.strictObject({
  dice: Num, hd95: Num, nsd: Num, boundaryDice: Num, precision: Num, recall: Num,
  /** The slice (index along the axial axis) where this structure's prediction is worst (most wrong voxels). */
  worstSlice: z.number().int().nullable(),
});
export type CellMetrics = z.infer<typeof CellMetrics>;

export const RunEvaluation = z.strictObject({
  runId: Id,
  structures: z.array(z.string().max(64)).max(64),
  names: z.array(z.string().max(200)).max(64),
  axialAxis: z.number().int().min(0).max(2),
  toleranceMm: z.number(),
  cases: z.array(z.strictObject({
    caseId: z.string().max(200),
    metrics: z.array(CellMetrics).max(64),
    /** Whole-vs-parts consistency of the prediction: fraction of part voxels inside the whole (null without a whole). */
    consistency: Num,
  })).max(4096),
});
export type RunEvaluation = z.infer<typeof RunEvaluation>;

export const ThresholdCurve = z.strictObject({
  structure: z.string().max(64),
  /** Tuned: a sigmoid channel (its threshold is used at inference); softmax parts are arg-max. */
  tunable: z.boolean(),
  thresholds: z.array(z.number()).max(1000),
  precision: z.array(Num).max(1000),
  recall: z.array(Num).max(1000),
  dice: z.array(Num).max(1000),
  best: z.strictObject({ threshold: z.number(), dice: Num }),
  posWeight: z.number().nullable(),
});
export type ThresholdCurve = z.infer<typeof ThresholdCurve>;

export const RunThresholds = z.strictObject({
  runId: Id, curves: z.array(ThresholdCurve).max(64),
  /** The thresholds calibrated after training (calibration.json), which inference uses unless others are kept. */
  calibration: Calibration.nullable().optional(),
});
export type RunThresholds = z.infer<typeof RunThresholds>;

const Channels = z.array(z.number().int().min(0)).max(64);

export const TrainPlan = z.strictObject({
  /** Every labelled case; `selectable` false (with the reason) when its schema differs from the chosen cases'. */
  cases: z.array(z.strictObject({
    id: Id, name: Name, voxels: z.number().int(), schema: z.string().max(200).nullable(), selectable: z.boolean(), reason: z.string().max(1000).nullable(),
  })).max(4096),
  /** The cases the numbers below come from (the request's caseIds, or the first schema's cases). */
  selected: z.array(Id).max(4096),
  structures: z.array(z.strictObject({ id: z.string().max(64), name: z.string().max(200), role: z.string().max(32) })).max(64),
  recommendation: z.strictObject({ head: HeadKind, reason: z.string().max(8192) }).nullable(),
  /** Suggested pos_weight per structure: the default rule on negatives/positives pooled over the chosen cases. */
  posWeight: z.array(z.number().nullable()).max(64),
  /** negatives/positives per structure, pooled over the chosen cases. */
  posWeightRatio: z.array(z.number().nullable()).max(64),
  posWeightRule: z.enum(['one', 'sqrt', 'ratio']),
  /** What pos_weight does and why the default is what it is, with the measured numbers. */
  posWeightExplanation: z.string().max(4000),
  /** Structure indices that take a pos_weight, per head (app/labels/pos-weight.ts sigmoidChannels). */
  posWeightChannels: z.strictObject({ softmax: Channels, sigmoid: Channels, joint: Channels }),
  /** Seconds per unit (one sample × Σ filters) measured by this project's earlier runs, or null. */
  secondsPerUnit: Num,
  basis: z.string().max(1000),
});
export type TrainPlan = z.infer<typeof TrainPlan>;

export const ConfigDifference = z.strictObject({ key: z.string().max(200), values: z.array(z.string().max(1000)).max(16) });
export type ConfigDifference = z.infer<typeof ConfigDifference>;
