/**
 * Runs the loss/metric oracle's cases (schema `ct-seg-oracle/1`, test/fixtures/oracle/README.md and
 * test/fixtures/oracle/) through Osteon's own code on the active tfjs backend, and compares
 * outputs with expected values by the oracle's rule. The loss kinds run here; `seg_metrics` and
 * `pos_weight` go to app/metrics. Tensors are channels-last: 2D [N,H,W,C], 3D [N,D,H,W,C].
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { badInput, toErrorData } from '../util/errors.ts';
import { runMetricCase, type MetricCaseKind, type MetricOutput } from '../metrics/conformance.ts';
import { bceWithLogits, crossEntropy, lossInputError } from './losses.ts';
import { softDice } from './losses-dice.ts';
import { jointHeadLoss } from './losses-joint.ts';

export const oracleSchemaId = 'ct-seg-oracle/1';
export const lossKinds = ['bce_with_logits', 'cross_entropy', 'soft_dice', 'joint_head_loss'] as const;
export const metricKinds = ['seg_metrics', 'pos_weight'] as const;
export type LossKind = (typeof lossKinds)[number];

/** A JSON number: finite, or the strings 'NaN' / 'Infinity' / '-Infinity' (null = NaN). */
const jsonNumber = z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity']), z.null()]);
const tensorSchema = z.object({
  dtype: z.enum(['float32', 'int32', 'float64']),
  shape: z.array(z.number().int().nonnegative()),
  data: z.array(jsonNumber),
}).refine((t) => t.data.length === t.shape.reduce((a, b) => a * b, 1), { message: 'data length differs from the product of shape' });
const caseSchema = z.object({
  id: z.string().min(1),
  kind: z.string(),
  note: z.string().optional(),
  inputs: z.record(z.string(), tensorSchema),
  params: z.record(z.string(), z.unknown()),
  expected: z.record(z.string(), z.unknown()).optional(),
});
const docSchema = z.object({ schema: z.literal(oracleSchemaId), seed: z.unknown().optional(), cases: z.array(caseSchema) });

export type OracleTensor = z.infer<typeof tensorSchema>;
export type OracleCase = z.infer<typeof caseSchema>;
export type OracleDoc = z.infer<typeof docSchema>;

/** An output as written to the actual file: numbers, with non-finite ones as strings. */
export type EncodedNumber = number | 'NaN' | 'Infinity' | '-Infinity';
export type EncodedValue = EncodedNumber | { shape: number[]; data: EncodedNumber[] };
export type CaseResult = Record<string, EncodedValue> | { error: string };

/** Parses cases.json text; the error names the file and the field (e.g. `cases.3.inputs.logits`). */
export function parseOracleDoc(text: string, file: string): OracleDoc {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw badInput(file, 'json', (e as Error).message);
  }
  const r = docSchema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw badInput(file, issue.path.map(String).join('.') || 'document', issue.message);
}

export function decodeNumber(v: z.infer<typeof jsonNumber>): number {
  if (v === null || v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return v;
}

export function encodeNumber(v: number): EncodedNumber {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  return v;
}

function toTensor(t: OracleTensor): tf.Tensor {
  return tf.tensor(t.data.map(decodeNumber), t.shape, t.dtype === 'int32' ? 'int32' : 'float32');
}

// Params per loss kind, as the oracle writes them; reductions other than 'mean' are refused.
const mean = z.literal('mean').optional();
const num = z.number();
const weights = z.array(num).nullable().optional();
const bceParams = z.object({ pos_weight: weights, reduction: mean });
const ceParams = z.object({ weight: weights, ignore_index: z.null().optional(), reduction: mean });
const diceParams = z.object({ activation: z.enum(['sigmoid', 'softmax']), include_background: z.boolean(), smooth_nr: num, smooth_dr: num, reduction: mean });
const jointParams = z.object({ a: num, b: num, c: num, pos_weight: num, ce_weight: weights, smooth_nr: num, smooth_dr: num });

function params<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw lossInputError(['params', ...issue.path.map(String)].join('.'), issue.message);
}

function input(inputs: Record<string, tf.Tensor>, name: string): tf.Tensor {
  const t = inputs[name];
  if (!t) throw lossInputError(`inputs.${name}`, 'missing');
  return t;
}

/** Runs one loss case; returns its outputs as plain numbers. */
export function runLossCase(kind: LossKind, c: OracleCase): Record<string, number> {
  return tf.tidy(() => {
    const inputs = Object.fromEntries(Object.entries(c.inputs).map(([k, t]) => [k, toTensor(t)]));
    const scalars = lossOutputs(kind, inputs, c.params);
    return Object.fromEntries(Object.entries(scalars).map(([k, v]) => [k, v.dataSync()[0]]));
  });
}

function lossOutputs(kind: LossKind, inputs: Record<string, tf.Tensor>, raw: unknown): Record<string, tf.Scalar> {
  switch (kind) {
    case 'bce_with_logits': {
      const p = params(bceParams, raw);
      return { loss: bceWithLogits(input(inputs, 'logits'), input(inputs, 'targets'), { posWeight: p.pos_weight ?? null }) };
    }
    case 'cross_entropy': {
      const p = params(ceParams, raw);
      return { loss: crossEntropy(input(inputs, 'logits'), input(inputs, 'labels'), { weight: p.weight ?? null }) };
    }
    case 'soft_dice': {
      const p = params(diceParams, raw);
      const target = p.activation === 'sigmoid'
        ? { activation: 'sigmoid' as const, targets: input(inputs, 'targets') }
        : { activation: 'softmax' as const, labels: input(inputs, 'labels') };
      return { loss: softDice(input(inputs, 'logits'), target, { includeBackground: p.include_background, smoothNr: p.smooth_nr, smoothDr: p.smooth_dr }) };
    }
    case 'joint_head_loss': {
      const p = params(jointParams, raw);
      const logits = input(inputs, 'logits');
      const parts = logits.shape[logits.rank - 1] - 2;
      const target = { whole: input(inputs, 'whole'), labels: input(inputs, 'labels') };
      const opts = { parts, posWeight: p.pos_weight, classWeights: p.ce_weight ?? null, a: p.a, b: p.b, c: p.c, smoothNr: p.smooth_nr, smoothDr: p.smooth_dr };
      const r = jointHeadLoss(logits, target, opts);
      // The oracle reports Dice whatever c; the loss computes it only when c > 0, so ask for it with c = 1.
      const dice = r.components.dice ?? jointHeadLoss(logits, target, { ...opts, c: 1 }).components.dice!;
      return { loss: r.total, ...r.components, dice };
    }
    default: {
      const unknownKind: never = kind;
      throw lossInputError('kind', `unknown loss kind ${String(unknownKind)}`);
    }
  }
}

function encodeMetric(v: MetricOutput): EncodedValue {
  return typeof v === 'number' ? encodeNumber(v) : { shape: [...v.shape], data: v.data.map(encodeNumber) };
}

/** Runs one case of any kind; a failure becomes `{error}` (the oracle counts it as failed). */
export function runCase(c: OracleCase): CaseResult {
  try {
    if ((lossKinds as readonly string[]).includes(c.kind)) {
      const out = runLossCase(c.kind as LossKind, c);
      return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, encodeNumber(v)]));
    }
    if ((metricKinds as readonly string[]).includes(c.kind)) {
      const inputs = Object.fromEntries(Object.entries(c.inputs).map(([k, t]) => [k, { dtype: t.dtype, shape: t.shape, data: t.data.map(decodeNumber) }]));
      const out = runMetricCase(c.kind as MetricCaseKind, inputs, c.params);
      return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, encodeMetric(v)]));
    }
    return { error: `unknown kind '${c.kind}'` };
  } catch (e) {
    return { error: toErrorData(e).message };
  }
}

export interface RunSummary {
  cases: number;
  errors: number;
  byKind: Record<string, { cases: number; errors: number }>;
  /** tf.memory().numTensors after minus before: 0 unless a loss leaks. */
  leakedTensors: number;
}

export function runCases(doc: OracleDoc): { results: Record<string, CaseResult>; summary: RunSummary } {
  const results: Record<string, CaseResult> = {};
  const byKind: RunSummary['byKind'] = {};
  const before = tf.memory().numTensors;
  let errors = 0;
  for (const c of doc.cases) {
    const r = runCase(c);
    results[c.id] = r;
    const k = (byKind[c.kind] ??= { cases: 0, errors: 0 });
    k.cases++;
    if ('error' in r) {
      k.errors++;
      errors++;
    }
  }
  return { results, summary: { cases: doc.cases.length, errors, byKind, leakedTensors: tf.memory().numTensors - before } };
}

// ---- comparison, the oracle's rule: |a - e| <= atol + rtol·|e|; NaN only NaN; ±Inf only itself ----

export const defaultTolerance = { rtol: 1e-4, atol: 1e-5 };

function numberOf(v: unknown): number {
  if (v === null) return NaN;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (s === 'nan') return NaN;
    if (s === 'infinity' || s === '+infinity' || s === 'inf' || s === '+inf') return Infinity;
    if (s === '-infinity' || s === '-inf') return -Infinity;
  }
  throw new Error(`not a number: ${JSON.stringify(v)}`);
}

function flatten(v: unknown, out: number[]): void {
  if (Array.isArray(v)) v.forEach((x) => flatten(x, out));
  else out.push(numberOf(v));
}

/** A JSON output value (number, string, null, tensor object, nested list) → flat numbers. */
export function valueData(v: unknown): { shape: number[] | null; data: number[] } {
  const data: number[] = [];
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as { shape?: unknown; data?: unknown };
    if (!('data' in o)) throw new Error("tensor object without 'data'");
    flatten(o.data, data);
    return { shape: Array.isArray(o.shape) ? o.shape.map(Number) : null, data };
  }
  flatten(v, data);
  return { shape: Array.isArray(v) ? null : [], data };
}

export function closeEnough(a: number, e: number, tol = defaultTolerance): boolean {
  if (Number.isNaN(e)) return Number.isNaN(a);
  if (!Number.isFinite(e)) return a === e;
  if (!Number.isFinite(a)) return false;
  return Math.abs(a - e) <= tol.atol + tol.rtol * Math.abs(e);
}

/** Problems of one case (empty when it passes), in the spirit of `oracle.py check`. */
export function compareCase(expected: Record<string, unknown>, actual: unknown, tol = defaultTolerance): string[] {
  if (actual === undefined) return ['missing from actual file'];
  if (actual === null || typeof actual !== 'object') return ['outputs must be an object'];
  const got = actual as Record<string, unknown>;
  if ('error' in got && !Object.keys(expected).some((k) => k in got)) return [`runner error: ${String(got.error)}`];
  const problems: string[] = [];
  for (const [key, exp] of Object.entries(expected)) {
    if (!(key in got)) {
      problems.push(`${key}: missing`);
      continue;
    }
    const e = valueData(exp);
    let a;
    try {
      a = valueData(got[key]);
    } catch (err) {
      problems.push(`${key}: unreadable value (${(err as Error).message})`);
      continue;
    }
    if (a.data.length !== e.data.length) {
      problems.push(`${key}: size ${a.data.length}, expected ${e.data.length}`);
      continue;
    }
    if (a.shape && e.shape && a.shape.length > 0 && a.shape.join(',') !== e.shape.join(',')) {
      problems.push(`${key}: shape [${a.shape.join(',')}], expected [${e.shape.join(',')}]`);
      continue;
    }
    a.data.forEach((x, i) => {
      if (!closeEnough(x, e.data[i], tol)) problems.push(`${key}[${i}]: actual ${x} expected ${e.data[i]} (diff ${Math.abs(x - e.data[i])})`);
    });
  }
  return problems;
}
