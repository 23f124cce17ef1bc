/**
 * Long work as jobs: `start` returns at once with an id; the body reports progress and watches
 * its AbortSignal; the manager emits job.started, job.progress, then exactly one of job.done or
 * job.failed (code 'cancelled' after `cancel`). Finished jobs are kept (the last 50) for job.list.
 */
import type { EventName, EventPayload, JobResult } from '../contract/contract.ts';
import { errorDataOf } from '../contract/result.ts';
import type { JobInfo, JobKind } from '../contract/schemas.ts';
import type { JobControl } from '../store/cases.ts';

export type Emit = <E extends EventName>(name: E, payload: EventPayload<E>) => void;

interface Entry {
  info: JobInfo;
  abort: AbortController;
}

const KEEP_FINISHED = 50;

export class JobManager {
  readonly #emit: Emit;
  readonly #jobs = new Map<string, Entry>();
  #seq = 0;

  constructor(emit: Emit) {
    this.#emit = emit;
  }

  start<K extends JobKind>(kind: K, body: (ctl: JobControl) => Promise<JobResult<K>>): { jobId: string; kind: K } {
    const jobId = `job-${Date.now().toString(36)}-${(++this.#seq).toString(36)}`;
    const abort = new AbortController();
    const info: JobInfo = { jobId, kind, state: 'running', progress: 0, message: 'started', startedAt: new Date().toISOString() };
    this.#jobs.set(jobId, { info, abort });
    this.#emit('job.started', { ...info });
    const ctl: JobControl = {
      signal: abort.signal,
      progress: (fraction, message) => {
        if (info.state !== 'running') return;
        info.progress = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
        info.message = message.slice(0, 4096);
        this.#emit('job.progress', { jobId, kind, progress: info.progress, message: info.message });
      },
    };
    // Start on the next turn so the caller has the id before any event about it can matter.
    setImmediate(() => {
      body(ctl).then(
        (result) => {
          if (abort.signal.aborted) return this.#fail(info, { code: 'cancelled', message: 'cancelled' });
          info.state = 'done';
          info.progress = 1;
          info.endedAt = new Date().toISOString();
          // kind and result come from the same K; the compiler cannot pair them through the union.
          this.#emit('job.done', { jobId, kind, result } as EventPayload<'job.done'>);
          this.#prune();
        },
        (e: unknown) => this.#fail(info, abort.signal.aborted ? { code: 'cancelled', message: 'cancelled' } : errorDataOf(e)),
      );
    });
    return { jobId, kind };
  }

  #fail(info: JobInfo, error: ReturnType<typeof errorDataOf>): void {
    info.state = error.code === 'cancelled' ? 'cancelled' : 'failed';
    info.message = error.message.slice(0, 4096);
    info.endedAt = new Date().toISOString();
    this.#emit('job.failed', { jobId: info.jobId, kind: info.kind, error });
    this.#prune();
  }

  #prune(): void {
    const done = [...this.#jobs.values()].filter((j) => j.info.state !== 'running');
    for (const j of done.slice(0, Math.max(0, done.length - KEEP_FINISHED))) this.#jobs.delete(j.info.jobId);
  }

  /** Asks a running job to stop; false when it is unknown or already finished. */
  cancel(jobId: string): boolean {
    const j = this.#jobs.get(jobId);
    if (!j || j.info.state !== 'running') return false;
    j.abort.abort();
    return true;
  }

  cancelAll(): void {
    for (const j of this.#jobs.values()) if (j.info.state === 'running') j.abort.abort();
  }

  list(): JobInfo[] {
    return [...this.#jobs.values()].map((j) => ({ ...j.info }));
  }

  get running(): number {
    return [...this.#jobs.values()].filter((j) => j.info.state === 'running').length;
  }
}

/** The demo job: waits `ms` in `steps` steps, reporting each; wakes at once on cancel. */
export async function sleepJob(ms: number, steps: number, ctl: JobControl): Promise<{ sleptMs: number }> {
  const t0 = Date.now();
  for (let s = 1; s <= steps; s++) {
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, ms / steps);
      function done() {
        clearTimeout(t);
        ctl.signal.removeEventListener('abort', done);
        resolve();
      }
      ctl.signal.addEventListener('abort', done);
    });
    if (ctl.signal.aborted) throw Object.assign(new Error('cancelled'), { code: 'cancelled' });
    ctl.progress(s / steps, `step ${s} of ${steps}`);
  }
  return { sleptMs: Date.now() - t0 };
}
