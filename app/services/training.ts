/**
 * Training as a services job: a train.start request becomes RunOptions over the project's cases
 * (projectCaseFiles), the run is recorded in project.json's runs[] and trained in a worker thread
 * (app/learning/worker/host.ts); every TrainEvent goes out as a `train.event` and as job progress.
 * Cancel (job.cancel) stops the worker between steps; pause/resume go through train.control.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { EventName, EventPayload, JobResult } from '../contract/contract.ts';
import { TrainEventData, TrainRequest } from '../contract/training.ts';
import type { z } from 'zod';
import type { RunOptions } from '../learning/run.ts';
import type { TrainingHandlers, TrainingJob } from '../learning/worker/host.ts';
import type { WorkerStart } from '../learning/worker/protocol.ts';
import type { GpuHostDriver } from '../learning/gpu-host-driver.ts';
import type { AdapterInfo } from '../learning/gpu-host/protocol.ts';
import { appendAudit } from '../store/audit.ts';
import type { JobControl } from '../store/cases.ts';
import { saveProject, type Project } from '../store/project.ts';
import { writeJsonAtomic } from '../util/atomic.ts';
import { projectCaseFiles, runFolder, wireSafe } from './training-runs.ts';

type Emit = <E extends EventName>(name: E, payload: EventPayload<E>) => void;
type ParsedTrainRequest = z.output<typeof TrainRequest>;

export function newRunId(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `run-${t}-${randomBytes(2).toString('hex')}`;
}

/** The engine's options for a request; the engine gives pos_weight its shape per head (app/labels/pos-weight.ts). */
export function runOptionsFor(p: Project, req: ParsedTrainRequest, runId: string): RunOptions {
  const { cases, schemaPath } = projectCaseFiles(p, req.caseIds);
  const val = req.valCaseIds.filter((id) => req.caseIds.includes(id));
  return {
    dataDir: join(p.dir, 'cases'), cases, schemaPath, runDir: runFolder(p, runId),
    head: req.head, spatialDims: req.spatialDims, filters: req.filters, normalization: 'instance', context: 1,
    epochs: req.epochs, stepsPerEpoch: req.stepsPerEpoch, batchSize: req.batchSize, learningRate: req.learningRate,
    validateEvery: 1, earlyStoppingPatience: 0, seed: req.seed,
    posWeight: req.posWeight,
    lossWeights: req.lossWeights, ...(req.thresholdRule ? { thresholdRule: req.thresholdRule } : {}),
    split: val.length ? { kind: 'cases', ids: val } : cases.length > 1 ? { kind: 'fraction', fraction: req.valFraction } : { kind: 'slab', trainFraction: 0.75 },
    flipAxes: [],
  };
}

export class TrainingJobs {
  readonly #running = new Map<string, { job: TrainingJob; runId: string }>();
  readonly #emit: Emit;
  /** The GPU host page (Electron's hidden window), when main has attached one. */
  #gpuHost: GpuHostDriver | null = null;

  constructor(emit: Emit) {
    this.#emit = emit;
  }

  /** A driver still loading (its module is imported on demand): jobs started meanwhile wait for it. */
  #attaching: Promise<void> = Promise.resolve();

  /** Uses the driver once it has loaded (jobs that start before then wait for it instead of going to the CPU). */
  attachGpuHost(driver: Promise<GpuHostDriver>): void {
    this.#attaching = driver.then((d) => this.useGpuHost(d), () => undefined);
  }

  /** Trains on this GPU host from now on, while it has an adapter and stays up (else the CPU ladder). */
  useGpuHost(driver: GpuHostDriver | null): void {
    this.#gpuHost?.close();
    this.#gpuHost = driver;
  }

  /** The GPU host's adapter, when training would run there (app.backend reports it). */
  async gpuHostAdapter(): Promise<AdapterInfo | null> {
    const host = await this.#usableGpuHost();
    return host ? ((await host.hello).adapter ?? null) : null;
  }

  /** The GPU host if it is up and said it has an adapter (waiting briefly for its hello); prediction jobs use it too. */
  usableGpuHost(): Promise<GpuHostDriver | null> {
    return this.#usableGpuHost();
  }

  async #usableGpuHost(): Promise<GpuHostDriver | null> {
    await this.#attaching;
    const host = this.#gpuHost;
    if (!host || host.closed) return null;
    const hello = await Promise.race([host.hello.catch(() => null), new Promise<null>((r) => setTimeout(() => r(null), 15_000).unref())]);
    return hello?.adapter ? host : null;
  }

  isRunning(runId: string): boolean {
    return [...this.#running.values()].some((r) => r.runId === runId);
  }

  control(jobId: string, action: 'pause' | 'resume'): boolean {
    const r = this.#running.get(jobId);
    if (!r) return false;
    if (action === 'pause') r.job.pause();
    else r.job.resume();
    return true;
  }

  /** Records the run in project.json, starts the worker and returns the job body's result when it ends. */
  async run(p: Project, req: ParsedTrainRequest, runId: string, jobId: () => string, ctl: JobControl): Promise<JobResult<'train'>> {
    const options = runOptionsFor(p, req, runId);
    saveProject(p, { ...p.file, runs: [...p.file.runs, { id: runId, kind: 'train', created: new Date().toISOString(), ...(req.note ? { note: req.note } : {}) }] });
    appendAudit(p.dir, 'train', { runId, head: req.head, cases: req.caseIds, epochs: req.epochs, posWeight: req.posWeight });
    // The run folder must be empty for prepareRun; the request joins it once training starts.
    return this.#drive({ run: { kind: 'new', options }, backend: 'auto' }, runId, options.runDir, jobId, ctl, () => writeJsonAtomic(join(options.runDir, 'request.json'), req));
  }

  /**
   * Continues a run from checkpoints/last.ckpt: weights, Adam state, best Dice and the
   * early-stopping counter come from the checkpoint, the sampler is seeded per epoch, and the
   * charts' history is metrics.jsonl (the last record of each epoch wins). status.json and
   * failed.json of the interrupted attempt are cleared first.
   */
  async resume(p: Project, runId: string, jobId: () => string, ctl: JobControl): Promise<JobResult<'train'>> {
    const runDir = runFolder(p, runId);
    rmSync(join(runDir, 'status.json'), { force: true });
    rmSync(join(runDir, 'failed.json'), { force: true });
    appendAudit(p.dir, 'train', { runId, resume: true });
    return this.#drive({ run: { kind: 'resume', runDir }, backend: 'auto' }, runId, runDir, jobId, ctl);
  }

  /**
   * Runs a new or resumed training to its end: on the GPU host when main attached one with an
   * adapter (the in-app WebGPU rung), else in the worker's CPU ladder. Every event goes out as
   * train.event, steps as job progress; a failure leaves failed.json in the run folder.
   */
  async #drive(start: WorkerStart, runId: string, runDir: string, jobId: () => string, ctl: JobControl, onStart?: () => void): Promise<JobResult<'train'>> {
    let totalSteps = 1, doneSteps = 0;
    const handlers: TrainingHandlers = {
      onEvent: (e) => {
        if (e.type === 'start') {
          onStart?.();
          totalSteps = Math.max(1, (e.epochs - e.startEpoch + 1) * e.stepsPerEpoch);
        }
        if (e.type === 'step') doneSteps++;
        const parsed = TrainEventData.safeParse(wireSafe(e));
        if (parsed.success) this.#emit('train.event', { jobId: jobId(), runId, event: parsed.data });
        if (e.type === 'step') ctl.progress(Math.min(0.99, doneSteps / totalSteps), `epoch ${e.epoch}, step ${e.step}/${e.stepsPerEpoch}, loss ${e.loss.total.toFixed(4)}`);
      },
    };
    const gpu = await this.#usableGpuHost();
    const job = gpu
      ? (await import('../learning/gpu-host-train.ts')).startGpuHostTraining(gpu, start, handlers)
      : (await import('../learning/worker/host.ts')).startTraining(start, handlers);
    this.#running.set(jobId(), { job, runId });
    const onAbort = () => job.cancel();
    ctl.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const done = await job.done;
      return { runId, reason: done.reason, epoch: done.epoch, bestMeanDice: done.bestMeanDice, message: done.message };
    } catch (e) {
      writeJsonAtomic(join(runDir, 'failed.json'), { message: (e as Error).message, at: new Date().toISOString() });
      throw e;
    } finally {
      ctl.signal.removeEventListener('abort', onAbort);
      this.#running.delete(jobId());
    }
  }

  cancelAll(): void {
    for (const r of this.#running.values()) r.job.cancel();
  }
}
