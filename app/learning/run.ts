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
import { axialAxis, makeTrainingCase, splitSlab, structureLayout, type TrainingCase } from './data/case.ts';
import { DEFAULT_WINDOW_HU, accumulate, finishStats, normalize, type RunningStats } from './data/normalize.ts';
import { Rng } from './data/rng.ts';
import { sampleBatch, type SamplingConfig } from './data/sampler.ts';
import { headChannels, type HeadConfig, type HeadKind } from './heads.ts';
import { sizeMultiple } from './model/unet.ts';
import { planMemory, type MemoryPlan } from './webgpu/memory.ts';

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
  /** 'auto' = negatives/positives of the training targets as sampled; or explicit values. */
  posWeight: 'auto' | number[];
  /** Joint/sigmoid/softmax term weights: a (BCE), b (CE), c (Dice). */
  lossWeights: { a: number; b: number; c: number };
  /** Validation: explicit case ids, a fraction of cases, or one case split into slabs. */
  split: { kind: 'cases'; ids: string[] } | { kind: 'fraction'; fraction: number } | { kind: 'slab'; trainFraction: number };
  flipAxes: number[];
  windowHu?: [number, number];
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
    case 'slab': return [loaded, []];
    default: { const never: never = split; throw new Error(`unknown split ${JSON.stringify(never)}`); }
  }
}

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

/** negatives/positives per structure channel over sampled training batches (what the loss sees). */
export function sampledPosWeight(cases: TrainingCase[], sampling: SamplingConfig, seed: number, batches = 16, batchSize = 8): number[] {
  const rng = new Rng(seed ^ 0x5eed);
  const S = cases[0].masks.length;
  const pos = new Array<number>(S).fill(0);
  let total = 0;
  for (let b = 0; b < batches; b++) {
    const batch = sampleBatch(cases, sampling, { head: 'sigmoid', fill: 0 }, rng, batchSize);
    const mh = batch.multiHot!;
    for (let q = 0; q < mh.length; q += S) for (let k = 0; k < S; k++) pos[k] += mh[q + k];
    total += mh.length / S;
  }
  return pos.map((p) => (p > 0 ? Math.round(((total - p) / p) * 100) / 100 : 1));
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
  let stats: RunningStats = { n: 0, sum: 0, sumSq: 0 };
  for (const c of trainLoaded) stats = accumulate(stats, c.hu, window);
  const norm = finishStats(stats, window);
  const needClassMap = o.head !== 'sigmoid';
  const build = (c: LoadedCase) => makeTrainingCase(c.id, c.geometry, normalize(c.hu, norm), c.labels, needClassMap);
  let train = trainLoaded.map(build);
  let val = valLoaded.map(build);
  if (o.split.kind === 'slab') {
    if (train.length !== 1) throw usageError(`--split-slab splits one case; --data has ${train.length}`);
    const [a, b] = splitSlab(train[0], axialAxis(train[0].geometry), o.split.trainFraction);
    train = [a];
    val = [b];
  }
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
  const posWeight = o.posWeight === 'auto' ? sampledPosWeight(train, sampling, o.seed) : o.posWeight;
  const S = layout.ids.length;
  if (o.head === 'sigmoid' && posWeight.length !== S) throw usageError(`--pos-weight has ${posWeight.length} values; the sigmoid head has ${S} channels (${layout.ids.join(', ')})`);
  const head = makeHead(o.head, layout.parts, S, layout.hasWhole, o.lossWeights, posWeight);
  const config = checkConfig({
    model: { spatialDims: o.spatialDims, inChannels, outChannels: headChannels(head), filters: o.filters, normalization: o.normalization, seed: o.seed },
    head, sampling, batchSize: memory?.batch ?? o.batchSize, epochs: o.epochs, stepsPerEpoch: o.stepsPerEpoch, learningRate: o.learningRate,
    validateEvery: o.validateEvery, earlyStoppingPatience: o.earlyStoppingPatience, seed: o.seed, normalization: norm, layout,
    trainCases: train.map((c) => c.id), valCases: val.map((c) => c.id),
  });
  mkdirSync(o.runDir, { recursive: true });
  writeJsonAtomic(join(o.runDir, 'config.json'), config);
  writeJsonAtomic(join(o.runDir, 'schema.json'), schema);
  writeJsonAtomic(join(o.runDir, 'run.json'), {
    format: 'osteon-run/1', created: new Date().toISOString(), data: o.dataDir, schema: schemaPath, seed: o.seed,
    backend: backend ? { name: backend.name, package: backend.package, kernels: backend.kernels, adapter: backend.name === 'webgpu' ? backend.adapter : null } : null,
    memory,
  });
  return { config, train, val, memory };
}
