/**
 * Label schemas and label analyses as they cross the contract. The schema's zod definition lives
 * here once: app/labels/schema.ts validates files with it (adding the cross-field rules and the
 * file/field in messages), and the renderer gets its types from here.
 */
import { z } from 'zod';

export const SCHEMA_TAG = 'osteon-labels/1';

const LabelmapSource = z.strictObject({
  kind: z.literal('labelmap'),
  /** Label-map values that make up the structure (e.g. TotalSegmentator ids). */
  values: z.array(z.number().int().min(0).max(65535)).min(1),
});

const MaskSource = z.strictObject({
  kind: z.literal('mask'),
  /** Binary mask file, relative to the schema file, or null when given on the command line. */
  file: z.string().min(1).nullable().default(null),
});

const ChannelSource = z.strictObject({
  kind: z.literal('channel'),
  /** 0-based channel of the multi-channel label volume. */
  index: z.number().int().min(0).max(1023),
});

export const LabelSource = z.discriminatedUnion('kind', [LabelmapSource, MaskSource, ChannelSource]);

export const StructureDef = z.strictObject({
  id: z.string().regex(/^[a-z][a-z0-9_-]{0,47}$/, 'lower-case letters, digits, "_" or "-", starting with a letter'),
  /** The display name: every view, chart, table and report shows this, never the id. */
  name: z.string().min(1).max(80),
  /** The structure's one colour, everywhere (viewer, charts, tables, reports). */
  colour: z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour like "#4FC3F7"'),
  role: z.enum(['whole', 'part']),
  source: LabelSource,
  /** Coded anatomy for DICOM SEG (e.g. SNOMED CT: scheme "SCT", value "12921003", meaning "Pelvis"). */
  code: z.strictObject({ scheme: z.string().min(1).max(16), value: z.string().min(1).max(64), meaning: z.string().min(1).max(64) }).optional(),
});

/** An osteon-labels/1 schema (resources/presets/*.json). */
export const LabelSchemaData = z.strictObject({
  schema: z.literal(SCHEMA_TAG),
  name: z.string().min(1).max(80),
  description: z.string().max(10_000).default(''),
  structures: z.array(StructureDef).min(1).max(256),
});
export type LabelSchemaData = z.infer<typeof LabelSchemaData>;
export type StructureDefData = z.infer<typeof StructureDef>;

/**
 * A number that may have been NaN or ±Infinity before JSON (Dice of two empty masks, pos_weight
 * of a channel without positives): null on the wire.
 */
const WireNum = z.number().nullable();
const Count = z.number().int().nonnegative();

export const Formulation = z.enum(['softmax', 'sigmoid', 'joint']);
export type Formulation = z.infer<typeof Formulation>;

/** app/labels/analysis.ts LabelAnalysis, as JSON (non-finite numbers are null). */
export const LabelAnalysisData = z.strictObject({
  schema: z.string().max(200),
  voxels: Count,
  voxelMm3: WireNum,
  structures: z.array(z.strictObject({
    id: z.string().max(64),
    name: z.string().max(200),
    role: z.enum(['whole', 'part']),
    classId: z.number().int().nullable(),
    voxels: Count,
    volumeMl: WireNum,
  })).max(256),
  overlap: z.strictObject({ ids: z.array(z.string().max(64)).max(256), voxels: z.array(z.array(Count).max(256)).max(256) }),
  partsDisjoint: z.boolean(),
  partOverlaps: z.array(z.strictObject({ a: z.string().max(64), b: z.string().max(64), voxels: Count })).max(65_536),
  multiPartVoxels: Count,
  wholeVsUnion: z.strictObject({
    whole: z.string().max(64),
    wholeVoxels: Count,
    unionVoxels: Count,
    intersection: Count,
    dice: WireNum,
    wholeNotUnion: Count,
    unionNotWhole: Count,
    equal: z.boolean(),
  }).nullable(),
  recommendation: z.strictObject({ formulation: Formulation, reason: z.string().max(8192) }),
  posWeight: z.array(z.strictObject({ id: z.string().max(64), positives: Count, negatives: Count, posWeight: WireNum })).max(256),
  classWeights: z.strictObject({
    method: z.literal('median-frequency'),
    classes: z.array(z.strictObject({ classId: z.number().int(), id: z.string().max(64), voxels: Count, frequency: WireNum, weight: WireNum })).max(256),
  }).nullable(),
  weightingNote: z.string().max(8192),
  warnings: z.array(z.string().max(8192)).max(1000),
});
export type LabelAnalysisData = z.infer<typeof LabelAnalysisData>;

/** A value as JSON carries it: NaN and ±Infinity become null (what a WebSocket would deliver anyway). */
export function toWire<T>(value: T): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}
