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
import { ErrorData } from './result.ts';
import {
  AppInfo, BackendReport, CaseDetail, CaseSummary, DialogPurpose, Empty, Id, JobInfo, JobKind, JobStarted, Name, Path,
  ProjectSummary, RecentProject, VolumeKind, VolumeMeta,
} from './schemas.ts';

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
    z.strictObject({ ct: Path, labels: Path.optional(), schema: Path.optional(), name: Name.optional() }),
    JobStarted,
    'Job: copy a CT (+ labels, + label schema) into the project and compute the label analysis.'),
  'case.get': call(z.strictObject({ caseId: Id }), CaseDetail, 'One case with its label analysis.'),
  'case.approve': call(z.strictObject({ caseId: Id, note: z.string().max(4096).optional() }), CaseSummary,
    'Mark a case\'s labels as approved (audited).'),
  'case.export': call(z.strictObject({ caseId: Id, dir: Path }), z.strictObject({ files: z.array(Path).max(64) }),
    'Copy a case\'s labels, schema and analysis into a folder.'),

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
} as const satisfies Record<string, CallSpec>;

export const jobResults = {
  'case.import': CaseSummary,
  'demo.sleep': z.strictObject({ sleptMs: z.number() }),
} as const satisfies Record<JobKind, z.ZodType>;

export const MenuAction = z.enum(['project-new', 'project-open', 'case-import', 'case-export', 'about']);

export const events = {
  'job.started': JobInfo,
  'job.progress': z.strictObject({ jobId: Id, kind: JobKind, progress: z.number().min(0).max(1), message: z.string().max(4096) }),
  'job.done': z.strictObject({ jobId: Id, kind: JobKind, result: z.unknown() }),
  'job.failed': z.strictObject({ jobId: Id, kind: JobKind, error: ErrorData }),
  'project.changed': z.strictObject({ project: ProjectSummary.nullable() }),
  'case.changed': z.strictObject({ caseId: Id, summary: CaseSummary }),
  /** A menu item the renderer should act on (Electron only). */
  'menu.action': z.strictObject({ action: MenuAction }),
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
