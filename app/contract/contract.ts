/**
 * Osteon's one IPC contract. Every call and event is listed here once, with its schemas; the
 * Electron main registration, the preload bridge, the browser host and the renderer client
 * all iterate over these keys, so no channel string is written anywhere else.
 *
 * Long work is a job: the call returns `{ jobId, kind }` at once, then `job.progress` events
 * stream, and exactly one of `job.done` (with a result of `jobs[kind]`) or `job.failed`
 * (code 'cancelled' after `job.cancel`) ends it.
 */
import { z } from 'zod';
import { LabelAnalysisData, LabelSchemaData } from './labels.ts';
import { ErrorData } from './result.ts';
import {
  AppInfo, BackendReport, CaseDetail, CaseSummary, DialogPurpose, Empty, Id, JobInfo, JobKind, JobStarted, LabelSchemaShape, Name, Path,
  ProjectSummary, RecentProject, Vec3, VolumeKind, VolumeMeta,
} from './schemas.ts';
import { ConfigDifference, RunDetail, RunEvaluation, RunSummary, RunThresholds, TrainEventData, TrainPlan, TrainRequest } from './training.ts';

export interface CallSpec {
  readonly request: z.ZodType;
  readonly response: z.ZodType;
  /** One line for docs and the About box. */
  readonly summary: string;
}

function call<Req extends z.ZodType, Res extends z.ZodType>(request: Req, response: Res, summary: string) {
  return { request, response, summary };
}

export const calls = {
  'app.info': call(Empty, AppInfo, 'Versions, the host kind and the ML backend in use (null until one started).'),
  'app.backend': call(Empty, BackendReport, 'Start the ML backend if not yet started (loads tfjs: seconds) and report it.'),

  'project.create': call(z.strictObject({ dir: Path, name: Name }), ProjectSummary,
    'Create a project folder (must be empty or absent) and open it.'),
  'project.open': call(z.strictObject({ dir: Path }), ProjectSummary, 'Open an existing project folder.'),
  'project.recent': call(Empty, z.strictObject({ projects: z.array(RecentProject) }), 'Recently opened projects, newest first.'),
  'project.get': call(Empty, z.strictObject({ project: ProjectSummary.nullable() }), 'The open project, or null.'),

  'case.list': call(Empty, z.strictObject({ cases: z.array(CaseSummary) }), 'Cases of the open project.'),
  'case.import': call(
    z.strictObject({
      ct: Path, labels: Path.optional(), schema: Path.optional(), name: Name.optional(),
      /** Instead of `schema`: a schema sent inline (the wizard's edited label ids), written as the case's schema.json. */
      schemaInline: LabelSchemaShape.optional(),
    }),
    JobStarted,
    'Job: copy a CT (+ labels, + label schema) into the project and compute the label analysis.'),
  'case.get': call(z.strictObject({ caseId: Id }), CaseDetail, 'One case with its label analysis.'),
  'case.approve': call(z.strictObject({ caseId: Id, note: z.string().max(4096).optional() }), CaseSummary,
    'Mark a case\'s labels as approved (audited).'),
  'case.export': call(z.strictObject({ caseId: Id, dir: Path }), z.strictObject({ files: z.array(Path).max(64) }),
    'Copy a case\'s labels, schema and analysis into a folder.'),

  'case.attachPrediction': call(z.strictObject({ caseId: Id, labels: Path }), z.strictObject({ caseId: Id, file: z.string().max(255) }),
    'Copies a predicted label map (same grid as the CT) into the case as prediction.*; volume.get kind prediction then serves it (compare mode).'),
  'volume.get': call(z.strictObject({ caseId: Id, kind: VolumeKind }), VolumeMeta,
    'A volume\'s geometry and the URL its raw voxels are served from.'),

  'job.list': call(Empty, z.strictObject({ jobs: z.array(JobInfo) }), 'Running and recently finished jobs.'),
  'job.cancel': call(z.strictObject({ jobId: Id }), z.strictObject({ cancelled: z.boolean() }),
    'Ask a running job to stop; it then ends with job.failed (code cancelled).'),
  'job.sleep': call(
    z.strictObject({ ms: z.number().int().min(0).max(600_000), steps: z.number().int().min(1).max(1000).optional() }),
    JobStarted, 'Job: a demo that waits `ms` in `steps` progress steps (used to test progress and cancel).'),

  'dialog.open': call(z.strictObject({ purpose: DialogPurpose, title: z.string().max(200).optional() }),
    z.strictObject({ paths: z.array(Path).max(1000) }),
    'A native file/folder dialog (Electron only; the browser host answers unavailable). Empty when cancelled.'),

  // The import wizard's look before importing (app/services/import-help.ts); nothing is written.
  'schema.presets': call(Empty, z.strictObject({ presets: z.array(z.strictObject({ path: Path, schema: LabelSchemaData })).max(256) }),
    'The bundled label schemas (resources/presets), each parsed.'),
  'labels.scan': call(z.strictObject({ labels: Path }), z.strictObject({
    dims: Vec3,
    channels: z.number().int().positive(),
    values: z.array(z.strictObject({
      value: z.number().int().nonnegative(), voxels: z.number().int().nonnegative(), name: z.string().max(200).optional(),
    })).max(4096),
  }), 'The label ids (or channels) of a label file with their voxel counts, and names from a labels.json beside it.'),
  'files.list': call(z.strictObject({ dir: Path.optional() }), z.strictObject({
    /** The folder listed, or null for the list of roots. */
    dir: Path.nullable(),
    /** The folder above, or null at a root. */
    parent: Path.nullable(),
    entries: z.array(z.strictObject({
      name: z.string().max(255), path: Path, kind: z.enum(['file', 'dir']), size: z.number().int().nonnegative(),
    })).max(2000),
  }), 'Folders and files under the allowed roots (bundled samples and presets, the open project), for the browser host\'s file picker.'),
  'labels.preview': call(
    z.strictObject({ ct: Path, labels: Path, schema: LabelSchemaShape }),
    z.strictObject({ analysis: LabelAnalysisData }),
    'The label analysis of a label file under an inline schema (e.g. with edited ids), without importing.'),

  // Training, runs and their evaluation (app/services/training*.ts; schemas in ./training.ts).
  'train.plan': call(z.strictObject({ caseIds: z.array(Id).max(4096).optional() }), TrainPlan,
    'What the training form needs: labelled cases, structures, the analysis\' recommended head and pos_weight, a time basis.'),
  'train.start': call(TrainRequest, JobStarted.extend({ runId: Id }),
    'Job: train a model on project cases in a worker; train.event streams its events; the run lands in runs/<id>/.'),
  'train.control': call(z.strictObject({ jobId: Id, action: z.enum(['pause', 'resume']) }), z.strictObject({ ok: z.boolean() }),
    'Pause or resume a running training job (cancel with job.cancel).'),
  'run.list': call(Empty, z.strictObject({ runs: z.array(RunSummary).max(10_000) }), 'Training runs of the open project, newest first.'),
  'run.get': call(z.strictObject({ runId: Id }), RunDetail, 'A run\'s config, per-epoch history, warnings and status.'),
  'run.evaluate': call(z.strictObject({ runId: Id, checkpoint: z.enum(['best', 'last']).default('best') }), JobStarted,
    'Job: per validation case × structure Dice, HD95, NSD, boundary Dice, precision/recall, consistency, worst slice.'),
  'run.thresholds': call(z.strictObject({ runId: Id }), JobStarted,
    'Job: validation probabilities → per-channel precision, recall and Dice against threshold, best threshold.'),
  'run.keepThresholds': call(z.strictObject({ runId: Id, thresholds: z.array(z.number().min(0).max(1)).min(1).max(64) }),
    z.strictObject({ file: Path }), 'Keep per-structure thresholds for inference with this run (RUN/inference.json; osteon infer uses them).'),
  'run.showPrediction': call(z.strictObject({ runId: Id, caseId: Id, checkpoint: z.enum(['best', 'last']).default('best') }), z.strictObject({ caseId: Id, file: z.string().max(255) }),
    'Attach the run\'s prediction of a validation case (written by run.evaluate) to the case for compare mode.'),
  'run.compare': call(z.strictObject({ runIds: z.array(Id).min(2).max(16) }),
    z.strictObject({ runs: z.array(RunDetail).max(16), differences: z.array(ConfigDifference).max(1000) }),
    'Several runs with their histories and the config keys that differ.'),
} as const satisfies Record<string, CallSpec>;

export const jobResults = {
  'case.import': CaseSummary,
  'demo.sleep': z.strictObject({ sleptMs: z.number() }),
  'train': z.strictObject({ runId: Id, reason: z.string().max(64), epoch: z.number().int(), bestMeanDice: z.number().nullable(), message: z.string().max(8192) }),
  'run.evaluate': RunEvaluation,
  'run.thresholds': RunThresholds,
} as const satisfies Record<JobKind, z.ZodType>;

export const MenuAction = z.enum(['project-new', 'project-open', 'case-import', 'case-export', 'about']);

export const events = {
  'job.started': JobInfo,
  'job.progress': z.strictObject({ jobId: Id, kind: JobKind, progress: z.number().min(0).max(1), message: z.string().max(4096) }),
  /** The result's schema follows from the kind (jobResults). */
  'job.done': z.discriminatedUnion('kind', [
    z.strictObject({ jobId: Id, kind: z.literal('case.import'), result: jobResults['case.import'] }),
    z.strictObject({ jobId: Id, kind: z.literal('demo.sleep'), result: jobResults['demo.sleep'] }),
    z.strictObject({ jobId: Id, kind: z.literal('train'), result: jobResults.train }),
    z.strictObject({ jobId: Id, kind: z.literal('run.evaluate'), result: jobResults['run.evaluate'] }),
    z.strictObject({ jobId: Id, kind: z.literal('run.thresholds'), result: jobResults['run.thresholds'] }),
  ]),
  'job.failed': z.strictObject({ jobId: Id, kind: JobKind, error: ErrorData }),
  'project.changed': z.strictObject({ project: ProjectSummary.nullable() }),
  'case.changed': z.strictObject({ caseId: Id, summary: CaseSummary }),
  /** A menu item the renderer should act on (Electron only). */
  'menu.action': z.strictObject({ action: MenuAction }),
  /** One event of a training job (app/learning/train.ts TrainEvent). */
  'train.event': z.strictObject({ jobId: Id, runId: Id, event: TrainEventData }),
} as const satisfies Record<string, z.ZodType>;

export const contract = { calls, events } as const;

export type ContractShape = {
  readonly calls: Readonly<Record<string, CallSpec>>;
  readonly events: Readonly<Record<string, z.ZodType>>;
};

export type Contract = typeof contract;
export type CallName = keyof typeof calls;
export type EventName = keyof typeof events;
/** What a caller passes (before defaults). */
export type Req<K extends CallName> = z.input<(typeof calls)[K]['request']>;
/** What a handler receives (after parsing). */
export type ParsedReq<K extends CallName> = z.output<(typeof calls)[K]['request']>;
export type Res<K extends CallName> = z.output<(typeof calls)[K]['response']>;
export type EventPayload<E extends EventName> = z.output<(typeof events)[E]>;
export type JobResult<K extends JobKind> = z.output<(typeof jobResults)[K]>;

export const callNames = Object.keys(calls) as CallName[];
export const eventNames = Object.keys(events) as EventName[];

/** The Electron IPC channel of a call or event: derived, never typed by hand. */
export function channelOf(name: CallName | EventName): string {
  return `osteon:${name}`;
}
