/**
 * A training run's configuration, validated with zod when read from a file or the UI and stored
 * in the run folder (config.json) so inference and resume use exactly what training used.
 */
import { z } from 'zod';
import { headConfigSchema } from './heads.ts';
import type { HeadConfig } from './heads.ts';
import type { SamplingConfig } from './data/sampler.ts';
import type { Normalization } from './data/normalize.ts';
import type { StructureLayout } from './data/case.ts';
import type { UNetConfig } from './model/unet.ts';
import type { ThresholdRule } from './calibrate.ts';

export interface TrainConfig {
  model: UNetConfig;
  head: HeadConfig;
  sampling: SamplingConfig;
  batchSize: number;
  epochs: number;
  stepsPerEpoch: number;
  learningRate: number;
  /** Validate (per-structure Dice, collapse check) every N epochs. */
  validateEvery: number;
  /** Stop when mean validation Dice has not improved for this many validations; 0 = never. */
  earlyStoppingPatience: number;
  seed: number;
  normalization: Normalization;
  layout: StructureLayout;
  /** Case ids used for training and validation (slab splits carry a ':slab…' suffix). */
  trainCases: string[];
  valCases: string[];
  /** How sigmoid thresholds are calibrated on validation (calibrate.ts); absent in older runs = 'dice'. */
  thresholdRule?: ThresholdRule;
}

const positiveInt = z.number().int().positive();

export const trainConfigSchema = z.strictObject({
  model: z.strictObject({
    spatialDims: z.union([z.literal(2), z.literal(3)]),
    inChannels: positiveInt,
    outChannels: positiveInt,
    filters: z.array(positiveInt).min(1).max(7),
    normalization: z.enum(['none', 'instance']),
    seed: z.number().int(),
  }),
  head: headConfigSchema,
  sampling: z.strictObject({
    spatialDims: z.union([z.literal(2), z.literal(3)]),
    patch: z.array(positiveInt).min(2).max(3),
    context: z.number().int().min(0).max(8),
    foregroundFraction: z.number().min(1 / 3).max(1),
    flipAxes: z.array(z.number().int().min(0).max(2)),
    jitterScale: z.number().min(0).max(1),
    jitterShift: z.number().min(0).max(5),
    rotationDeg: z.number().min(0).max(180),
    scaleMax: z.number().min(1).max(2),
    spatialProbability: z.number().min(0).max(1),
  }),
  batchSize: positiveInt.max(256),
  epochs: positiveInt.max(100000),
  stepsPerEpoch: positiveInt.max(100000),
  learningRate: z.number().positive().max(1),
  validateEvery: positiveInt,
  earlyStoppingPatience: z.number().int().min(0),
  seed: z.number().int(),
  normalization: z.strictObject({ windowHu: z.tuple([z.number(), z.number()]), mean: z.number(), std: z.number().positive() }),
  layout: z.strictObject({ ids: z.array(z.string()), names: z.array(z.string()), colours: z.array(z.string()), hasWhole: z.boolean(), parts: z.number().int().min(0) }),
  trainCases: z.array(z.string()),
  valCases: z.array(z.string()),
  thresholdRule: z.enum(['dice', 'volume', 'fixed']).optional(),
});

export function checkConfig(value: unknown): TrainConfig {
  return trainConfigSchema.parse(value) as TrainConfig;
}
