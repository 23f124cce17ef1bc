/**
 * Review on the wire: segmentation versions, per-structure review state, the case's audit trail,
 * editing strokes and their patches, and batch prediction (docs/review.md). Every payload is
 * spelled out (nothing left untyped): a reviewer's sign-off is a record other tools read.
 */
import { z } from 'zod';
import { Id, IsoTime, Name } from './schemas.ts';

/** A structure id of the case's label schema. */
export const StructureId = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected a structure id');
export const VersionNumber = z.number().int().min(1).max(99_999);
/** A version, or the case's imported ground truth. */
export const VersionRef = z.union([VersionNumber, z.literal('gt')]);
export type VersionRef = z.infer<typeof VersionRef>;

/** Where a version's masks came from. */
export const VersionSource = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('ground-truth') }),
  /** `backend`: what predicted it, e.g. "webgpu on the GPU host page (nvidia ampere)" (absent in older versions). */
  z.strictObject({ kind: z.literal('prediction'), runId: Id, checkpoint: z.enum(['best', 'last']), backend: z.string().max(512).optional() }),
  /** Edited from version `of` (null: from the ground truth). */
  z.strictObject({ kind: z.literal('edit'), of: VersionNumber.nullable() }),
  z.strictObject({ kind: z.literal('restore'), of: VersionNumber }),
]);
export type VersionSource = z.infer<typeof VersionSource>;

export const VersionInfo = z.strictObject({
  caseId: Id,
  version: VersionNumber,
  author: z.string().max(200),
  time: IsoTime,
  source: VersionSource,
  message: z.string().max(4096),
  /** Structure ids in channel order of the masks file. */
  structures: z.array(StructureId).max(256),
  /** Foreground voxels per structure, same order. */
  voxels: z.array(z.number().int().nonnegative()).max(256),
  /** SHA-256 of the masks file: a restored version carries the same bytes. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type VersionInfo = z.infer<typeof VersionInfo>;

export const ReviewState = z.enum(['accepted', 'needs-correction', 'rejected']);
export type ReviewState = z.infer<typeof ReviewState>;
export const ReviewReason = z.enum(['under-segmented', 'leak', 'wrong-side', 'boundary']);
export type ReviewReason = z.infer<typeof ReviewReason>;

export const StructureReview = z.strictObject({
  structure: StructureId,
  state: ReviewState,
  comment: z.string().max(4096),
  reason: ReviewReason.nullable(),
  user: z.string().max(200),
  time: IsoTime,
});
export type StructureReview = z.infer<typeof StructureReview>;

export const CaseReview = z.strictObject({
  caseId: Id,
  structures: z.array(StructureReview).max(256),
});
export type CaseReview = z.infer<typeof CaseReview>;

/** At a glance, for the case list: the worst state wins (rejected > needs correction > accepted). */
export const CaseReviewSummary = z.strictObject({
  caseId: Id,
  overall: z.enum(['unreviewed', 'accepted', 'needs-correction', 'rejected', 'partial']),
  counts: z.strictObject({ accepted: z.number().int(), 'needs-correction': z.number().int(), rejected: z.number().int(), unreviewed: z.number().int() }),
  versions: z.number().int().nonnegative(),
  hasPrediction: z.boolean(),
});
export type CaseReviewSummary = z.infer<typeof CaseReviewSummary>;

export const AuditLine = z.strictObject({
  time: IsoTime,
  action: z.string().max(64),
  user: z.string().max(200).nullable(),
  /** The entry's other fields as one line of JSON (shown, never interpreted). */
  detail: z.string().max(8192),
});
export type AuditLine = z.infer<typeof AuditLine>;

/** Per structure between two versions (a = reference, b = compared). */
export const StructureComparison = z.strictObject({
  structure: StructureId,
  name: Name,
  /** null when both masks are empty. */
  dice: z.number().nullable(),
  /** mm; null when both are empty or exactly one is (then `oneEmpty`). */
  hd95: z.number().nullable(),
  oneEmpty: z.boolean(),
  volumeAMl: z.number(),
  volumeBMl: z.number(),
  /** b − a, mL. */
  volumeDiffMl: z.number(),
  /** Voxels in b but not in a, and in a but not in b. */
  fp: z.number().int().nonnegative(),
  fn: z.number().int().nonnegative(),
});
export type StructureComparison = z.infer<typeof StructureComparison>;

export const VersionComparison = z.strictObject({
  caseId: Id,
  a: VersionRef,
  b: VersionRef,
  structures: z.array(StructureComparison).max(256),
});
export type VersionComparison = z.infer<typeof VersionComparison>;

const Voxel = z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative(), z.number().int().nonnegative()]);
const IndexAxis = z.union([z.literal(0), z.literal(1), z.literal(2)]);

/**
 * One editing operation on one structure, on a slice normal to index axis `axis` (0 = i, 1 = j,
 * 2 = k) at index `slice`. Points are voxel indices (i, j, k); their `axis` component is replaced
 * by `slice`.
 */
export const EditOp = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.enum(['brush', 'erase']), structure: StructureId, axis: IndexAxis, slice: z.number().int().nonnegative(),
    points: z.array(Voxel).min(1).max(4096), radiusMm: z.number().positive().max(200),
    /** Threshold brush: only voxels whose CT value lies in [min, max] HU. */
    hu: z.strictObject({ min: z.number(), max: z.number() }).optional(),
  }),
  z.strictObject({ kind: z.literal('fill'), structure: StructureId, axis: IndexAxis, slice: z.number().int().nonnegative(), seed: Voxel }),
  /** Fills the slices between the slices of this structure edited along `axis` in this session. */
  z.strictObject({ kind: z.literal('interpolate'), structure: StructureId, axis: IndexAxis }),
]);
export type EditOp = z.infer<typeof EditOp>;

/** How an edit treats the hierarchy; omitted: painting a part adds to the whole when the schema's whole contains it, erasing the whole clears the parts. */
export const HierarchyOptions = z.strictObject({ paintWhole: z.boolean().optional(), eraseParts: z.boolean().optional() });

/** What changed: the box [i0, j0, k0, i1, j1, k1) and, per changed channel, its new 0/1 bytes in the box (i fastest), base64. */
export const EditPatch = z.strictObject({
  caseId: Id,
  box: z.tuple([z.number().int(), z.number().int(), z.number().int(), z.number().int(), z.number().int(), z.number().int()]).nullable(),
  channels: z.array(z.strictObject({ channel: z.number().int().nonnegative(), data: z.string().max(64_000_000) })).max(256),
  changedVoxels: z.number().int().nonnegative(),
  undo: z.number().int().nonnegative(),
  redo: z.number().int().nonnegative(),
  dirty: z.boolean(),
});
export type EditPatch = z.infer<typeof EditPatch>;

export const EditSessionInfo = z.strictObject({
  caseId: Id,
  base: VersionRef,
  structures: z.array(z.strictObject({ id: StructureId, name: Name, role: z.enum(['whole', 'part']), colour: z.string().max(16) })).max(256),
  /** The volume kind (volume.get) that serves the session's starting masks. */
  kind: z.string().max(16),
  /** Does painting a part add to the whole by default (the schema's whole contains the parts)? */
  paintWholeDefault: z.boolean(),
  undo: z.number().int().nonnegative(),
  redo: z.number().int().nonnegative(),
  dirty: z.boolean(),
  maxUndo: z.number().int().positive(),
});
export type EditSessionInfo = z.infer<typeof EditSessionInfo>;

export const BatchPredictRequest = z.strictObject({
  runId: Id,
  /** The cases, or omitted: every case without a prediction. */
  caseIds: z.array(Id).min(1).max(4096).optional(),
  checkpoint: z.enum(['best', 'last']).default('best'),
});

export const BatchCaseState = z.enum(['queued', 'running', 'done', 'failed', 'cancelled']);
export const BatchCaseEvent = z.strictObject({
  jobId: Id, caseId: Id, state: BatchCaseState, version: VersionNumber.nullable(), message: z.string().max(4096),
});
export type BatchCaseEvent = z.infer<typeof BatchCaseEvent>;

export const BatchPredictResult = z.strictObject({
  runId: Id,
  cases: z.array(z.strictObject({ caseId: Id, state: BatchCaseState, version: VersionNumber.nullable(), message: z.string().max(4096) })).max(4096),
});
export type BatchPredictResult = z.infer<typeof BatchPredictResult>;
