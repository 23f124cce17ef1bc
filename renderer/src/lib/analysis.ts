/**
 * The per-case label analysis (app/labels/analysis.ts, `LabelAnalysis`) as it arrives in
 * `case.get` — JSON, so NaN and Infinity have become null. The renderer may not import the core,
 * so it parses the parts it shows here, at its own boundary; unknown extra fields are ignored.
 */
import { z } from 'zod';

const num = z.number().nullable();

const structure = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(['whole', 'part']),
  classId: z.number().nullable(),
  voxels: z.number(),
  volumeMl: num,
});

const analysisSchema = z.object({
  schema: z.string(),
  voxels: z.number(),
  voxelMm3: num,
  structures: z.array(structure),
  overlap: z.object({ ids: z.array(z.string()), voxels: z.array(z.array(z.number())) }),
  partsDisjoint: z.boolean(),
  multiPartVoxels: z.number(),
  wholeVsUnion: z.object({
    whole: z.string(),
    wholeVoxels: z.number(),
    unionVoxels: z.number(),
    intersection: z.number(),
    dice: num,
    wholeNotUnion: z.number(),
    unionNotWhole: z.number(),
    equal: z.boolean(),
  }).nullable(),
  recommendation: z.object({ formulation: z.enum(['softmax', 'sigmoid', 'joint']), reason: z.string() }),
  posWeight: z.array(z.object({ id: z.string(), positives: z.number(), negatives: z.number(), posWeight: num })),
  classWeights: z.object({
    method: z.string(),
    classes: z.array(z.object({ classId: z.number(), id: z.string(), voxels: z.number(), frequency: num, weight: num })),
  }).nullable(),
  weightingNote: z.string().default(''),
  warnings: z.array(z.string()).default([]),
});

export type Analysis = z.infer<typeof analysisSchema>;
export type Formulation = Analysis['recommendation']['formulation'];

export type ParsedAnalysis = { ok: true; analysis: Analysis } | { ok: false; problem: string };

export function parseAnalysis(raw: unknown): ParsedAnalysis {
  const r = analysisSchema.safeParse(raw);
  if (r.success) return { ok: true, analysis: r.data };
  const i = r.error.issues[0];
  return { ok: false, problem: `analysis.${i.path.join('.')}: ${i.message}` };
}

export const formulationLabel: Record<Formulation, string> = {
  softmax: 'Softmax (CrossEntropy on a class map)',
  sigmoid: 'Sigmoid per structure (BCEWithLogits, multi-hot)',
  joint: 'Joint head (sigmoid whole + softmax parts)',
};

const fmt = new Intl.NumberFormat('en-US');

/** 5884 → "5,884"; null (a JSON'd NaN/Infinity) → "—". */
export function count(n: number | null): string {
  return n === null ? '—' : fmt.format(n);
}

export function fixed(n: number | null, digits: number): string {
  return n === null ? '—' : n.toFixed(digits);
}
