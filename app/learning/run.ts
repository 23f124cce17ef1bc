/**
 * From user options to a ready run: loads the cases, splits them by case (or one case by slab),
 * computes the CT normalisation on the training cases, fills in the head (pos_weight from the
 * training targets when asked), writes the run folder's config.json, schema.json and run.json.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../util/atomic.ts';
import { badInput, usageError } from '../util/errors.ts';
import type { BackendReport } from './backend.ts';
import { checkConfig, type TrainConfig } from './config.ts';
import { findCases, loadCase, resolveSchema, type CaseFiles, type LoadedCase } from './dataset.ts';
import { axialAxis, makeTrainingCase, splitBlocks, splitSlab, structureLayout, type TrainingCase } from './data/case.ts';
import { DEFAULT_WINDOW_HU, accumulate, finishStats, normalize, type RunningStats } from './data/normalize.ts';
import { Rng } from './data/rng.ts';
import { sampleBatch, type SamplingConfig } from './data/sampler.ts';
import { headChannels, type HeadConfig, type HeadKind } from './heads.ts';
import { DEFAULT_POS_WEIGHT_RULE, countMultiHot, posWeightForHead, posWeightFromRule, type ChannelCount, type PosWeightRule } from '../labels/pos-weight.ts';
import { sizeMultiple } from './model/unet.ts';
import { planMemory, type MemoryPlan } from './webgpu/memory.ts';
import { DEFAULT_THRESHOLD_RULE, type ThresholdRule } from './calibrate.ts';
import { wholeVsUnion } from '../labels/analysis.ts';

export interface RunOptions {
  dataDir: string;
  /** These cases instead of the case folders found in dataDir (the app trains on a project's chosen cases). */
  cases?: CaseFiles[];
  schemaPath?: string;
  runDir: string;
  head: HeadKind;
  spatialDims: 2 | 3;
  filters: number[];
  normalization: 'none' | 'instance';
  patch?: number[];
  context: number;
  epochs: number;
  stepsPerEpoch: number;
  batchSize: number;
  learningRate: number;
  validateEvery: number;
  earlyStoppingPatience: number;
  seed: number;
  /**
   * A rule applied to negatives/positives of the training targets as sampled ('auto' = the
   * default rule, app/labels/pos-weight.ts), or explicit values: one per sigmoid channel of the
   * head, or one per structure (the head keeps its sigmoid channels').
   */
  posWeight: 'auto' | PosWeightRule | number[];
  /** Joint/sigmoid/softmax term weights: a (BCE), b (CE), c (Dice). */
  lossWeights: { a: number; b: number; c: number };
  /** Validation: explicit case ids, a fraction of cases, or one case split into slabs. */
  split: { kind: 'cases'; ids: string[] } | { kind: 'fraction'; fraction: number } | { kind: 'slab'; trainFraction: number }
    | { kind: 'blocks'; block: number; every: number };
  flipAxes: number[];
  windowHu?: [number, number];
  /** How sigmoid thresholds are calibrated on validation (calibrate.ts); default DEFAULT_THRESHOLD_RULE. */
  thresholdRule?: ThresholdRule;
  /** 2D spatial augmentation; defaults 15°, 1.15, 0.5. */
  rotationDeg?: number;
  scaleMax?: number;
  spatialProbability?: number;
}

export interface PreparedRun {
  config: TrainConfig;
  train: TrainingCase[];
  val: TrainingCase[];
  /** On webgpu: the batch and patch chosen from the adapter's limits (webgpu/memory.ts). */
  memory: MemoryPlan | null;
  /** Told to the user before training (train.ts emits them as warnings at epoch 0). */
  notices: Array<{ code: 'whole-not-union'; message: string }>;
}

/**
 * A softmax head's whole is the union of its parts: voxels of the whole in no part can never be
 * predicted. Says so, with the counts, when the training labels have such voxels.
 */
function softmaxHierarchyNotice(head: HeadKind, loaded: readonly LoadedCase[]): PreparedRun['notices'] {
  if (head !== 'softmax') return [];
  let wholeOnly = 0, partsOutside = 0;
  for (const c of loaded) {
    const wu = wholeVsUnion(c.labels);
    if (wu) { wholeOnly += wu.wholeNotUnion; partsOutside += wu.unionNotWhole; }
  }
  if (wholeOnly + partsOutside === 0) return [];
  return [{
    code: 'whole-not-union',
    message: `The whole differs from the union of its parts in the training labels (${wholeOnly} voxels of the whole are in no part, ` +
      `${partsOutside} part voxels lie outside the whole). A softmax head predicts the whole as the union of its parts, so it cannot learn ` +
      'those voxels. The joint head (a sigmoid whole + softmax parts) can: it is the recommended head for these labels.',
  }];
}

function splitCases(loaded: LoadedCase[], split: RunOptions['split'], seed: number): [LoadedCase[], LoadedCase[]] {
  switch (split.kind) {
    case 'cases': {
      const ids = new Set(split.ids);
      for (const id of ids) if (!loaded.some((c) => c.id === id)) throw usageError(`--val-cases: no case "${id}" (cases: ${loaded.map((c) => c.id).join(', ')})`);
      return [loaded.filter((c) => !ids.has(c.id)), loaded.filter((c) => ids.has(c.id))];
    }
    case 'fraction': {
      if (loaded.length < 2) throw usageError(`only ${loaded.length} case: validation by case needs at least 2 (use --split-slab to split one case)`);
      const order = new Rng(seed).shuffle(loaded.map((_, i) => i));
      const nVal = Math.min(loaded.length - 1, Math.max(1, Math.round(loaded.length * split.fraction)));
      const val = new Set(order.slice(0, nVal));
      return [loaded.filter((_, i) => !val.has(i)), loaded.filter((_, i) => val.has(i))];
    }
    case 'slab': case 'blocks': return [loaded, []];
    default: { const never: never = split; throw new Error(`unknown split ${JSON.stringify(never)}`); }
  }
}

/** posWeight: the head's sigmoid channels' values (app/labels/pos-weight.ts posWeightForHead). */
function makeHead(kind: HeadKind, parts: number, structures: number, hasWhole: boolean, w: RunOptions['lossWeights'], posWeight: number[]): HeadConfig {
  switch (kind) {
    case 'joint':
      if (!hasWhole) throw usageError('the joint head needs a schema with a "whole" structure');
      return { kind: 'joint', parts, posWeight: posWeight[0], classWeights: null, a: w.a, b: w.b, c: w.c };
    case 'sigmoid':
      return { kind: 'sigmoid', channels: structures, posWeight, bceWeight: w.a, diceWeight: w.c, includeBackground: true };
    case 'softmax':
      return { kind: 'softmax', classes: parts + 1, classWeights: null, ceWeight: w.b, diceWeight: w.c, includeBackground: false };
    default: { const never: never = kind; throw new Error(`unknown head ${String(never)}`); }
  }
}

/** Foreground and background counts per structure channel over sampled training batches (what the loss sees). */
export function sampledCounts(cases: TrainingCase[], sampling: SamplingConfig, seed: number, batches = 16, batchSize = 8): ChannelCount[] {
  const rng = new Rng(seed ^ 0x5eed);
  const S = cases[0].masks.length;
  let counts: ChannelCount[] | undefined;
  for (let b = 0; b < batches; b++) {
    const batch = sampleBatch(cases, sampling, { head: 'sigmoid', fill: 0 }, rng, batchSize);
    counts = countMultiHot(batch.multiHot!, S, counts);
  }
  return counts ?? [];
}

/** Resolves RunOptions.posWeight to the head's sigmoid channels' values. */
function resolvePosWeight(o: RunOptions, train: TrainingCase[], sampling: SamplingConfig, layout: { ids: string[]; hasWhole: boolean }): number[] {
  const S = layout.ids.length;
  if (Array.isArray(o.posWeight)) {
    try { return posWeightForHead(o.head, o.posWeight, S, layout.hasWhole); } catch (e) {
      throw usageError(`--pos-weight: ${(e as Error).message} (${layout.ids.join(', ')})`);
    }
  }
  const rule = o.posWeight === 'auto' ? DEFAULT_POS_WEIGHT_RULE : o.posWeight;
  return posWeightFromRule(o.head, sampledCounts(train, sampling, o.seed), rule, layout.hasWhole);
}

function defaultPatch(cases: TrainingCase[], dims: 2 | 3, multiple: number): number[] {
  const max = (axis: number) => Math.max(...cases.map((c) => c.geometry.dims[axis]));
  const fit = (n: number, cap: number) => Math.min(Math.ceil(n / multiple) * multiple, cap);
  if (dims === 3) return [fit(max(2), 64), fit(max(1), 64), fit(max(0), 64)];
  const s = axialAxis(cases[0].geometry);
  const others = [0, 1, 2].filter((a) => a !== s);
  return [fit(max(others[1]), 256), fit(max(others[0]), 256)];
}

export function prepareRun(o: RunOptions, backend: BackendReport | null): PreparedRun {
  if (existsSync(o.runDir) && readdirSync(o.runDir).length > 0) throw badInput(o.runDir, 'path', 'the run folder exists and is not empty; choose a new --out, or --resume it');
  const found = o.cases ?? findCases(o.dataDir);
  const { schema, path: schemaPath } = resolveSchema(o.dataDir, o.schemaPath);
  const loaded = found.map((c) => loadCase(c, schema, schemaPath));
  const [trainLoaded, valLoaded] = splitCases(loaded, o.split, o.seed);
  const window = o.windowHu ?? DEFAULT_WINDOW_HU;
  const needClassMap = o.head !== 'sigmoid';
  // Cases hold HU until the split is final, so the normalisation sees training voxels only (a
  // slab split's validation slab must not leak into it).
  const build = (c: LoadedCase) => makeTrainingCase(c.id, c.geometry, Float32Array.from(c.hu), c.labels, needClassMap);
  let train = trainLoaded.map(build);
  let val = valLoaded.map(build);
  if (o.split.kind === 'slab') {
    if (train.length !== 1) throw usageError(`--split-slab splits one case; --data has ${train.length}`);
    const [a, b] = splitSlab(train[0], axialAxis(train[0].geometry), o.split.trainFraction);
    train = [a];
    val = [b];
  } else if (o.split.kind === 'blocks') {
    if (train.length !== 1) throw usageError(`a block split cuts one case; --data has ${train.length}`);
    [train, val] = splitBlocks(train[0], axialAxis(train[0].geometry), o.split.block, o.split.every);
  }
  let stats: RunningStats = { n: 0, sum: 0, sumSq: 0 };
  for (const c of train) stats = accumulate(stats, c.image, window);
  const norm = finishStats(stats, window);
  train = train.map((c) => ({ ...c, image: normalize(c.image, norm) }));
  val = val.map((c) => ({ ...c, image: normalize(c.image, norm) }));
  const layout = structureLayout(loaded[0].labels);
  const multiple = sizeMultiple({ filters: o.filters });
  const patch = o.patch ?? defaultPatch(train, o.spatialDims, multiple);
  if (patch.length !== o.spatialDims) throw usageError(`--patch has ${patch.length} sizes; a ${o.spatialDims}D model needs ${o.spatialDims}`);
  const bad = patch.find((p) => p % multiple !== 0);
  if (bad !== undefined) throw usageError(`--patch ${patch.join(',')}: every size must be a multiple of ${multiple} (${o.filters.length - 1} poolings)`);
  const inChannels = o.spatialDims === 2 ? 2 * o.context + 1 : 1;
  // On webgpu the largest tensor of a step must fit one storage-buffer binding of the adapter.
  const memory = backend?.name === 'webgpu' && backend.adapter
    ? planMemory({ spatialDims: o.spatialDims, batch: o.batchSize, patch, filters: o.filters, inChannels, outChannels: layout.ids.length + 1, multiple }, backend.adapter.limits.maxStorageBufferBindingSize)
    : null;
  if (memory) patch.splice(0, patch.length, ...memory.patch);
  const sampling: SamplingConfig = {
    spatialDims: o.spatialDims, patch, context: o.spatialDims === 2 ? o.context : 0, foregroundFraction: 1 / 3,
    flipAxes: o.flipAxes, jitterScale: 0.1, jitterShift: 0.1,
    rotationDeg: o.spatialDims === 2 ? o.rotationDeg ?? 15 : 0, scaleMax: o.spatialDims === 2 ? o.scaleMax ?? 1.15 : 1,
    spatialProbability: o.spatialDims === 2 ? o.spatialProbability ?? 0.5 : 0,
  };
  const posWeight = resolvePosWeight(o, train, sampling, layout);
  const S = layout.ids.length;
  const head = makeHead(o.head, layout.parts, S, layout.hasWhole, o.lossWeights, posWeight);
  const config = checkConfig({
    model: { spatialDims: o.spatialDims, inChannels, outChannels: headChannels(head), filters: o.filters, normalization: o.normalization, seed: o.seed },
    head, sampling, batchSize: memory?.batch ?? o.batchSize, epochs: o.epochs, stepsPerEpoch: o.stepsPerEpoch, learningRate: o.learningRate,
    validateEvery: o.validateEvery, earlyStoppingPatience: o.earlyStoppingPatience, seed: o.seed, normalization: norm, layout,
    trainCases: train.map((c) => c.id), valCases: val.map((c) => c.id), thresholdRule: o.thresholdRule ?? DEFAULT_THRESHOLD_RULE,
  });
  mkdirSync(o.runDir, { recursive: true });
  writeJsonAtomic(join(o.runDir, 'config.json'), config);
  writeJsonAtomic(join(o.runDir, 'schema.json'), schema);
  writeJsonAtomic(join(o.runDir, 'run.json'), {
    format: 'osteon-run/1', created: new Date().toISOString(), data: o.dataDir, schema: schemaPath, seed: o.seed,
    backend: backend ? { name: backend.name, package: backend.package, kernels: backend.kernels, adapter: backend.name === 'webgpu' ? backend.adapter : null } : null,
    memory,
  });
  return { config, train, val, memory, notices: softmaxHierarchyNotice(o.head, trainLoaded) };
}
