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
  ProjectSummary, RecentProject, Vec3, VolumeKind, VolumeMeta, DicomSeries, ExportFormat,
} from './schemas.ts';
import {
  AuditLine, BatchCaseEvent, BatchPredictRequest, BatchPredictResult, CaseReview, CaseReviewSummary, EditOp, EditPatch, EditSessionInfo,
  HierarchyOptions, ReviewReason, ReviewState, StructureId, VersionComparison, VersionInfo, VersionNumber, VersionRef,
} from './review.ts';
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
  'app.capabilities': call(Empty, z.strictObject({ ml: z.strictObject({ available: z.boolean(), reason: z.string().max(4096).nullable() }) }),
    'What this host can do: whether the ML backend may be used (not in review-only mode, OSTEON_BACKEND=none) and why not.'),
  'app.backend': call(Empty, BackendReport, 'Start the ML backend if not yet started (loads tfjs: seconds) and report it.'),

  'project.create': call(z.strictObject({ dir: Path, name: Name }), ProjectSummary,
    'Create a project folder (must be empty or absent) and open it.'),
  'project.open': call(z.strictObject({ dir: Path, readOnly: z.boolean().optional() }), ProjectSummary,
    'Open an existing project folder; readOnly: nothing is written to it and every call that would change it is refused (docs/review.md).'),
  'project.recent': call(Empty, z.strictObject({ projects: z.array(RecentProject) }), 'Recently opened projects, newest first.'),
  'project.get': call(Empty, z.strictObject({ project: ProjectSummary.nullable() }), 'The open project, or null.'),

  'case.list': call(Empty, z.strictObject({ cases: z.array(CaseSummary) }), 'Cases of the open project.'),
  'case.import': call(
    z.strictObject({
      ct: Path, labels: Path.optional(), schema: Path.optional(), name: Name.optional(),
      /** Instead of `schema`: a schema sent inline (the wizard's edited label ids), written as the case's schema.json. */
      schemaInline: LabelSchemaShape.optional(),
      /** For a DICOM folder holding several series: the one to import (dicom.series lists them). */
      seriesUid: z.string().max(64).optional(),
    }),
    JobStarted,
    'Job: copy a CT (+ labels, + label schema) into the project and compute the label analysis.'),
  'case.get': call(z.strictObject({ caseId: Id }), CaseDetail, 'One case with its label analysis.'),
  'case.approve': call(z.strictObject({ caseId: Id, note: z.string().max(4096).optional() }), CaseSummary,
    'Mark a case\'s labels as approved (audited).'),
  'case.export': call(z.strictObject({ caseId: Id, dir: Path }), z.strictObject({ files: z.array(Path).max(64) }),
    'Copy a case\'s labels, schema and analysis into a folder.'),

  'case.exportAs': call(
    z.strictObject({
      caseId: Id, source: z.enum(['labels', 'prediction']), format: ExportFormat, out: Path,
      /** DICOM SEG: the algorithm (a run id); absent for MANUAL (edited labels). */
      run: z.string().min(1).max(64).optional(),
    }),
    z.strictObject({ files: z.array(Path).max(1024), summary: z.string().max(2000) }),
    'Export a case\'s labels or its prediction, overlaps kept: DICOM SEG, NIfTI per structure, Slicer .seg.nrrd, or an nnU-Net v2 dataset (docs/dicom.md).'),
  'dicom.series': call(z.strictObject({ path: Path }), z.strictObject({ series: z.array(DicomSeries).max(1000) }),
    'The image series of a DICOM folder/DICOMDIR (description, slices, spacing, transfer syntax, why one is not readable), for the import wizard.'),
  'case.attachPrediction': call(z.strictObject({ caseId: Id, labels: Path }), z.strictObject({ caseId: Id, file: z.string().max(255) }),
    'Copies a predicted label map (same grid as the CT) into the case as prediction.*; volume.get kind prediction then serves it (compare mode).'),
  'case.importSeg': call(
    z.strictObject({
      caseId: Id, seg: Path, as: z.enum(['labels', 'prediction']),
      /** Segment label → structure id, for segments whose label/description names no structure. */
      map: z.record(z.string().min(1).max(64), z.string().min(1).max(64)).optional(),
    }),
    z.strictObject({
      caseId: Id, file: z.string().max(255), as: z.enum(['labels', 'prediction']),
      structures: z.array(z.strictObject({ id: z.string().max(64), segment: z.string().max(64), voxels: z.number().int().nonnegative() })).max(256),
      warnings: z.array(z.string().max(2000)).max(16),
    }),
    'A DICOM SEG (Slicer, OHIF, highdicom) into a case, segments mapped to its schema\'s structures, overlaps kept: as its prediction (compare mode), or as the labels of a case imported without any (docs/dicom.md).'),
  'volume.get': call(z.strictObject({ caseId: Id, kind: VolumeKind }), VolumeMeta,
    'A volume\'s geometry and the URL its raw voxels are served from.'),

  'job.list': call(Empty, z.strictObject({ jobs: z.array(JobInfo) }), 'Running and recently finished jobs.'),
  'job.cancel': call(z.strictObject({ jobId: Id }), z.strictObject({ cancelled: z.boolean() }),
    'Ask a running job to stop; it then ends with job.failed (code cancelled).'),
  'job.sleep': call(
    z.strictObject({ ms: z.number().int().min(0).max(600_000), steps: z.number().int().min(1).max(1000).optional() }),
    JobStarted, 'Job: a demo that waits `ms` in `steps` progress steps (used to test progress and cancel).'),

  'dialog.open': call(z.strictObject({
    purpose: DialogPurpose, title: z.string().max(200).optional(),
    /** 'save': the name the dialog suggests. */
    defaultName: z.string().min(1).max(255).optional(),
  }),
    z.strictObject({ paths: z.array(Path).max(1000) }),
    'A native file/folder dialog (Electron only; the browser host answers unavailable). Answers grant ids, not paths (app/services/path-guard.ts); empty when cancelled.'),
  'dialog.dropped': call(z.strictObject({ paths: z.array(Path).max(64) }), z.strictObject({ paths: z.array(Path).max(64) }),
    'Electron only, sent by the preload with the paths of files dropped on the window: main asks the user to confirm them in its own dialog and answers grant ids (empty when refused).'),

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
  'train.resume': call(z.strictObject({ runId: Id }), JobStarted.extend({ runId: Id }),
    'Job: continue an interrupted (or cancelled) run from its last checkpoint (weights, optimizer, early-stopping counter; the sampler is seeded per epoch).'),
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

  // Review (app/services/review.ts; schemas in ./review.ts; docs/review.md).
  'version.list': call(z.strictObject({ caseId: Id }), z.strictObject({ versions: z.array(VersionInfo).max(100_000) }),
    'The case\'s segmentation versions, oldest first.'),
  'version.restore': call(z.strictObject({ caseId: Id, version: VersionNumber, message: z.string().max(4096).optional() }), VersionInfo,
    'Saves an old version\'s masks, byte for byte, as a new version (nothing is overwritten).'),
  'version.compare': call(z.strictObject({ caseId: Id, a: VersionRef, b: VersionRef }), VersionComparison,
    'Per structure Dice, HD95, volumes and FP/FN voxel counts between two versions (or the ground truth).'),
  'review.get': call(z.strictObject({ caseId: Id }), CaseReview, 'The per-structure review state of a case.'),
  'review.set': call(z.strictObject({
    caseId: Id, structure: StructureId, state: ReviewState, comment: z.string().max(4096).default(''), reason: ReviewReason.optional(),
  }), CaseReview, 'Sets one structure\'s review state, comment and reason (atomic write, audited).'),
  'review.summary': call(Empty, z.strictObject({ cases: z.array(CaseReviewSummary).max(100_000) }), 'Every case\'s review state at a glance.'),
  'case.audit': call(z.strictObject({ caseId: Id }), z.strictObject({ entries: z.array(AuditLine).max(100_000) }), 'The audit trail of one case, oldest first.'),
  'edit.begin': call(z.strictObject({ caseId: Id, base: VersionRef.optional() }), EditSessionInfo,
    'Starts (or returns) the case\'s edit session from a version (default: the newest, else the ground truth).'),
  'edit.apply': call(z.strictObject({ caseId: Id, op: EditOp, hierarchy: HierarchyOptions.default({}) }), EditPatch,
    'Applies one brush, eraser, threshold-brush, fill or interpolation step; returns the changed voxels.'),
  'edit.undo': call(z.strictObject({ caseId: Id }), EditPatch, 'Undoes the last edit step.'),
  'edit.redo': call(z.strictObject({ caseId: Id }), EditPatch, 'Redoes the last undone step.'),
  'edit.save': call(z.strictObject({ caseId: Id, message: z.string().max(4096).default('') }), VersionInfo,
    'Saves the session\'s masks as a new version (source: edit of its base).'),
  'edit.end': call(z.strictObject({ caseId: Id }), z.strictObject({ ended: z.boolean() }), 'Drops the case\'s edit session (unsaved edits are lost).'),
  'report.build': call(z.strictObject({ caseIds: z.array(Id).min(1).max(4096).optional(), pdf: z.boolean().default(true) }),
    z.strictObject({ html: Path, pdf: Path.nullable(), cases: z.number().int().nonnegative(), url: z.string().max(8192).nullable() }),
    'Writes the review report (HTML, and PDF by Chromium) of the cases (default: all) into the project\'s reports/ folder.'),
  'predict.batch': call(BatchPredictRequest, JobStarted,
    'Job: predicts the cases with a run, each prediction stored as a new version (never over the ground truth); predict.case streams each case.'),
} as const satisfies Record<string, CallSpec>;

export const jobResults = {
  'case.import': CaseSummary,
  'demo.sleep': z.strictObject({ sleptMs: z.number() }),
  'train': z.strictObject({ runId: Id, reason: z.string().max(64), epoch: z.number().int(), bestMeanDice: z.number().nullable(), message: z.string().max(8192) }),
  'run.evaluate': RunEvaluation,
  'run.thresholds': RunThresholds,
  'predict.batch': BatchPredictResult,
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
    z.strictObject({ jobId: Id, kind: z.literal('predict.batch'), result: jobResults['predict.batch'] }),
  ]),
  'job.failed': z.strictObject({ jobId: Id, kind: JobKind, error: ErrorData }),
  'project.changed': z.strictObject({ project: ProjectSummary.nullable() }),
  'case.changed': z.strictObject({ caseId: Id, summary: CaseSummary }),
  /** A menu item the renderer should act on (Electron only). */
  'menu.action': z.strictObject({ action: MenuAction }),
  /** One event of a training job (app/learning/train.ts TrainEvent). */
  'train.event': z.strictObject({ jobId: Id, runId: Id, event: TrainEventData }),
  /** One case of a predict.batch job changed state. */
  'predict.case': BatchCaseEvent,
  /** A case's versions or review state changed. */
  'review.changed': z.strictObject({ caseId: Id }),
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
