/**
 * The per-case label analysis (app/labels/analysis.ts `LabelAnalysis`) as the contract types it
 * (app/contract/labels.ts `LabelAnalysisData`: JSON, NaN and Infinity are null), plus the labels
 * and number formats the panels share.
 */
import { LabelAnalysisData } from '../../../app/contract/labels.ts';

const analysisSchema = LabelAnalysisData;

export type Analysis = LabelAnalysisData;
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
