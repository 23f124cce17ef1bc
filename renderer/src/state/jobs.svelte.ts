import type { EventPayload, JobInfo, OsteonClient } from '../lib/contract.ts';
import type { ShownError } from '../lib/errorHints.ts';

export interface JobView extends JobInfo {
  error?: ShownError;
  cancelling?: boolean;
}

export interface JobHooks {
  done?: (p: EventPayload<'job.done'>) => void;
  failed?: (p: EventPayload<'job.failed'>) => void;
}

const kindLabels: Record<JobInfo['kind'], string> = {
  'case.import': 'Import study',
  'demo.sleep': 'Demo job',
  'train': 'Training',
  'run.evaluate': 'Evaluate run',
  'run.thresholds': 'Threshold sweep',
  'predict.batch': 'Batch prediction',
};

export function jobLabel(kind: JobInfo['kind']): string {
  return kindLabels[kind] ?? kind;
}

function fresh(jobId: string, kind: JobInfo['kind']): JobView {
  return { jobId, kind, state: 'running', progress: 0, message: 'Starting…', startedAt: new Date().toISOString() };
}

/** Running and finished jobs, kept current from the job.* events. Newest first. */
export class Jobs {
  #jobs = $state.raw<JobView[]>([]);
  #client: OsteonClient | null = null;

  get all(): readonly JobView[] {
    return this.#jobs;
  }

  get running(): number {
    return this.#jobs.filter((j) => j.state === 'running').length;
  }

  async attach(client: OsteonClient, hooks: JobHooks): Promise<void> {
    this.#client = client;
    client.on('job.started', (j) => this.#upsert(j.jobId, () => j));
    client.on('job.progress', (p) => this.#set(p.jobId, p.kind, { progress: p.progress, message: p.message }));
    client.on('job.done', (p) => {
      this.#set(p.jobId, p.kind, { state: 'done', progress: 1, message: 'Done', endedAt: new Date().toISOString() });
      hooks.done?.(p);
    });
    client.on('job.failed', (p) => {
      const state = p.error.code === 'cancelled' ? 'cancelled' : 'failed';
      this.#set(p.jobId, p.kind, { state, message: p.error.message, error: p.error, endedAt: new Date().toISOString(), cancelling: false });
      hooks.failed?.(p);
    });
    const { jobs } = await client.call('job.list');
    for (const j of jobs) this.#upsert(j.jobId, (old) => ({ ...old, ...j }));
  }

  /** Registers a job the UI just started (its job.started event may arrive before or after). */
  track(jobId: string, kind: JobInfo['kind']): void {
    this.#upsert(jobId, (old) => old ?? fresh(jobId, kind));
  }

  async cancel(jobId: string): Promise<boolean> {
    if (!this.#client) return false;
    this.#patch(jobId, { cancelling: true });
    const r = await this.#client.call('job.cancel', { jobId });
    return r.cancelled;
  }

  /** Drops finished jobs from the list. */
  clearFinished(): void {
    this.#jobs = this.#jobs.filter((j) => j.state === 'running');
  }

  #upsert(jobId: string, make: (old: JobView | undefined) => JobView): void {
    const i = this.#jobs.findIndex((j) => j.jobId === jobId);
    if (i < 0) this.#jobs = [make(undefined), ...this.#jobs];
    else this.#jobs = this.#jobs.map((j, k) => (k === i ? make(j) : j));
  }

  #patch(jobId: string, p: Partial<JobView>): void {
    this.#jobs = this.#jobs.map((j) => (j.jobId === jobId ? { ...j, ...p } : j));
  }

  /** Events can overtake the call that started a job, so an unknown id gets a fresh entry. */
  #set(jobId: string, kind: JobInfo['kind'], p: Partial<JobView>): void {
    this.#upsert(jobId, (old) => ({ ...(old ?? fresh(jobId, kind)), ...p }));
  }
}
