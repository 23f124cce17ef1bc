/**
 * The payloads that cross the contract. Requests are strict objects with bounded strings and
 * arrays, so a wrong type, an extra field or a huge string comes back as a schema error
 * (`bad-request`) instead of reaching a handler.
 */
import { z } from 'zod';
import { LabelAnalysisData, LabelSchemaData } from './labels.ts';

/** A file-system path as the user gave it (absolute on the host machine). */
export const Path = z.string().min(1).max(4096);
/** Case and job ids: short, lower-case, safe in a URL and a file name. */
export const Id = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'expected a lower-case id (a-z, 0-9, -)');
export const Name = z.string().min(1).max(200);
export const IsoTime = z.string().max(64);

export const Empty = z.strictObject({});

export const Vec3 = z.tuple([z.number(), z.number(), z.number()]);
export const Mat3 = z.array(z.number()).length(9);

export const BackendReport = z.strictObject({
  name: z.string().max(200),
  detail: z.string().max(4096),
});

export const AppInfo = z.strictObject({
  name: z.string(),
  version: z.string(),
  host: z.enum(['electron', 'browser', 'test']),
  versions: z.record(z.string(), z.string()),
  /** The ML backend in use, or null while app/learning has none to report. */
  backend: BackendReport.nullable(),
});
export type AppInfo = z.infer<typeof AppInfo>;
export type BackendReport = z.infer<typeof BackendReport>;

export const ProjectSummary = z.strictObject({
  dir: Path,
  name: Name,
  schemaVersion: z.number().int(),
  created: IsoTime,
  caseCount: z.number().int().nonnegative(),
  runCount: z.number().int().nonnegative(),
  /** Opened read-only (project.open readOnly): calls that would change the project are refused. */
  readOnly: z.boolean().optional(),
});
export type ProjectSummary = z.infer<typeof ProjectSummary>;

export const RecentProject = z.strictObject({ dir: Path, name: Name, openedAt: IsoTime });
export type RecentProject = z.infer<typeof RecentProject>;

export const CaseStatus = z.enum(['imported', 'approved']);

export const CaseSummary = z.strictObject({
  id: Id,
  name: Name,
  importedAt: IsoTime,
  status: CaseStatus,
  approvedAt: IsoTime.optional(),
  /** File names inside the case folder (cases/<id>/). */
  files: z.strictObject({
    ct: z.string().max(255),
    labels: z.string().max(255).optional(),
    schema: z.string().max(255).optional(),
    analysis: z.string().max(255).optional(),
  }),
  /** Where the files were imported from (they are copied, never modified). */
  sources: z.strictObject({ ct: Path, labels: Path.optional(), schema: Path.optional() }),
});
export type CaseSummary = z.infer<typeof CaseSummary>;

export const CaseDetail = z.strictObject({
  summary: CaseSummary,
  /** The label analysis written at import (app/labels), as JSON; null when none was computed. */
  analysis: LabelAnalysisData.nullable(),
  /** Why there is no analysis, when there is none. */
  analysisNote: z.string().max(4096).optional(),
  /** The case's label schema (osteon-labels/1 JSON, with colours and label ids), when it has one. */
  schema: LabelSchemaData.optional(),
});
export type CaseDetail = z.infer<typeof CaseDetail>;

/**
 * 'prediction': a predicted label map attached with case.attachPrediction (compare mode);
 * 'v<N>': version N of the case's segmentation (one 0/1 channel per structure, docs/review.md).
 */
export const VolumeKind = z.union([z.enum(['ct', 'labels', 'prediction']), z.templateLiteral(['v', z.number().int()]).refine((s) => /^v[1-9][0-9]{0,4}$/.test(s), 'expected v1 .. v99999')]);
export type VolumeKind = z.infer<typeof VolumeKind>;

export const DType = z.enum(['int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'float32', 'float64']);
export type DType = z.infer<typeof DType>;

/**
 * A volume's geometry and where to fetch its voxels. The voxels do not travel inside the
 * contract: `url` serves them as raw little-endian bytes in the volume layout of
 * app/imaging/volume.ts (i fastest, then j, k, channel), `byteLength` long. The browser host
 * serves it over HTTP (the token cookie applies); Electron over its `osteon:` scheme.
 */
export const VolumeMeta = z.strictObject({
  caseId: Id,
  kind: VolumeKind,
  dims: Vec3,
  spacing: Vec3,
  origin: Vec3,
  /** Row-major 3×3, column c = world (LPS) direction of index axis c. */
  direction: Mat3,
  channels: z.number().int().positive(),
  dtype: DType,
  byteLength: z.number().int().nonnegative(),
  url: z.string().max(8192),
});
export type VolumeMeta = z.infer<typeof VolumeMeta>;

export const JobKind = z.enum(['case.import', 'demo.sleep', 'train', 'run.evaluate', 'run.thresholds', 'predict.batch']);
export type JobKind = z.infer<typeof JobKind>;
export const JobState = z.enum(['running', 'done', 'failed', 'cancelled']);

export const JobStarted = z.strictObject({ jobId: Id, kind: JobKind });

export const JobInfo = z.strictObject({
  jobId: Id,
  kind: JobKind,
  state: JobState,
  /** 0..1 */
  progress: z.number().min(0).max(1),
  message: z.string().max(4096),
  startedAt: IsoTime,
  endedAt: IsoTime.optional(),
});
export type JobInfo = z.infer<typeof JobInfo>;

/** What a native dialog is for; 'save' names a new file or folder (an export's output). */
export const DialogPurpose = z.enum(['project-open', 'project-create', 'import-ct', 'import-labels', 'import-schema', 'export', 'save']);
export type DialogPurpose = z.infer<typeof DialogPurpose>;

/**
 * An osteon-labels/1 schema sent inline (the import wizard's edited mapping). Only its outline is
 * checked here; the services validate it fully (app/labels/schema.ts) and name the bad field.
 */
export const LabelSchemaShape = z.looseObject({
  schema: z.string().max(64),
  name: z.string().max(200),
  structures: z.array(z.looseObject({
    id: z.string().max(200),
    name: z.string().max(200).optional(),
    colour: z.string().max(64).optional(),
    role: z.string().max(64).optional(),
    source: z.looseObject({ kind: z.string().max(64) }).optional(),
  })).min(1).max(256),
});

/** Formats of `case.exportAs` (app/exchange): all keep overlapping structures. */
export const ExportFormat = z.enum(['dicom-seg', 'nifti', 'seg-nrrd', 'nnunet']);

/** One image series of a DICOM folder, as the import wizard lists it. */
export const DicomSeries = z.strictObject({
  uid: z.string().max(64), number: z.string().max(16), description: z.string().max(200), modality: z.string().max(16),
  files: z.number().int().nonnegative(), slices: z.number().int().nonnegative(), rows: z.number().int().nonnegative(), columns: z.number().int().nonnegative(),
  spacing: Vec3.nullable(), transferSyntax: z.string().max(64), transferSyntaxName: z.string().max(200), problem: z.string().max(2000).nullable(),
});
