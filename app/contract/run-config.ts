/**
 * What a training run reports, as it crosses the contract: its config.json (app/learning/config.ts
 * TrainConfig, whose parser adds the cross-field rules), the collapse finding of a warning
 * (app/metrics/collapse.ts CollapseFinding) and the post-processing plan (app/learning/postprocess.ts).
 * Numbers that may be non-finite are null on the wire.
 */
import { z } from 'zod';

const Int = z.number().int();
const PositiveInt = Int.positive();
const Weight = z.number().nonnegative();
const Name = z.string().max(200);
const WireNum = z.number().nullable();

export const HeadConfigData = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('softmax'), classes: Int.min(2), classWeights: z.array(Weight).max(257).nullable().optional(),
    ceWeight: Weight.optional(), diceWeight: Weight.optional(), includeBackground: z.boolean().optional(),
  }),
  z.strictObject({
    kind: z.literal('sigmoid'), channels: Int.min(1), posWeight: z.array(Weight).max(257).nullable().optional(),
    bceWeight: Weight.optional(), diceWeight: Weight.optional(), includeBackground: z.boolean().optional(),
  }),
  z.strictObject({
    kind: z.literal('joint'), parts: Int.min(1), posWeight: Weight, classWeights: z.array(Weight).max(257).nullable().optional(),
    a: Weight, b: Weight, c: Weight,
  }),
]);

export const RunConfigData = z.strictObject({
  model: z.strictObject({
    spatialDims: z.union([z.literal(2), z.literal(3)]), inChannels: PositiveInt, outChannels: PositiveInt,
    filters: z.array(PositiveInt).min(1).max(7), normalization: z.enum(['none', 'instance']), seed: Int,
  }),
  head: HeadConfigData,
  sampling: z.strictObject({
    spatialDims: z.union([z.literal(2), z.literal(3)]), patch: z.array(PositiveInt).min(2).max(3), context: Int.min(0),
    foregroundFraction: z.number(), flipAxes: z.array(Int.min(0).max(2)).max(3), jitterScale: z.number(), jitterShift: z.number(),
    rotationDeg: z.number(), scaleMax: z.number(), spatialProbability: z.number(),
  }),
  batchSize: PositiveInt, epochs: PositiveInt, stepsPerEpoch: PositiveInt, learningRate: z.number().positive(),
  validateEvery: PositiveInt, earlyStoppingPatience: Int.min(0), seed: Int,
  normalization: z.strictObject({ windowHu: z.tuple([z.number(), z.number()]), mean: z.number(), std: z.number().positive() }),
  layout: z.strictObject({
    ids: z.array(z.string().max(64)).max(256), names: z.array(Name).max(256), colours: z.array(z.string().max(32)).max(256),
    hasWhole: z.boolean(), parts: Int.min(0),
  }),
  trainCases: z.array(z.string().max(256)).max(100_000),
  valCases: z.array(z.string().max(256)).max(100_000),
  /** How sigmoid thresholds were calibrated on validation (absent in runs from before calibration). */
  thresholdRule: z.enum(['dice', 'volume', 'fixed']).optional(),
});
export type RunConfigData = z.infer<typeof RunConfigData>;

export const CollapseFindingData = z.strictObject({
  kind: z.literal('channel-collapse'),
  channels: z.array(Int.min(0)).max(256),
  pairs: z.array(z.strictObject({ a: Int.min(0), b: Int.min(0), pred: WireNum, target: WireNum })).max(65_536),
  /** Channels whose probability is ≥ 0.99 almost everywhere. */
  saturated: z.array(Int.min(0)).max(256).optional(),
  message: z.string().max(8192),
  likelyCauses: z.array(z.strictObject({
    // The last two ids come from runs made before the detector was rewritten (metrics.jsonl keeps them).
    id: z.enum(['activation-before-bce', 'one-hot-targets', 'zero-pos-weight', 'channel-axis-mixup', 'dominant-channel-without-pos-weight']),
    text: z.string().max(8192),
    evidence: z.string().max(8192).optional(),
  })).max(16),
  recommendedPosWeight: z.array(WireNum).max(256).optional(),
});
export type CollapseFindingData = z.infer<typeof CollapseFindingData>;

export const PostprocessPlanData = z.strictObject({
  format: z.literal('osteon-postprocessing/1'),
  largestComponent: z.array(z.boolean()).max(256),
  evidence: z.array(z.strictObject({ id: z.string().max(64), without: WireNum, with: WireNum })).max(256),
  /** Sigmoid head with a whole: the consistency step, applied when it raised validation Dice. */
  consistency: z.strictObject({ apply: z.boolean(), without: WireNum, with: WireNum }).optional(),
});
export type PostprocessPlanData = z.infer<typeof PostprocessPlanData>;
