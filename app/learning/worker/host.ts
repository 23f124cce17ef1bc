/**
 * Starts a training job in a worker thread and relays its events; the caller (CLI, Electron
 * main, browser host) never runs tfjs on its own thread.
 */
import { Worker } from 'node:worker_threads';
import { OsteonError, type ErrorData } from '../../util/errors.ts';
import type { BackendReport } from '../backend.ts';
import type { TrainEvent } from '../train.ts';
import type { FromWorker, ToWorker, WorkerStart } from './protocol.ts';
import { prepareNativeEnv } from '../native/addon.ts';

export interface TrainingJob {
  pause(): void;
  resume(): void;
  cancel(): void;
  /** Resolves with the final event; rejects with an OsteonError if the job failed. */
  done: Promise<TrainEvent & { type: 'done' }>;
}

export interface TrainingHandlers {
  onBackend?: (r: BackendReport) => void;
  onEvent: (e: TrainEvent) => void;
  /** OSTEON_PROFILE=1 in the environment: the per-op table of a few steps (default: printed to stderr). */
  onProfile?: (table: string) => void;
}

export function startTraining(start: WorkerStart, handlers: TrainingHandlers): TrainingJob {
  prepareNativeEnv(); // OpenMP settings of the optional oneDNN kernels, which load in the worker
  const worker = new Worker(new URL('./train-worker.mjs', import.meta.url), { workerData: start });
  const send = (m: ToWorker) => worker.postMessage(m);
  const done = new Promise<TrainEvent & { type: 'done' }>((resolve, reject) => {
    let finished: (TrainEvent & { type: 'done' }) | null = null;
    let failed: ErrorData | null = null;
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'backend') handlers.onBackend?.(m.report);
      else if (m.type === 'error') { failed = m.error; void worker.terminate(); }
      else if (m.type === 'profile') (handlers.onProfile ?? ((t: string) => process.stderr.write(`${t}\n`)))(m.table);
      else {
        handlers.onEvent(m.event);
        // The worker idles on its control port after the last event; end it.
        if (m.event.type === 'done') { finished = m.event; void worker.terminate(); }
      }
    });
    worker.on('error', (e) => { failed = { code: 'internal', message: e.message }; });
    worker.on('exit', (code) => {
      if (finished && !failed) resolve(finished);
      else if (failed) reject(new OsteonError(failed));
      else reject(new OsteonError({ code: 'internal', message: `training worker exited with code ${code} before finishing` }));
    });
  });
  return { pause: () => send({ type: 'pause' }), resume: () => send({ type: 'resume' }), cancel: () => send({ type: 'cancel' }), done };
}
