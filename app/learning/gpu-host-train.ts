/**
 * The training loop with the GPU host doing the arithmetic: the same run as train.ts (its epoch
 * loop, runEpochs: the same batches from the same seeds, the same events, metrics.jsonl,
 * checkpoints and status.json), but each Adam step, validation window and validation loss is a
 * call to the page that owns
 * `navigator.gpu` (GpuHostDriver). Sampling, pause/cancel, checkpoints (written atomically) and
 * every other file stay here, in the services. Same pause/resume/cancel as the CPU path.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TrainConfig } from './config.ts';
import { encodeCheckpoint, readCheckpoint } from './checkpoint.ts';
import type { TrainingCase } from './data/case.ts';
import type { AdapterInfo } from './gpu-host/protocol.ts';
import { predictVolumeWith } from './predict.ts';
import {
  TrainControl, loopState, meanLossValues, runEpochs, scoreValidation, validationBatches, validationPredictOptions, writeDecisions,
  type LossValues, type TrainEngine, type TrainEvent, type TrainOptions,
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
  mkdirSync(join(opts.runDir, 'checkpoints'), { recursive: true });
  const hello = await host.hello;
  if (!hello.adapter) throw new Error(`the GPU host has no WebGPU adapter: ${hello.reason ?? 'unknown reason'}`);
  recordBackend(opts.runDir, hello.adapter);
  const init = await host.call({ op: 'init', model: cfg.model, head: cfg.head, learningRate: cfg.learningRate, hasWhole: cfg.layout.hasWhole });
  let state = loopState();
  if (opts.resumeFrom) {
    const ck = readCheckpoint(opts.resumeFrom);
    await host.call({ op: 'setWeights', tensors: [...ck.tensors].map(([name, t]) => ({ name, ...t })) });
    state = loopState(ck);
  }
  const engine: TrainEngine = {
    params: init.params,
    step: async (batch) => (await host.call({ op: 'step', batch })).loss,
    validate: () => validateOnHost(host, cfg, valCases),
    async snapshot() {
      // One read of the weights per epoch, for both checkpoints (best: the parameters only).
      const { tensors } = await host.call({ op: 'weights', optimizer: true });
      return {
        save: async (path, epoch, optimizer, meta) => writeFileAtomic(path, encodeCheckpoint(epoch, optimizer ? tensors : tensors.filter((t) => t.name.startsWith('param:')), meta)),
      };
    },
    decide: (emit) => decidePostprocessingOnHost(host, cfg, valCases, opts.runDir, emit),
    // The page may be gone; the run is on disk.
    dispose: async () => { await host.call({ op: 'dispose' }).catch(() => undefined); },
  };
  return runEpochs(cfg, trainCases, valCases, opts, engine, state, { backend: 'webgpu' });
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
