// The training workflow's state: the plan for the form, the runs of the project, the live run
// (its train.event stream folded into per-epoch history), evaluations, threshold curves, the
// pos_weight sweep queue and the run comparison. Components read getters and call methods.
import { structureLooks } from '../lib/structures.svelte.ts';
import type {
  Calibration, EpochRecord, EventPayload, OsteonClient, RunDetail, RunEvaluation, RunSummary, RunThresholds, TrainPlan, TrainRequest, ConfigDifference,
} from './contract.ts';
import { runJob } from './contract.ts';

export interface LiveRun {
  jobId: string;
  runId: string;
  structures: string[];
  epochs: number;
  stepsPerEpoch: number;
  epoch: number;
  step: number;
  samplesPerSec: number | null;
  etaSec: number | null;
  paused: boolean;
  history: EpochRecord[];
  /** One entry per warning episode; a collapse that lasts raises `count` instead of adding copies. */
  warnings: { epoch: number; code: string; message: string; finding: unknown; episode: number | null; count: number; lastEpoch: number }[];
  /** The thresholds calibrated on validation after training (app/learning/calibrate.ts). */
  calibration: Calibration | null;
  /** Why the run could not start or stopped with an error, in words a user can act on. */
  failure: string | null;
  done: { reason: string; message: string } | null;
}

export interface SweepPoint {
  posWeight: number[];
  value: number;
  runId: string | null;
  state: 'queued' | 'running' | 'done' | 'failed';
  evaluation: RunEvaluation | null;
  error?: string;
}

export interface Sweep {
  id: string;
  channel: string;
  points: SweepPoint[];
}

export type TrainingTab = 'new' | 'live' | 'results' | 'compare' | 'sweep' | 'thresholds';

export class TrainingState {
  #client: () => OsteonClient | null;
  #tab = $state<TrainingTab>('new');
  #plan = $state.raw<TrainPlan | null>(null);
  #runs = $state.raw<RunSummary[]>([]);
  #live = $state.raw<LiveRun | null>(null);
  #selected = $state<string | null>(null);
  #detail = $state.raw<RunDetail | null>(null);
  #evaluation = $state.raw<RunEvaluation | null>(null);
  #evaluating = $state(false);
  #thresholds = $state.raw<RunThresholds | null>(null);
  #tuning = $state(false);
  #compare = $state.raw<{ runs: RunDetail[]; differences: ConfigDifference[] } | null>(null);
  #sweep = $state.raw<Sweep | null>(null);
  #error = $state<string | null>(null);
  #off: (() => void) | null = null;

  constructor(client: () => OsteonClient | null) {
    this.#client = client;
  }

  get tab(): TrainingTab { return this.#tab; }
  set tab(t: TrainingTab) { this.#tab = t; }
  get plan(): TrainPlan | null { return this.#plan; }
  get runs(): readonly RunSummary[] { return this.#runs; }
  get live(): LiveRun | null { return this.#live; }
  get selected(): string | null { return this.#selected; }
  get detail(): RunDetail | null { return this.#detail; }
  get evaluation(): RunEvaluation | null { return this.#evaluation; }
  get evaluating(): boolean { return this.#evaluating; }
  get thresholds(): RunThresholds | null { return this.#thresholds; }
  get tuning(): boolean { return this.#tuning; }
  get comparison(): { runs: RunDetail[]; differences: ConfigDifference[] } | null { return this.#compare; }
  get sweep(): Sweep | null { return this.#sweep; }
  get error(): string | null { return this.#error; }

  #need(): OsteonClient {
    const c = this.#client();
    if (!c) throw new Error('not connected to the Osteon host');
    return c;
  }

  /** Loads the plan and the runs, and follows training events (once). */
  async load(): Promise<void> {
    const c = this.#need();
    if (!this.#off) this.#off = c.on('train.event', (e) => this.#onEvent(e));
    try {
      this.#plan = await c.call('train.plan', {});
      structureLooks.register(this.#plan.structures);
      await this.refreshRuns();
      this.#error = null;
    } catch (e) {
      this.#error = (e as Error).message;
    }
  }

  /** The plan for these chosen cases (their structures, recommendation and pos_weight). */
  async replan(caseIds: string[]): Promise<void> {
    try {
      this.#plan = await this.#need().call('train.plan', caseIds.length ? { caseIds } : {});
      this.#error = null;
    } catch (e) {
      this.#error = (e as Error).message;
    }
  }

  async refreshRuns(): Promise<void> {
    this.#runs = (await this.#need().call('run.list')).runs;
  }

  #onEvent(p: EventPayload<'train.event'>): void {
    const live = this.#live;
    const e = p.event;
    if (!live || live.jobId !== p.jobId) return;
    const next: LiveRun = { ...live };
    switch (e.type) {
      case 'start':
        Object.assign(next, { structures: e.structures, epochs: e.epochs, stepsPerEpoch: e.stepsPerEpoch });
        void this.refreshRuns(); // the run is in project.json now
        break;
      case 'step': Object.assign(next, { epoch: e.epoch, step: e.step, samplesPerSec: e.samplesPerSec, etaSec: e.etaSec }); break;
      case 'epoch':
        next.history = [...live.history, { epoch: e.epoch, loss: e.loss, seconds: e.seconds, ...(e.validation ? { validation: e.validation } : {}), samplesPerSec: live.samplesPerSec }];
        break;
      case 'warning': {
        const same = e.episode !== undefined ? live.warnings.findIndex((w) => w.code === e.code && w.episode === e.episode) : -1;
        next.warnings = same >= 0
          ? live.warnings.map((w, i) => (i === same ? { ...w, count: e.count ?? w.count + 1, lastEpoch: e.epoch } : w))
          : [...live.warnings, { epoch: e.epoch, code: e.code, message: e.message, finding: e.finding, episode: e.episode ?? null, count: e.count ?? 1, lastEpoch: e.epoch }];
        break;
      }
      case 'calibration': next.calibration = e.calibration; break;
      case 'paused': next.paused = true; break;
      case 'resumed': next.paused = false; break;
      case 'done': next.done = { reason: e.reason, message: e.message }; break;
      case 'checkpoint': case 'postprocessing': return;
      default: { const never: never = e; throw new Error(`unknown event ${JSON.stringify(never)}`); }
    }
    this.#live = next;
  }

  /** Starts a run and shows it live; resolves with the run id when the job ends. */
  async start(req: TrainRequest, opts: { show?: boolean } = {}): Promise<string> {
    const c = this.#need();
    let runId = '';
    const show = opts.show ?? true;
    const result = runJob(c, 'train', async () => {
      const started = await c.call('train.start', req);
      runId = started.runId;
      if (show) {
        this.#live = {
          jobId: started.jobId, runId, structures: [], epochs: req.epochs, stepsPerEpoch: req.stepsPerEpoch, epoch: 0, step: 0,
          samplesPerSec: null, etaSec: null, paused: false, history: [], warnings: [], calibration: null, failure: null, done: null,
        };
        this.#tab = 'live';
      }
      void this.refreshRuns();
      return started;
    });
    try {
      const r = await result;
      return r.runId;
    } catch (e) {
      // The Live tab shows why; the caller reports the error once (no second toast for the job).
      if (show && (e as { code?: string }).code !== 'cancelled') {
        const message = (e as Error).message;
        this.#live = this.#live && this.#live.runId === runId && runId
          ? { ...this.#live, failure: message }
          : {
            jobId: '', runId: runId || '(not started)', structures: [], epochs: req.epochs, stepsPerEpoch: req.stepsPerEpoch, epoch: 0, step: 0,
            samplesPerSec: null, etaSec: null, paused: false, history: [], warnings: [], calibration: null, failure: message, done: null,
          };
      }
      throw e;
    } finally {
      void this.refreshRuns();
      if (this.#plan) void c.call('train.plan', { caseIds: req.caseIds }).then((p) => { this.#plan = p; });
    }
  }

  /**
   * Resumes an interrupted run from its last checkpoint and shows it live; the charts start
   * from the run's recorded history (run.get), so nothing already trained disappears.
   */
  async resumeRun(runId: string): Promise<void> {
    const c = this.#need();
    const detail = await c.call('run.get', { runId });
    const result = runJob(c, 'train', async () => {
      const started = await c.call('train.resume', { runId });
      this.#live = {
        jobId: started.jobId, runId, structures: detail.summary.structures, epochs: detail.summary.epochs ?? 0,
        stepsPerEpoch: 0, epoch: detail.history.at(-1)?.epoch ?? 0, step: 0, samplesPerSec: null, etaSec: null, paused: false,
        history: detail.history, done: null, calibration: null, failure: null,
        // The run's recorded warnings, in the live shape (one entry each; episodes restart here).
        warnings: detail.warnings.map((w) => ({ epoch: w.epoch, code: w.finding ? 'channel-collapse' : 'whole-not-union', message: w.message, finding: w.finding, episode: null, count: 1, lastEpoch: w.epoch })),
      };
      this.#tab = 'live';
      void this.refreshRuns();
      return started;
    });
    try {
      await result;
    } finally {
      void this.refreshRuns();
    }
  }

  async control(action: 'pause' | 'resume' | 'cancel'): Promise<void> {
    const live = this.#live;
    if (!live) return;
    const c = this.#need();
    if (action === 'cancel') await c.call('job.cancel', { jobId: live.jobId });
    else await c.call('train.control', { jobId: live.jobId, action });
  }

  async select(runId: string): Promise<void> {
    this.#selected = runId;
    this.#evaluation = null;
    this.#thresholds = null;
    this.#detail = await this.#need().call('run.get', { runId });
    if (this.#detail.config) structureLooks.registerLayout(this.#detail.config.layout);
  }

  async evaluate(runId: string): Promise<RunEvaluation> {
    const c = this.#need();
    this.#evaluating = true;
    try {
      const ev = await runJob(c, 'run.evaluate', () => c.call('run.evaluate', { runId }));
      if (this.#selected === runId) this.#evaluation = ev;
      return ev;
    } finally {
      this.#evaluating = false;
    }
  }

  async tuneThresholds(runId: string): Promise<void> {
    const c = this.#need();
    this.#tuning = true;
    try {
      const th = await runJob(c, 'run.thresholds', () => c.call('run.thresholds', { runId }));
      if (this.#selected === runId) this.#thresholds = th;
    } finally {
      this.#tuning = false;
    }
  }

  async keepThresholds(runId: string, thresholds: number[]): Promise<string> {
    return (await this.#need().call('run.keepThresholds', { runId, thresholds })).file;
  }

  async compare(runIds: string[]): Promise<void> {
    this.#compare = await this.#need().call('run.compare', { runIds });
  }

  /** Runs the sweep's points one after another (queued short jobs), evaluating each. */
  async runSweep(base: TrainRequest, points: number[][], values: number[], channel: string): Promise<void> {
    const id = `sweep-${Date.now().toString(36)}`;
    let sweep: Sweep = { id, channel, points: points.map((pw, i) => ({ posWeight: pw, value: values[i], runId: null, state: 'queued', evaluation: null })) };
    this.#sweep = sweep;
    const update = (i: number, patch: Partial<SweepPoint>) => {
      sweep = { ...sweep, points: sweep.points.map((p, j) => (j === i ? { ...p, ...patch } : p)) };
      if (this.#sweep?.id === id) this.#sweep = sweep;
    };
    for (const [i, pw] of points.entries()) {
      update(i, { state: 'running' });
      try {
        const runId = await this.start({ ...base, posWeight: pw, sweep: { id, value: values[i] }, note: `pos_weight sweep ${id}: ${pw.join(', ')}` }, { show: false });
        update(i, { runId });
        const evaluation = await runJob(this.#need(), 'run.evaluate', () => this.#need().call('run.evaluate', { runId }));
        update(i, { state: 'done', evaluation });
      } catch (e) {
        update(i, { state: 'failed', error: (e as Error).message });
      }
    }
  }

  dispose(): void {
    this.#off?.();
    this.#off = null;
  }
}
