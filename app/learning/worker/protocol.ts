/** Messages between the training worker thread and its host (host.ts). */
import type { ErrorData } from '../../util/errors.ts';
import type { RunOptions } from '../run.ts';
import type { TrainEvent } from '../train.ts';
import type { BackendPreference, BackendReport } from '../backend.ts';

export interface WorkerStart {
  /** A new run, or a resume of an existing run folder. */
  run: { kind: 'new'; options: RunOptions } | { kind: 'resume'; runDir: string; epochs?: number };
  backend: BackendPreference;
}

export type ToWorker = { type: 'pause' } | { type: 'resume' } | { type: 'cancel' };

export type FromWorker =
  | { type: 'backend'; report: BackendReport }
  | { type: 'event'; event: TrainEvent }
  /** OSTEON_PROFILE=1: the per-op table of a few training steps (profile.ts). */
  | { type: 'profile'; table: string }
  | { type: 'error'; error: ErrorData };
