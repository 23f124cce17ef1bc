/**
 * The training loop: Adam on the head's loss, batches from the sampler, validation Dice per
 * structure every `validateEvery` epochs, checkpoints (last, and best by mean validation Dice)
 * written atomically, resume, pause/cancel, NaN/Inf stop, early stopping, and the channel-collapse
 * check on validation predictions. It reports through `onEvent` and never prints.
 *
 * Runs in a worker thread in the app (worker/) so the window never waits on it.
 */
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { writeJsonAtomic } from '../util/atomic.ts';
import { dice, nanMean } from '../metrics/dice.ts';
import { CollapseMonitor, detectChannelCollapse, type CollapseFinding } from '../metrics/collapse.ts';
import { headPosWeight, sigmoidChannels } from '../labels/pos-weight.ts';
import { DEFAULT_THRESHOLD_RULE, calibrate, type Calibration } from './calibrate.ts';
import type { TrainConfig } from './config.ts';
import { loadOptimizer, loadParams, readCheckpoint, saveCheckpoint } from './checkpoint.ts';
import { lossFor } from './heads.ts';
import { createAdam } from './native/loss-adam.ts';
import { createTrainStep } from './step.ts';
import { PROFILE_STEPS, StepProfiler, profileRequested, renderProfile } from './profile.ts';
import { batchTensors, disposeTarget } from './batch.ts';
import type { TrainingCase } from './data/case.ts';
import { paddingValue } from './data/normalize.ts';
import { Rng } from './data/rng.ts';
import { sampleBatch, type Batch } from './data/sampler.ts';
import { createParams, disposeParams, forward, countParams, type Params } from './model/unet.ts';
import { binarize, predictVolume, type PredictOptions } from './predict.ts';
import { decideConsistency, decidePlan, type PostprocessPlan } from './postprocess.ts';
import type { Vec3 } from '../imaging/volume.ts';

export interface LossValues { total: number; bce?: number; ce?: number; dice?: number }

export interface Validation {
  /** Mean Dice per structure (channel order), NaN where every case had both masks empty. */
  dice: number[];
  /** Mean over structures. */
  meanDice: number;
  /** Dice per case (rows) per structure. */
  perCase: Array<{ caseId: string; dice: number[] }>;
  /** The head's loss on fixed, unaugmented validation batches (see validationLoss). */
  loss?: LossValues;
  /** Thresholds calibrated on these cases per structure (null: a softmax part, arg-max). */
  thresholds?: Array<number | null>;
  /** Predicted and true volume per structure in mL, summed over the validation cases. */
  volumeMl?: { predicted: number[]; truth: number[] };
}

export type WarningCode = 'channel-collapse' | 'whole-not-union';

export type DoneReason = 'completed' | 'cancelled' | 'early-stopped' | 'non-finite-loss';

export type TrainEvent =
  | { type: 'start'; runDir: string; structures: string[]; params: number; trainCases: string[]; valCases: string[]; startEpoch: number; epochs: number; stepsPerEpoch: number; memory?: string }
  | { type: 'step'; epoch: number; step: number; stepsPerEpoch: number; loss: LossValues; samplesPerSec: number; etaSec: number }
  | { type: 'epoch'; epoch: number; loss: LossValues; seconds: number; validation?: Validation }
  | { type: 'checkpoint'; kind: 'last' | 'best'; epoch: number; path: string; meanDice?: number }
  /**
   * channel-collapse: once per episode (count 1), then again with the count while it lasts;
   * whole-not-union: before training (epoch 0), a softmax head on labels whose whole is not the union of its parts.
   */
  | { type: 'warning'; code: WarningCode; epoch: number; message: string; finding: CollapseFinding | null; episode?: number; count?: number }
  | { type: 'calibration'; calibration: Calibration }
  | { type: 'postprocessing'; plan: PostprocessPlan }
  | { type: 'paused' } | { type: 'resumed' }
  | { type: 'done'; reason: DoneReason; epoch: number; bestEpoch: number | null; bestMeanDice: number | null; message: string };

/** Pause/cancel switches, polled between steps. */
export class TrainControl {
  private paused = false;
  private cancelled = false;
  private wake: (() => void) | null = null;

  pause(): void { this.paused = true; }
  resume(): void { this.paused = false; this.wake?.(); }
  cancel(): void { this.cancelled = true; this.wake?.(); }
  get isCancelled(): boolean { return this.cancelled; }
  get isPaused(): boolean { return this.paused; }
  /** Resolves when not paused (or cancelled). */
  async waitWhilePaused(): Promise<void> {
    while (this.paused && !this.cancelled) await new Promise<void>((r) => { this.wake = r; });
    this.wake = null;
  }
}

export interface TrainOptions {
  runDir: string;
  /** Resume from this checkpoint file (runDir/checkpoints/last.ckpt typically). */
  resumeFrom?: string;
  control?: TrainControl;
  onEvent: (e: TrainEvent) => void;
  /** How batch and patch were fitted to the device (webgpu/memory.ts), shown with the start event. */
  memory?: string;
  /**
   * Applied to the network output before the loss, in training steps only: a seam for
   * reproducing users' mistakes in tests (the seed's sigmoid before BCEWithLogits). Never set by
   * the app or the CLI.
   */
  lossInputHook?: (logits: tf.Tensor) => tf.Tensor;
  /**
   * With OSTEON_PROFILE=1 (`osteon train --profile`): receives the per-op time table of a few
   * steps (profile.ts), once. A diagnostic for people, not an event.
   */
  onProfile?: (table: string) => void;
  /** Warnings to give before the first step (run.ts PreparedRun.notices). */
  notices?: ReadonlyArray<{ code: WarningCode; message: string }>;
}

/** How validation predicts a case (the training patch and context, air outside the volume). */
export function validationPredictOptions(cfg: TrainConfig): PredictOptions {
  return { context: cfg.sampling.context, patch: cfg.sampling.patch, fill: paddingValue(cfg.normalization), hasWhole: cfg.layout.hasWhole };
}

export interface ValidationResult {
  validation: Validation;
  collapse: CollapseFinding | null;
  /** Binary masks at the calibrated thresholds, per case per structure. */
  preds: Uint8Array[][];
  probs: Float32Array[][];
  calibration: Calibration;
}

/** Predicts every validation case (async: a GPU read-back), then scores it (scoreValidation). */
export async function validate(params: Params, cfg: TrainConfig, cases: readonly TrainingCase[]): Promise<ValidationResult> {
  const probs: Float32Array[][] = [];
  for (const c of cases) probs.push(await predictVolume(params, cfg.model, cfg.head, c.image, c.geometry, validationPredictOptions(cfg)));
  return scoreValidation(cfg, cases, probs);
}

/**
 * Scores predicted probabilities (one entry per validation case): calibrates the sigmoid
 * thresholds on them (calibrate.ts, the run's rule), scores each structure (Dice at those
 * thresholds, predicted vs true volume) and checks the sigmoid channels for collapse. Shared by
 * the worker's loop and the GPU host's (services side).
 */
export function scoreValidation(cfg: TrainConfig, cases: readonly TrainingCase[], probs: Float32Array[][]): ValidationResult {
  const gts = cases.map((c) => c.masks);
  const { ids, names, hasWhole } = cfg.layout;
  const calibration = calibrate(probs, gts, cfg.head.kind, ids, hasWhole, cfg.thresholdRule ?? DEFAULT_THRESHOLD_RULE);
  const preds = probs.map((p) => binarize(p, cfg.head, hasWhole, calibration.thresholds));
  const perCase: Validation['perCase'] = cases.map((c, n) => ({ caseId: c.id, dice: preds[n].map((m, k) => dice(m, c.masks[k]).dice) }));
  const S = ids.length;
  const per = Array.from({ length: S }, (_, k) => nanMean(perCase.map((p) => p.dice[k])).mean);
  const ml = (masks: Uint8Array[][]) => Array.from({ length: S }, (_, k) => masks.reduce((sum, m, n) => {
    const [sx, sy, sz] = cases[n].geometry.spacing;
    let v = 0;
    for (const x of m[k]) v += x;
    return sum + (v * sx * sy * sz) / 1000;
  }, 0));
  const sig = sigmoidChannels(cfg.head.kind, S, hasWhole);
  const pw = headPosWeight(cfg.head);
  const saturation = Array.from({ length: S }, (_, k) => {
    let on = 0, n = 0;
    for (const p of probs) { const q = p[k]; n += q.length; for (let v = 0; v < q.length; v++) if (q[v] >= 0.99) on++; }
    return n ? on / n : 0;
  });
  const collapse = sig.length > 0
    ? detectChannelCollapse(preds, gts, { channels: sig, channelNames: names, saturation, posWeight: ids.map((_, k) => (sig.includes(k) ? pw[sig.indexOf(k)] : null)) })
    : null;
  return {
    validation: {
      dice: per, meanDice: nanMean(per).mean, perCase,
      thresholds: calibration.structures.map((s) => s.threshold), volumeMl: { predicted: ml(preds), truth: ml(gts) },
    },
    collapse, preds, probs, calibration,
  };
}

/** Validation batches per loss estimate: the same ones every validation (a fixed seed). */
const VAL_LOSS_BATCHES = 4;

/** VAL_LOSS_BATCHES batches of cfg.batchSize cut by the training sampler with a fixed seed and no augmentation. */
export function validationBatches(cfg: TrainConfig, cases: readonly TrainingCase[]): Batch[] {
  const sampling = { ...cfg.sampling, flipAxes: [], jitterScale: 0, jitterShift: 0, spatialProbability: 0 };
  const rng = new Rng(cfg.seed * 104729 + 17);
  const fill = paddingValue(cfg.normalization);
  return Array.from({ length: VAL_LOSS_BATCHES }, () => sampleBatch(cases, sampling, { head: cfg.head.kind, fill }, rng, cfg.batchSize));
}

/** The head's loss (total and components) on validation cases, forward only, on validationBatches. */
export async function validationLoss(params: Params, cfg: TrainConfig, cases: readonly TrainingCase[]): Promise<LossValues> {
  const loss = lossFor(cfg.head);
  const all: LossValues[] = [];
  for (const b of validationBatches(cfg, cases)) {
    const { x, target } = batchTensors(b, cfg.head);
    const scalars = tf.tidy(() => {
      const r = loss(forward(params, cfg.model, x), target as never);
      const out: Record<string, tf.Tensor> = { total: r.total };
      for (const [k, v] of Object.entries(r.components)) if (v) out[k] = v as tf.Tensor;
      return out;
    });
    const values: Record<string, number> = {};
    for (const [k, t] of Object.entries(scalars)) values[k] = (await t.data())[0];
    tf.dispose(Object.values(scalars));
    x.dispose();
    disposeTarget(target);
    const lv: LossValues = { total: values.total };
    for (const k of ['bce', 'ce', 'dice'] as const) if (k in values) lv[k] = values[k];
    all.push(lv);
  }
  return meanLossValues(all);
}

/** Mean of each loss term over batches (a term is kept when the first batch has it). */
export function meanLossValues(values: LossValues[]): LossValues {
  const lv: LossValues = { total: mean(values.map((v) => v.total)) };
  for (const k of ['bce', 'ce', 'dice'] as const) if (values[0]?.[k] !== undefined) lv[k] = mean(values.map((v) => v[k] ?? NaN));
  return lv;
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

/** Passes each event on, after appending it to the run's metrics.jsonl (every event but mid-epoch steps). */
export function runEventSink(runDir: string, onEvent: (e: TrainEvent) => void): (e: TrainEvent) => void {
  const metricsPath = join(runDir, 'metrics.jsonl');
  return (e) => {
    if (e.type !== 'step' || e.step === e.stepsPerEpoch) appendFileSync(metricsPath, JSON.stringify({ time: new Date().toISOString(), ...e }, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)) + '\n');
    onEvent(e);
  };
}

type Done = TrainEvent & { type: 'done' };

/** Where a run's arithmetic happens: this process's tfjs (train) or the GPU host page (gpu-host-train.ts). */
export interface TrainEngine {
  /** Trainable parameters, for the start event. */
  params: number;
  /** One Adam step on a batch: its loss values. */
  step(batch: Batch): Promise<LossValues>;
  /** After each step: lets the thread breathe (the worker), or nothing. */
  afterStep?(): Promise<void>;
  /** Validation Dice, thresholds, volumes and the validation loss of the current weights; the collapse check. */
  validate(): Promise<{ validation: Validation; collapse: CollapseFinding | null }>;
  /** The current weights, once per epoch; `save` writes them (parameters, and Adam's state with `optimizer`) atomically. */
  snapshot(): Promise<{ save(path: string, epoch: number, optimizer: boolean, meta: Record<string, unknown>): Promise<void> }>;
  /** Before the first epoch of a new run (the worker writes an epoch-0 checkpoint). */
  beforeFirstEpoch?(): Promise<void>;
  /** With the best checkpoint, after training: calibration and post-processing (writeDecisions). */
  decide(emit: (e: TrainEvent) => void): Promise<void>;
  /** Frees the model; everything is on disk by then. */
  dispose(): Promise<void>;
}

/** Where a run stands: the first epoch to train, the best validation so far, validations since it. */
export interface LoopState { startEpoch: number; bestMeanDice: number | null; bestEpoch: number | null; sinceBest: number }

/** A new run's state, or a resumed one's from its last checkpoint's epoch and meta. */
export function loopState(ck?: { epoch: number; meta: Record<string, unknown> }): LoopState {
  if (!ck) return { startEpoch: 1, bestMeanDice: null, bestEpoch: null, sinceBest: 0 };
  const m = ck.meta;
  return {
    startEpoch: ck.epoch + 1,
    bestMeanDice: typeof m.bestMeanDice === 'number' ? m.bestMeanDice : null,
    bestEpoch: typeof m.bestEpoch === 'number' ? m.bestEpoch : null,
    // Validations since the best one (early stopping); checkpointed so a resume keeps counting.
    sinceBest: typeof m.sinceBest === 'number' && Number.isInteger(m.sinceBest) && m.sinceBest >= 0 ? m.sinceBest : 0,
  };
}

/**
 * The epoch loop both training paths share: batches from Rng(seed, epoch), pause/cancel between
 * steps, the NaN/Inf stop, validation and the collapse monitor, best/last checkpoints, early
 * stopping, the post-processing decisions, status.json and the done event (after everything is on
 * disk: a host may end the worker on it). `status` adds fields to status.json.
 */
export async function runEpochs(cfg: TrainConfig, trainCases: readonly TrainingCase[], valCases: readonly TrainingCase[], opts: TrainOptions, engine: TrainEngine, state: LoopState, status: Record<string, unknown> = {}): Promise<Done> {
  const control = opts.control ?? new TrainControl();
  const ckDir = join(opts.runDir, 'checkpoints');
  mkdirSync(ckDir, { recursive: true });
  const emit = runEventSink(opts.runDir, opts.onEvent);
  let { bestMeanDice, bestEpoch, sinceBest } = state;
  const fill = paddingValue(cfg.normalization);
  emit({ type: 'start', runDir: opts.runDir, structures: cfg.layout.ids, params: engine.params, trainCases: cfg.trainCases, valCases: cfg.valCases, startEpoch: state.startEpoch, epochs: cfg.epochs, stepsPerEpoch: cfg.stepsPerEpoch, ...(opts.memory ? { memory: opts.memory } : {}) });
  if (!opts.resumeFrom) await engine.beforeFirstEpoch?.();
  for (const n of opts.notices ?? []) emit({ type: 'warning', code: n.code, epoch: 0, message: n.message, finding: null });
  const monitor = new CollapseMonitor();
  const profiler = profileRequested() ? new StepProfiler() : null;
  let profilePrinted = false;
  const printProfile = (): void => {
    profilePrinted = true;
    if (profiler && profiler.steps > 0) opts.onProfile?.(renderProfile(profiler.report('training step')));
  };
  const finish = async (reason: DoneReason, epoch: number, message: string): Promise<Done> => {
    if (!profilePrinted) printProfile();
    const e = { type: 'done' as const, reason, epoch, bestEpoch, bestMeanDice, message };
    writeJsonAtomic(join(opts.runDir, 'status.json'), { reason, epoch, bestEpoch, bestMeanDice, message, ...status, finished: new Date().toISOString() });
    await engine.dispose();
    emit(e);
    return e;
  };
  const lastPath = join(ckDir, 'last.ckpt');
  const t0 = Date.now();
  let stepsDone = 0;
  for (let epoch = state.startEpoch; epoch <= cfg.epochs; epoch++) {
    const rng = new Rng(cfg.seed * 7919 + epoch);
    const epochStart = Date.now();
    const losses: LossValues[] = [];
    for (let step = 1; step <= cfg.stepsPerEpoch; step++) {
      if (control.isPaused) { emit({ type: 'paused' }); await control.waitWhilePaused(); if (!control.isCancelled) emit({ type: 'resumed' }); }
      if (control.isCancelled) return finish('cancelled', epoch - 1, `cancelled during epoch ${epoch}; the last checkpoint is from epoch ${epoch - 1}`);
      const b = sampleBatch(trainCases, cfg.sampling, { head: cfg.head.kind, fill }, rng, cfg.batchSize);
      // OSTEON_PROFILE=1: the per-op table of steps 2..PROFILE_STEPS+1 (step 1 warms up).
      const lv = profiler && stepsDone >= 1 && profiler.steps < PROFILE_STEPS ? await profiler.step(() => engine.step(b)) : await engine.step(b);
      if (profiler && profiler.steps === PROFILE_STEPS && !profilePrinted) printProfile();
      if (!Number.isFinite(lv.total)) {
        return finish('non-finite-loss', epoch - 1, `loss became ${lv.total} at epoch ${epoch}, step ${step}; training stopped. The last good checkpoint (epoch ${epoch - 1}) is kept. Try a lower learning rate.`);
      }
      losses.push(lv);
      stepsDone++;
      const elapsed = (Date.now() - t0) / 1000;
      const remaining = (cfg.epochs - epoch) * cfg.stepsPerEpoch + (cfg.stepsPerEpoch - step);
      emit({ type: 'step', epoch, step, stepsPerEpoch: cfg.stepsPerEpoch, loss: lv, samplesPerSec: (stepsDone * cfg.batchSize) / elapsed, etaSec: (elapsed / stepsDone) * remaining });
      await engine.afterStep?.();
    }
    let validation: Validation | undefined;
    if (valCases.length && (epoch % cfg.validateEvery === 0 || epoch === cfg.epochs)) {
      const v = await engine.validate();
      validation = v.validation;
      const ep = monitor.observe(v.collapse, epoch === cfg.epochs);
      if (v.collapse && ep) emit({ type: 'warning', code: 'channel-collapse', epoch, message: v.collapse.message, finding: v.collapse, episode: ep.episode, count: ep.count });
    }
    emit({ type: 'epoch', epoch, loss: meanLossValues(losses), seconds: (Date.now() - epochStart) / 1000, validation });
    const weights = await engine.snapshot();
    if (validation && Number.isFinite(validation.meanDice) && (bestMeanDice === null || validation.meanDice > bestMeanDice)) {
      bestMeanDice = validation.meanDice;
      bestEpoch = epoch;
      sinceBest = 0;
      const bestPath = join(ckDir, 'best.ckpt');
      await weights.save(bestPath, epoch, false, { meanDice: validation.meanDice, dice: validation.dice });
      emit({ type: 'checkpoint', kind: 'best', epoch, path: bestPath, meanDice: validation.meanDice });
    } else if (validation) sinceBest++;
    await weights.save(lastPath, epoch, true, { bestMeanDice, bestEpoch, sinceBest });
    emit({ type: 'checkpoint', kind: 'last', epoch, path: lastPath });
    if (cfg.earlyStoppingPatience > 0 && sinceBest >= cfg.earlyStoppingPatience) {
      await engine.decide(emit);
      return finish('early-stopped', epoch, `no improvement of mean validation Dice for ${sinceBest} validations; best ${bestMeanDice?.toFixed(4)} at epoch ${bestEpoch}`);
    }
  }
  await engine.decide(emit);
  return finish('completed', cfg.epochs, `completed ${cfg.epochs} epochs${bestMeanDice !== null ? `; best mean validation Dice ${bestMeanDice.toFixed(4)} at epoch ${bestEpoch}` : ''}`);
}

export async function train(cfg: TrainConfig, trainCases: readonly TrainingCase[], valCases: readonly TrainingCase[], opts: TrainOptions): Promise<Done> {
  const params = createParams(cfg.model);
  // Adam fused into one native call on the wasm+dnnl rung (native/loss-adam.ts), tf.train.adam elsewhere.
  const optimizer = createAdam(cfg.learningRate);
  const loss = lossFor(cfg.head);
  let state = loopState();
  if (opts.resumeFrom) {
    const ck = readCheckpoint(opts.resumeFrom);
    loadParams(ck, params, opts.resumeFrom);
    // Adam restores its moments by position, in the params' order (step.ts's varList).
    await loadOptimizer(ck, optimizer);
    state = loopState(ck);
  }
  // One step: native on wasm+dnnl (native/net-step.ts), tfjs's minimize elsewhere (step.ts).
  const stepper = createTrainStep(params, cfg.model, loss as never, optimizer, opts.lossInputHook);
  const save = (path: string, epoch: number, withOptimizer: boolean, meta: Record<string, unknown>) => saveCheckpoint(path, epoch, params, withOptimizer ? optimizer : null, meta);
  const engine: TrainEngine = {
    params: countParams(params),
    async step(b) {
      const { x, target } = batchTensors(b, cfg.head);
      const { total, components: comps } = stepper.run(x, target);
      const lv: LossValues = { total: total ? (await total.data())[0] : NaN };
      for (const [k, v] of Object.entries(comps)) { lv[k as 'bce'] = (await v.data())[0]; v.dispose(); }
      total?.dispose();
      x.dispose();
      disposeTarget(target);
      return lv;
    },
    afterStep: () => new Promise((r) => setImmediate(r)),
    async validate() {
      // The native step's buffers (a batch's activations and gradients) are not needed meanwhile.
      stepper.release();
      const v = await validate(params, cfg, valCases);
      return { validation: { ...v.validation, loss: await validationLoss(params, cfg, valCases) }, collapse: v.collapse };
    },
    snapshot: async () => ({ save }),
    // An epoch-0 checkpoint: a kill during epoch 1 leaves a run that resumes (losing < 1 epoch).
    // The sampler needs no state: each epoch's batches come from Rng(seed, epoch).
    beforeFirstEpoch: () => save(join(opts.runDir, 'checkpoints', 'last.ckpt'), 0, true, { bestMeanDice: null, bestEpoch: null, sinceBest: 0 }),
    decide: (emit) => decidePostprocessing(cfg, valCases, opts.runDir, emit),
    dispose: async () => { stepper.dispose(); disposeParams(params); optimizer.dispose(); },
  };
  return runEpochs(cfg, trainCases, valCases, opts, engine, state);
}

/**
 * After training, on the validation cases with the best checkpoint: the calibrated thresholds
 * (calibration.json, applied at inference), then nnU-Net's rule for keeping the largest
 * component per structure and, for a sigmoid head with a whole, the consistency step, each kept
 * where it raised validation Dice (postprocessing.json).
 */
async function decidePostprocessing(cfg: TrainConfig, valCases: readonly TrainingCase[], runDir: string, emit: (e: TrainEvent) => void): Promise<void> {
  const best = join(runDir, 'checkpoints', 'best.ckpt');
  if (!valCases.length || !existsSync(best)) return;
  const params = createParams(cfg.model);
  try {
    loadParams(readCheckpoint(best), params, best);
    writeDecisions(cfg, valCases, await validate(params, cfg, valCases), runDir, emit);
  } finally {
    disposeParams(params);
  }
}

/**
 * From the best checkpoint's validation: the calibrated thresholds (calibration.json), the
 * post-processing plan and, for the sigmoid head, the consistency step (postprocessing.json).
 * Shared by the worker's loop and the GPU host's.
 */
export function writeDecisions(cfg: TrainConfig, valCases: readonly TrainingCase[], v: ValidationResult, runDir: string, emit: (e: TrainEvent) => void): void {
  const { preds, probs, calibration } = v;
  writeJsonAtomic(join(runDir, 'calibration.json'), calibration);
  emit({ type: 'calibration', calibration });
  const plan: PostprocessPlan = decidePlan(cfg.layout.ids, valCases.map((c, i) => ({ pred: preds[i], gt: c.masks, dims: c.geometry.dims as Vec3 })));
  if (cfg.head.kind === 'sigmoid' && cfg.layout.hasWhole && cfg.layout.parts > 0) {
    plan.consistency = decideConsistency(valCases.map((c, i) => ({ pred: preds[i], gt: c.masks, probs: probs[i] })));
  }
  writeJsonAtomic(join(runDir, 'postprocessing.json'), plan);
  emit({ type: 'postprocessing', plan });
}

export function hasCheckpoint(runDir: string, kind: 'last' | 'best'): boolean {
  return existsSync(join(runDir, 'checkpoints', `${kind}.ckpt`));
}
