/**
 * The training loop with the GPU host doing the arithmetic: the same run as train.ts (the same
 * batches from the same seeds, the same events, metrics.jsonl, checkpoints and status.json), but
 * each Adam step, validation window and validation loss is a call to the page that owns
 * `navigator.gpu` (GpuHostDriver). Sampling, pause/cancel, checkpoints (written atomically) and
 * every other file stay here, in the services. Same pause/resume/cancel as the CPU path.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TrainConfig } from './config.ts';
import { encodeCheckpoint, readCheckpoint, type CheckpointTensor } from './checkpoint.ts';
import type { TrainingCase } from './data/case.ts';
import { paddingValue } from './data/normalize.ts';
import { Rng } from './data/rng.ts';
import { sampleBatch } from './data/sampler.ts';
import type { AdapterInfo } from './gpu-host/protocol.ts';
import { CollapseMonitor } from '../metrics/collapse.ts';
import { predictVolumeWith } from './predict.ts';
import {
  TrainControl, meanLossValues, runEventSink, scoreValidation, validationBatches, validationPredictOptions, writeDecisions,
  type DoneReason, type LossValues, type TrainEvent, type TrainOptions, type Validation,
} from './train.ts';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.ts';
import { OsteonError, toErrorData } from '../util/errors.ts';
import { resumeRun } from './resume.ts';
import { prepareRun } from './run.ts';
import type { TrainingHandlers, TrainingJob } from './worker/host.ts';
import type { BackendReport } from './backend.ts';
import type { WorkerStart } from './worker/protocol.ts';
import type { GpuHostDriver } from './gpu-host-driver.ts';

type Done = TrainEvent & { type: 'done' };

/** Validation Dice (windows predicted on the host) and the validation loss (forward on the host). */
async function validateOnHost(host: GpuHostDriver, cfg: TrainConfig, cases: readonly TrainingCase[], withLoss = true) {
  // Window batches sized for the page's device, as predictVolume sizes them for its own.
  const bindingLimit = (await host.hello).adapter?.limits.maxStorageBufferBindingSize;
  const run = async (b: { x: Float32Array; shape: number[] }) => (await host.call({ op: 'predict', x: b.x, shape: b.shape })).probs;
  const probs: Float32Array[][] = [];
  for (const c of cases) probs.push(await predictVolumeWith(run, cfg.model, cfg.head, c.image, c.geometry, { ...validationPredictOptions(cfg), bindingLimit }));
  const scored = scoreValidation(cfg, cases, probs);
  if (!withLoss) return scored;
  const losses: LossValues[] = [];
  for (const batch of validationBatches(cfg, cases)) losses.push((await host.call({ op: 'loss', batch })).loss);
  return { ...scored, validation: { ...scored.validation, loss: meanLossValues(losses) } };
}

/** Records the backend and adapter in run.json (every run says what it ran on). */
function recordBackend(runDir: string, adapter: AdapterInfo | null): void {
  const path = join(runDir, 'run.json');
  const run = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : {};
  const before = (run.backend ?? {}) as Record<string, unknown>;
  writeJsonAtomic(path, { ...run, backend: { ...before, name: 'webgpu', package: '@tensorflow/tfjs-backend-webgpu', host: 'gpu-host page', adapter } });
}

export async function trainOnGpuHost(host: GpuHostDriver, cfg: TrainConfig, trainCases: readonly TrainingCase[], valCases: readonly TrainingCase[], opts: TrainOptions): Promise<Done> {
  const control = opts.control ?? new TrainControl();
  const ckDir = join(opts.runDir, 'checkpoints');
  mkdirSync(ckDir, { recursive: true });
  const emit = runEventSink(opts.runDir, opts.onEvent);
  const hello = await host.hello;
  if (!hello.adapter) throw new Error(`the GPU host has no WebGPU adapter: ${hello.reason ?? 'unknown reason'}`);
  recordBackend(opts.runDir, hello.adapter);
  const init = await host.call({ op: 'init', model: cfg.model, head: cfg.head, learningRate: cfg.learningRate, hasWhole: cfg.layout.hasWhole });
  let startEpoch = 1, bestMeanDice: number | null = null, bestEpoch: number | null = null, sinceBest = 0;
  if (opts.resumeFrom) {
    const ck = readCheckpoint(opts.resumeFrom);
    await host.call({ op: 'setWeights', tensors: [...ck.tensors].map(([name, t]) => ({ name, ...t })) });
    startEpoch = ck.epoch + 1;
    bestMeanDice = typeof ck.meta.bestMeanDice === 'number' ? ck.meta.bestMeanDice : null;
    bestEpoch = typeof ck.meta.bestEpoch === 'number' ? ck.meta.bestEpoch : null;
    sinceBest = typeof ck.meta.sinceBest === 'number' && Number.isInteger(ck.meta.sinceBest) && ck.meta.sinceBest >= 0 ? ck.meta.sinceBest : 0;
  }
  const fill = paddingValue(cfg.normalization);
  emit({ type: 'start', runDir: opts.runDir, structures: cfg.layout.ids, params: init.params, trainCases: cfg.trainCases, valCases: cfg.valCases, startEpoch, epochs: cfg.epochs, stepsPerEpoch: cfg.stepsPerEpoch, ...(opts.memory ? { memory: opts.memory } : {}) });
  for (const n of opts.notices ?? []) emit({ type: 'warning', code: n.code, epoch: 0, message: n.message, finding: null });
  const monitor = new CollapseMonitor();
  const finish = async (reason: DoneReason, epoch: number, message: string): Promise<Done> => {
    const e = { type: 'done' as const, reason, epoch, bestEpoch, bestMeanDice, message };
    writeJsonAtomic(join(opts.runDir, 'status.json'), { reason, epoch, bestEpoch, bestMeanDice, message, backend: 'webgpu', finished: new Date().toISOString() });
    await host.call({ op: 'dispose' }).catch(() => undefined); // the page may be gone; the run is on disk
    emit(e);
    return e;
  };
  const save = (path: string, epoch: number, tensors: CheckpointTensor[], meta: Record<string, unknown>) => writeFileAtomic(path, encodeCheckpoint(epoch, tensors, meta));
  const t0 = Date.now();
  let stepsDone = 0;
  for (let epoch = startEpoch; epoch <= cfg.epochs; epoch++) {
    const rng = new Rng(cfg.seed * 7919 + epoch);
    const epochStart = Date.now();
    const losses: LossValues[] = [];
    for (let step = 1; step <= cfg.stepsPerEpoch; step++) {
      if (control.isPaused) { emit({ type: 'paused' }); await control.waitWhilePaused(); if (!control.isCancelled) emit({ type: 'resumed' }); }
      if (control.isCancelled) return finish('cancelled', epoch - 1, `cancelled during epoch ${epoch}; the last checkpoint is from epoch ${epoch - 1}`);
      const batch = sampleBatch(trainCases, cfg.sampling, { head: cfg.head.kind, fill }, rng, cfg.batchSize);
      const lv = (await host.call({ op: 'step', batch })).loss;
      if (!Number.isFinite(lv.total)) {
        return finish('non-finite-loss', epoch - 1, `loss became ${lv.total} at epoch ${epoch}, step ${step}; training stopped. The last good checkpoint (epoch ${epoch - 1}) is kept. Try a lower learning rate.`);
      }
      losses.push(lv);
      stepsDone++;
      const elapsed = (Date.now() - t0) / 1000;
      const remaining = (cfg.epochs - epoch) * cfg.stepsPerEpoch + (cfg.stepsPerEpoch - step);
      emit({ type: 'step', epoch, step, stepsPerEpoch: cfg.stepsPerEpoch, loss: lv, samplesPerSec: (stepsDone * cfg.batchSize) / elapsed, etaSec: (elapsed / stepsDone) * remaining });
    }
    let validation: Validation | undefined;
    if (valCases.length && (epoch % cfg.validateEvery === 0 || epoch === cfg.epochs)) {
      const v = await validateOnHost(host, cfg, valCases);
      validation = v.validation;
      const ep = monitor.observe(v.collapse, epoch === cfg.epochs);
      if (v.collapse && ep) emit({ type: 'warning', code: 'channel-collapse', epoch, message: v.collapse.message, finding: v.collapse, episode: ep.episode, count: ep.count });
    }
    emit({ type: 'epoch', epoch, loss: meanLossValues(losses), seconds: (Date.now() - epochStart) / 1000, validation });
    const { tensors } = await host.call({ op: 'weights', optimizer: true });
    if (validation && Number.isFinite(validation.meanDice) && (bestMeanDice === null || validation.meanDice > bestMeanDice)) {
      bestMeanDice = validation.meanDice;
      bestEpoch = epoch;
      sinceBest = 0;
      const bestPath = join(ckDir, 'best.ckpt');
      save(bestPath, epoch, tensors.filter((t) => t.name.startsWith('param:')), { meanDice: validation.meanDice, dice: validation.dice });
      emit({ type: 'checkpoint', kind: 'best', epoch, path: bestPath, meanDice: validation.meanDice });
    } else if (validation) sinceBest++;
    const lastPath = join(ckDir, 'last.ckpt');
    save(lastPath, epoch, tensors, { bestMeanDice, bestEpoch, sinceBest });
    emit({ type: 'checkpoint', kind: 'last', epoch, path: lastPath });
    if (cfg.earlyStoppingPatience > 0 && sinceBest >= cfg.earlyStoppingPatience) {
      await decidePostprocessingOnHost(host, cfg, valCases, opts.runDir, emit);
      return finish('early-stopped', epoch, `no improvement of mean validation Dice for ${sinceBest} validations; best ${bestMeanDice?.toFixed(4)} at epoch ${bestEpoch}`);
    }
  }
  await decidePostprocessingOnHost(host, cfg, valCases, opts.runDir, emit);
  return finish('completed', cfg.epochs, `completed ${cfg.epochs} epochs${bestMeanDice !== null ? `; best mean validation Dice ${bestMeanDice.toFixed(4)} at epoch ${bestEpoch}` : ''}`);
}

/** train.ts's rule, with the best checkpoint loaded into the host's model (training is over). */
async function decidePostprocessingOnHost(host: GpuHostDriver, cfg: TrainConfig, valCases: readonly TrainingCase[], runDir: string, emit: (e: TrainEvent) => void): Promise<void> {
  const best = join(runDir, 'checkpoints', 'best.ckpt');
  if (!valCases.length || !existsSync(best)) return;
  const ck = readCheckpoint(best);
  await host.call({ op: 'setWeights', tensors: [...ck.tensors].map(([name, t]) => ({ name, ...t })) });
  writeDecisions(cfg, valCases, await validateOnHost(host, cfg, valCases, false), runDir, emit);
}

/**
 * A training job on the GPU host with the worker's interface (learning/worker/host.ts), so the
 * services' TrainingJobs can pick either: the run is prepared (or resumed) here and trained by
 * trainOnGpuHost; pause/resume/cancel act between steps.
 */
export function startGpuHostTraining(host: GpuHostDriver, start: WorkerStart, handlers: TrainingHandlers): TrainingJob {
  const control = new TrainControl();
  const onEvent = handlers.onEvent;
  const done = (async () => {
    try {
      if (start.run.kind === 'new') {
        // The page's adapter, as the CLI's backend report gives it: prepareRun fits batch and patch
        // to its maxStorageBufferBindingSize (webgpu/memory.ts) and records it in run.json.
        const hello = await host.hello;
        const report: BackendReport | null = hello.adapter ? {
          name: 'webgpu', package: '@tensorflow/tfjs-backend-webgpu', attempts: [], kernels: hello.kernels, threads: 1, preference: 'auto',
          adapter: hello.adapter as BackendReport['adapter'],
        } : null;
        const prepared = prepareRun(start.run.options, report);
        return await trainOnGpuHost(host, prepared.config, prepared.train, prepared.val, { runDir: start.run.options.runDir, control, onEvent, memory: prepared.memory?.text, notices: prepared.notices });
      }
      const r = resumeRun(start.run.runDir, start.run.epochs);
      return await trainOnGpuHost(host, r.config, r.train, r.val, { runDir: start.run.runDir, resumeFrom: join(start.run.runDir, 'checkpoints', 'last.ckpt'), control, onEvent });
    } catch (e) {
      throw e instanceof OsteonError ? e : new OsteonError(toErrorData(e));
    }
  })();
  return { pause: () => control.pause(), resume: () => control.resume(), cancel: () => control.cancel(), done };
}
