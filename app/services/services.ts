/**
 * The main-side services: one handler per contract call, over the project store and the core.
 * Hosts (Electron main, the browser host, tests) differ only in the options they pass: how to
 * reach them for events, where voxel URLs point, and whether a native dialog exists.
 */
import type { CallName, Contract, EventName, EventPayload } from '../contract/contract.ts';
import { ContractError } from '../contract/result.ts';
import type { Handlers } from '../contract/rpc.ts';
import type { AppInfo, VolumeKind } from '../contract/schemas.ts';
import { approveCase, attachPrediction, caseDir, exportCase, importCase, rawVolume, readAnalysis, getCase, type RawVolume } from '../store/cases.ts';
import { appendAudit } from '../store/audit.ts';
import { exportCaseAs } from '../store/case-export.ts';
import { importSegIntoCase } from '../store/case-seg.ts';
import { listDicomSeries } from '../imaging/dicom.ts';
import { createProject, openProject, summarize, type Project } from '../store/project.ts';
import { readRecent, touchRecent } from '../store/recent.ts';
import { readOnlyCacheDir } from '../store/paths.ts';
import { isAbsolute, relative, resolve } from 'node:path';
import { rmSync } from 'node:fs';
import { JobManager, sleepJob, type Emit } from './jobs.ts';
import { TrainingJobs } from './training.ts';
import { createReviewServices } from './review.ts';
import { mlUnavailable, requireMl } from './capabilities.ts';
import type { HostLink } from '../learning/gpu-host/protocol.ts';
import { showPrediction } from './training-prediction.ts';
import { configDifferences, keepThresholds, runDetail, trainPlan } from './training-runs.ts';
import { analysisOf, defaultPresetsDir, defaultSampleDir, listFiles, listPresets, previewLabels, readCaseSchema, scanLabels } from './import-help.ts';

export const OSTEON_VERSION = '0.1.0';

export interface ServiceOptions {
  host: AppInfo['host'];
  /** The user's Osteon folder (recent projects). */
  home: string;
  /** Extra versions for the About box (electron, chrome, ...). */
  versions?: Record<string, string>;
  /** URL the renderer fetches a volume's raw voxels from. */
  volumeUrl(caseId: string, kind: VolumeKind): string;
  /** A native dialog (Electron); absent in the browser host. */
  dialog?(purpose: string, title?: string): Promise<string[]>;
  /** The label schema presets (default: resources/presets of the source tree). */
  presetsDir?: string;
  /** The bundled sample studies (default: resources/sample of the source tree), listed by files.list. */
  sampleDir?: string;
  /**
   * More folders files.list may list (the browser host's --root folders). Which paths requests
   * may name is checked before the services, where the page's requests enter the host
   * (path-guard.ts: Electron main, the browser host's socket).
   */
  listRoots?: readonly string[];
}

export interface Services {
  handlers: Handlers<Contract>;
  jobs: JobManager;
  /** Subscribes to every event the services emit; returns an unsubscribe function. */
  subscribe(cb: (name: EventName, payload: unknown) => void): () => void;
  /** The cached raw voxels of a case volume (for the hosts' data endpoint). */
  rawVolume(caseId: string, kind: VolumeKind): RawVolume;
  project(): Project | null;
  /** Electron: main's hidden GPU host window, reached over `link`; training and prediction jobs use it when it has an adapter. */
  attachGpuHost(link: HostLink): void;
  dispose(): void;
}

/**
 * The calls that write into the open project, each with what it does (for the refusal). A project
 * opened read-only refuses them all; case.export and case.exportAs only when they aim inside it.
 */
export const projectWrites = {
  'case.import': 'importing a case', 'case.approve': 'approving labels', 'case.attachPrediction': 'attaching a prediction',
  'case.importSeg': 'importing a DICOM SEG', 'case.export': 'exporting into the project folder', 'case.exportAs': 'exporting into the project folder',
  'train.start': 'training', 'train.resume': 'resuming a training run', 'run.evaluate': 'evaluating a run', 'run.thresholds': 'tuning thresholds',
  'run.keepThresholds': 'keeping thresholds', 'run.showPrediction': 'attaching a run\'s prediction', 'version.restore': 'restoring a version',
  'review.set': 'setting a review state', 'edit.begin': 'editing', 'edit.apply': 'editing', 'edit.undo': 'editing', 'edit.redo': 'editing',
  'edit.save': 'saving a version', 'report.build': 'writing a report into the project', 'predict.batch': 'predicting',
} as const satisfies Partial<Record<CallName, string>>;

/** The refusal of a writing call on a project opened read-only. */
export function readOnlyError(projectName: string, what: string): ContractError {
  return new ContractError({
    code: 'forbidden',
    message: `the project '${projectName}' is open read-only, so ${what} is not allowed; to edit it, open it again without "read-only" (Open project… in the app, or osteon serve --project DIR without --read-only)`,
  });
}

function inside(dir: string, path: string): boolean {
  const r = relative(dir, resolve(path));
  return r === '' || (!r.startsWith('..') && !isAbsolute(r));
}

function unavailable(what: string): ContractError {
  return new ContractError({ code: 'unavailable', message: what });
}

export function createServices(opts: ServiceOptions): Services {
  const listeners = new Set<(name: EventName, payload: unknown) => void>();
  const emit: Emit = <E extends EventName>(name: E, payload: EventPayload<E>) => {
    for (const cb of listeners) cb(name, payload);
  };
  const jobs = new JobManager(emit);
  const training = new TrainingJobs(emit);
  let current: Project | null = null;
  let backend: AppInfo['backend'] = null;
  /** The tfjs backend name once app.backend started it (the training-time estimate's basis). */
  let backendName: string | null = null;

  const need = (): Project => {
    if (!current) throw new ContractError({ code: 'no-project', message: 'no project is open; create or open one first' });
    return current;
  };
  const opened = (p: Project) => {
    current = p;
    touchRecent(opts.home, p.dir, p.file.name);
    const summary = summarize(p);
    emit('project.changed', { project: summary });
    return summary;
  };

  // Prediction jobs (batch prediction, evaluation, threshold tuning) run where training runs.
  const gpuHost = () => training.usableGpuHost();
  const review = createReviewServices({ need, jobs, emit, gpuHost });

  const handlers: Handlers<Contract> = {
    ...review.handlers,
    'app.info': () => ({
      name: 'Osteon', version: OSTEON_VERSION, host: opts.host,
      versions: { osteon: OSTEON_VERSION, node: process.versions.node, v8: process.versions.v8, ...opts.versions },
      backend,
    }),
    'app.capabilities': () => ({ ml: { available: mlUnavailable() === null, reason: mlUnavailable() } }),
    'app.backend': async () => {
      requireMl('Starting the ML backend');
      const { initBackend, adapterLine } = await import('../learning/backend.ts');
      const r = await initBackend();
      const failed = r.attempts.filter((a) => !a.ok).map((a) => `${a.candidate}: ${a.reason ?? 'failed'}`);
      backendName = r.name;
      backend = {
        name: `${r.name} (${r.package})`,
        detail: [`threads ${r.threads}`, `preference ${r.preference}`, ...(r.adapter ? [`WebGPU adapter: ${adapterLine(r.adapter)}`] : []), ...failed.map((f) => `not used: ${f}`)].join('; ').slice(0, 4096),
      };
      // In the app, training runs on the GPU host window when its WebGPU has an adapter.
      const gpu = await training.gpuHostAdapter();
      if (gpu) {
        backendName = 'webgpu';
        backend = {
          name: 'webgpu (@tensorflow/tfjs-backend-webgpu, GPU host window)',
          detail: [`WebGPU adapter: ${adapterLine(gpu as Parameters<typeof adapterLine>[0])}`, `training, evaluation, threshold tuning and batch prediction on the GPU host; the rest on ${backend.name}`, backend.detail].join('; ').slice(0, 4096),
        };
      }
      return backend;
    },
    'project.create': (req) => {
      const p = createProject(req.dir, req.name);
      appendAudit(p.dir, 'project.create', { name: req.name });
      return opened(p);
    },
    'project.open': (req) => {
      const p = openProject(req.dir, { readOnly: req.readOnly === true });
      // The raw voxel cache of an earlier read-only open (outside the project) may be stale.
      if (p.readOnly) rmSync(readOnlyCacheDir(p.dir), { recursive: true, force: true });
      return opened(p);
    },
    'project.recent': () => ({ projects: readRecent(opts.home) }),
    'project.get': () => ({ project: current ? summarize(current) : null }),
    'case.list': () => ({ cases: need().file.cases }),
    'case.import': (req) => {
      const p = need();
      return jobs.start('case.import', async (ctl) => {
        const summary = await importCase(p, req, ctl);
        emit('case.changed', { caseId: summary.id, summary });
        if (current === p) emit('project.changed', { project: summarize(p) });
        return summary;
      });
    },
    'case.get': (req) => {
      const p = need();
      const summary = getCase(p, req.caseId);
      const { analysis, note } = analysisOf(readAnalysis(p, req.caseId), summary.files.analysis ?? 'analysis.json');
      const schema = summary.files.schema ? readCaseSchema(caseDir(p, req.caseId), summary.files.schema) : undefined;
      const withSchema = schema === undefined ? {} : { schema };
      const why = note ?? (summary.files.labels ? 'no analysis was computed at import' : 'the case has no labels');
      return analysis === null ? { summary, analysis, analysisNote: why, ...withSchema } : { summary, analysis, ...withSchema };
    },
    'case.approve': (req) => {
      const summary = approveCase(need(), req.caseId, req.note);
      emit('case.changed', { caseId: summary.id, summary });
      return summary;
    },
    'case.export': async (req) => ({ files: await exportCase(need(), req.caseId, req.dir) }),
    'case.exportAs': (req) => exportCaseAs(need(), req),
    'dicom.series': (req) => ({ series: listDicomSeries(req.path) }),
    'case.attachPrediction': (req) => ({ caseId: req.caseId, file: attachPrediction(need(), req.caseId, req.labels) }),
    'case.importSeg': (req) => importSegIntoCase(need(), req),
    'volume.get': (req) => {
      const raw = rawVolume(need(), req.caseId, req.kind);
      return {
        caseId: req.caseId, kind: req.kind, dims: raw.dims, spacing: raw.spacing, origin: raw.origin, direction: raw.direction,
        channels: raw.channels, dtype: raw.dtype, byteLength: raw.byteLength, url: opts.volumeUrl(req.caseId, req.kind),
      };
    },
    'job.list': () => ({ jobs: jobs.list() }),
    'job.cancel': (req) => ({ cancelled: jobs.cancel(req.jobId) }),
    'job.sleep': (req) => jobs.start('demo.sleep', (ctl) => sleepJob(req.ms, req.steps ?? 10, ctl)),
    'dialog.open': async (req) => {
      if (!opts.dialog) throw unavailable('native dialogs exist only in the desktop app; type a path instead');
      return { paths: await opts.dialog(req.purpose, req.title) };
    },
    // Electron main answers this itself (main/ipc.ts): it asks the user, then grants.
    'dialog.dropped': () => {
      throw unavailable('dropped files can be used in the desktop app only: a browser does not reveal their paths; use Browse… in the import wizard');
    },
    'schema.presets': () => ({ presets: listPresets(opts.presetsDir ?? defaultPresetsDir) }),
    'labels.scan': (req) => scanLabels(req.labels),
    'files.list': (req) => listFiles(
      [opts.sampleDir ?? defaultSampleDir, opts.presetsDir ?? defaultPresetsDir, ...(opts.listRoots ?? []), ...(current ? [current.dir] : [])], req.dir),
    'labels.preview': (req) => ({ analysis: previewLabels(req.ct, req.labels, req.schema) }),
    'train.plan': async (req) => {
      const p = need();
      const runs = p.file.runs.filter((r) => r.kind === 'train').map((r) => runDetail(p, r.id, training.isRunning(r.id)));
      // The estimate's basis is the backend the next run trains on: the GPU host when it has an
      // adapter (whether or not app.backend was asked yet), else the CPU ladder's rung.
      const active = (await training.gpuHostAdapter()) ? 'webgpu' : backendName;
      return trainPlan(p, req.caseIds, runs, active);
    },
    'train.start': async (req) => {
      requireMl('Training');
      const p = need();
      const { newRunId, runOptionsFor } = await import('./training.ts');
      const runId = newRunId();
      // Checked before a job exists: a request that cannot train (cases of two schemas, a case
      // without labels) is refused once, as this call's error, instead of failing inside a job.
      runOptionsFor(p, req, runId);
      let jobId = '';
      const started = jobs.start('train', (ctl) => training.run(p, req, runId, () => jobId, ctl));
      jobId = started.jobId;
      return { ...started, runId };
    },
    'train.resume': (req) => {
      const p = need();
      if (!p.file.runs.some((r) => r.id === req.runId && r.kind === 'train')) throw new ContractError({ code: 'not-found', message: `no training run '${req.runId}' in this project` });
      if (training.isRunning(req.runId)) throw new ContractError({ code: 'usage', message: `run '${req.runId}' is already running` });
      let jobId = '';
      const started = jobs.start('train', (ctl) => training.resume(p, req.runId, () => jobId, ctl));
      jobId = started.jobId;
      return { ...started, runId: req.runId };
    },
    'train.control': (req) => ({ ok: training.control(req.jobId, req.action) }),
    'run.list': () => {
      const p = need();
      const runs = p.file.runs.filter((r) => r.kind === 'train').map((r) => runDetail(p, r.id, training.isRunning(r.id)).summary);
      return { runs: runs.reverse() };
    },
    'run.get': (req) => runDetail(need(), req.runId, training.isRunning(req.runId)),
    'run.evaluate': (req) => {
      requireMl('Evaluating a run');
      const p = need();
      return jobs.start('run.evaluate', async (ctl) => (await import('./training-eval.ts')).evaluateRun(p, req.runId, req.checkpoint, ctl, await gpuHost()));
    },
    'run.thresholds': (req) => {
      requireMl('Tuning thresholds');
      const p = need();
      return jobs.start('run.thresholds', async (ctl) => (await import('./training-eval.ts')).runThresholds(p, req.runId, ctl, await gpuHost()));
    },
    'run.keepThresholds': (req) => ({ file: keepThresholds(need(), req.runId, req.thresholds) }),
    'run.showPrediction': (req) => ({ caseId: req.caseId, ...showPrediction(need(), req.runId, req.caseId, req.checkpoint) }),
    'run.compare': (req) => {
      const p = need();
      const runs = req.runIds.map((id) => runDetail(p, id, training.isRunning(id)));
      return { runs, differences: configDifferences(runs.map((r) => r.config)) };
    },
  };

  // Read-only: every writing call is refused before its handler runs (exports only into the project).
  const h = handlers as unknown as Record<CallName, (req: unknown, ctx: unknown) => unknown>;
  for (const name of Object.keys(projectWrites) as (keyof typeof projectWrites)[]) {
    const inner = h[name];
    h[name] = (req, ctx) => {
      const p = current;
      if (p?.readOnly) {
        const target = name === 'case.export' ? (req as { dir: string }).dir : name === 'case.exportAs' ? (req as { out: string }).out : null;
        if (target === null || inside(p.dir, target)) throw readOnlyError(p.file.name, projectWrites[name]);
      }
      return inner(req, ctx);
    };
  }

  return {
    handlers,
    jobs,
    attachGpuHost(link) {
      // Loaded on demand, as the training worker is: the driver's schemas pull in tfjs.
      training.attachGpuHost(import('../learning/gpu-host-driver.ts').then(({ GpuHostDriver }) => new GpuHostDriver(link)));
    },
    subscribe(cb) {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
    rawVolume: (caseId, kind) => rawVolume(need(), caseId, kind),
    project: () => current,
    dispose() {
      jobs.cancelAll();
      training.cancelAll();
      review.dispose();
      training.useGpuHost(null);
      listeners.clear();
    },
  };
}
