/**
 * Reading training runs back from a project: runs/<id>/ holds the run folder of
 * app/learning/run.ts + train.ts (config.json, metrics.jsonl, status.json, checkpoints/), and
 * project.json's runs[] lists them. Also the project cases as training data (the adapter to
 * app/learning/dataset.ts's CaseFiles), the config differences of a run comparison, and the
 * numbers the training form needs (train.plan).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigDifference, EpochRecord, RunDetail, RunSummary, TrainPlan } from '../contract/training.ts';
import { CollapseFindingData, RunConfigData } from '../contract/run-config.ts';
import { ContractError } from '../contract/result.ts';
import type { CaseFiles } from '../learning/dataset.ts';
import { caseFolder } from '../store/paths.ts';
import type { Project } from '../store/project.ts';
import { writeJsonAtomic } from '../util/atomic.ts';
import { badInput } from '../util/errors.ts';

export function runFolder(p: Project, runId: string): string {
  return join(p.dir, 'runs', runId);
}

/** The project's cases as training data; every case must have labels and a schema. */
export function projectCaseFiles(p: Project, caseIds: readonly string[]): { cases: CaseFiles[]; schemaPath: string } {
  const cases = caseIds.map((id) => {
    const c = p.file.cases.find((x) => x.id === id);
    if (!c) throw new ContractError({ code: 'not-found', message: `no case '${id}' in this project` });
    if (!c.files.labels) throw badInput(id, 'labels', 'this case has no labels; import its label map to train on it');
    if (!c.files.schema) throw badInput(id, 'schema', 'this case has no label schema');
    const dir = caseFolder(p.dir, id);
    return { id, dir, ct: join(dir, c.files.ct), labels: [join(dir, c.files.labels)] };
  });
  const schemaPath = join(cases[0].dir, 'schema.json');
  const ids = (file: string) => JSON.stringify((JSON.parse(readFileSync(file, 'utf8')) as { structures: Array<{ id: string }> }).structures.map((s) => s.id));
  const first = ids(schemaPath);
  for (const c of cases.slice(1)) {
    if (ids(join(c.dir, 'schema.json')) !== first) throw badInput(join(c.dir, 'schema.json'), 'structures', `differs from case ${cases[0].id}'s structures ${first}; train on cases with one schema`);
  }
  return { cases, schemaPath };
}

/** JSON with NaN/Infinity as null (metrics.jsonl writes them as strings "NaN", "Infinity"). */
export function finiteJson(text: string): unknown {
  return JSON.parse(text, (_k, v: unknown) => (v === 'NaN' || v === 'Infinity' || v === '-Infinity' ? null : v));
}

/** A value with every non-finite number replaced by null (for the wire). */
export function wireSafe<T>(value: T): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)));
}

function readJson(file: string): Record<string, unknown> | null {
  if (!existsSync(file)) return null;
  try { return finiteJson(readFileSync(file, 'utf8')) as Record<string, unknown>; } catch { return null; }
}

interface MetricsLine { type: string; epoch?: number; step?: number; stepsPerEpoch?: number; samplesPerSec?: number | null; message?: string; finding?: unknown; loss?: unknown; seconds?: number; validation?: unknown }

function readMetrics(dir: string): MetricsLine[] {
  const f = join(dir, 'metrics.jsonl');
  if (!existsSync(f)) return [];
  return readFileSync(f, 'utf8').split('\n').filter((l) => l.trim()).flatMap((l) => {
    try { return [finiteJson(l) as MetricsLine]; } catch { return []; } // a line cut by a crash
  });
}

export function runDetail(p: Project, runId: string, running: boolean): RunDetail {
  const record = p.file.runs.find((r) => r.id === runId);
  if (!record) throw new ContractError({ code: 'not-found', message: `no run '${runId}' in this project` });
  const dir = runFolder(p, runId);
  // config.json as the contract types it; absent (a run still starting) or unreadable is null.
  const parsedConfig = RunConfigData.safeParse(readJson(join(dir, 'config.json')));
  const config = parsedConfig.success ? parsedConfig.data : null;
  const status = readJson(join(dir, 'status.json'));
  const request = readJson(join(dir, 'request.json'));
  const lines = readMetrics(dir);
  const history: EpochRecord[] = [];
  let lastRate: number | null = null;
  for (const l of lines) {
    if (l.type === 'step' && l.step === l.stepsPerEpoch) lastRate = l.samplesPerSec ?? null;
    if (l.type === 'epoch') history.push({ epoch: l.epoch ?? 0, loss: l.loss as EpochRecord['loss'], seconds: l.seconds ?? 0, ...(l.validation ? { validation: l.validation as EpochRecord['validation'] } : {}), samplesPerSec: lastRate });
  }
  // A resumed run repeats epochs: keep the last record of each.
  const byEpoch = new Map(history.map((h) => [h.epoch, h]));
  const layout = config?.layout;
  const head = config?.head;
  const pw = head && head.kind !== 'softmax' ? head.posWeight ?? undefined : undefined;
  const sweep = request?.sweep as { id: string; value: number } | undefined;
  const summary: RunSummary = {
    id: runId, created: record.created, ...(record.note ? { note: record.note } : {}),
    status: running ? 'running' : statusOf(status, dir),
    head: head?.kind ?? null,
    structures: layout?.ids ?? [],
    epochs: config?.epochs ?? null,
    epochsDone: byEpoch.size,
    bestMeanDice: typeof status?.bestMeanDice === 'number' ? status.bestMeanDice : null,
    posWeight: pw === undefined ? null : Array.isArray(pw) ? pw : [pw],
    sweep: sweep ?? null,
  };
  return {
    summary, config, history: [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch),
    warnings: lines.filter((l) => l.type === 'warning').map((l) => ({ epoch: l.epoch ?? 0, message: l.message ?? '', finding: findingOf(l.finding) })),
    message: typeof status?.message === 'string' ? status.message : null,
  };
}

function findingOf(v: unknown): CollapseFindingData | null {
  const r = CollapseFindingData.safeParse(v);
  return r.success ? r.data : null;
}

function statusOf(status: Record<string, unknown> | null, dir: string): RunSummary['status'] {
  if (status && typeof status.reason === 'string') {
    const r = status.reason;
    if (r === 'completed' || r === 'cancelled' || r === 'early-stopped' || r === 'non-finite-loss') return r;
  }
  return existsSync(join(dir, 'failed.json')) ? 'failed' : 'unknown';
}

function flatten(v: unknown, prefix: string, out: Map<string, string>): void {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, JSON.stringify(v) ?? 'undefined');
}

/** Dotted config keys whose values differ between the configs (arrays compared whole), sorted by key. */
export function configDifferences(configs: readonly unknown[], skip: readonly string[] = ['trainCases', 'valCases', 'normalization']): ConfigDifference[] {
  const flat = configs.map((c) => { const m = new Map<string, string>(); flatten(c, '', m); return m; });
  const keys = new Set(flat.flatMap((m) => [...m.keys()]));
  const out: ConfigDifference[] = [];
  for (const k of [...keys].sort()) {
    if (skip.some((s) => k === s || k.startsWith(`${s}.`))) continue;
    const values = flat.map((m) => m.get(k) ?? '—');
    if (new Set(values).size > 1) out.push({ key: k, values: values.map((v) => v.slice(0, 1000)) });
  }
  return out;
}

interface AnalysisLike {
  voxels?: number;
  structures?: Array<{ id: string; name: string; role: string }>;
  recommendation?: { formulation: 'softmax' | 'sigmoid' | 'joint'; reason: string };
  posWeight?: Array<{ id: string; positives: number; negatives: number }>;
}

/** The training form's numbers: labelled cases, the first case's structures and recommendation, pooled pos_weight, a time basis. */
export function trainPlan(p: Project, caseIds: readonly string[] | undefined, runs: readonly RunDetail[]): TrainPlan {
  const labelled = p.file.cases.filter((c) => c.files.labels && c.files.analysis && (!caseIds || caseIds.includes(c.id)));
  const analyses = labelled.map((c) => readJson(join(caseFolder(p.dir, c.id), c.files.analysis!)) as AnalysisLike | null);
  const first = analyses.find((a) => a !== null) ?? null;
  // Channel order of the engine (app/learning/data/case.ts): the whole first, then the parts in schema order.
  const structures = [...(first?.structures ?? [])].sort((a, b) => Number(b.role === 'whole') - Number(a.role === 'whole'));
  const ids = structures.map((s) => s.id);
  const posWeight = ids.map((id) => {
    let pos = 0, neg = 0;
    for (const a of analyses) { const w = a?.posWeight?.find((x) => x.id === id); pos += w?.positives ?? 0; neg += w?.negatives ?? 0; }
    return pos > 0 ? Math.round((neg / pos) * 100) / 100 : null;
  });
  const rates = runs.flatMap((r) => {
    const cfg = r.config as { batchSize?: number; stepsPerEpoch?: number; model?: { filters?: number[] } } | null;
    const units = (cfg?.batchSize ?? 0) * (cfg?.model?.filters ?? []).reduce((a, b) => a + b, 0);
    return units > 0 && cfg?.stepsPerEpoch ? r.history.map((h) => h.seconds / cfg.stepsPerEpoch! / units) : [];
  }).sort((a, b) => a - b);
  const secondsPerUnit = rates.length ? rates[Math.floor(rates.length / 2)] : null;
  return {
    cases: labelled.map((c, i) => ({ id: c.id, name: c.name, voxels: analyses[i]?.voxels ?? 0 })),
    structures: structures.map((s) => ({ id: s.id, name: s.name, role: s.role })),
    recommendation: first?.recommendation ? { head: first.recommendation.formulation, reason: first.recommendation.reason } : null,
    posWeight,
    secondsPerUnit,
    basis: rates.length
      ? `median of ${rates.length} epochs measured in this project's runs (seconds per sample × Σ filters, validation included)`
      : 'no run measured yet in this project: a rough default for the CPU backends',
  };
}

/** Writes RUN/inference.json with one threshold per structure (read by app/learning/infer.ts keptThresholds). */
export function keepThresholds(p: Project, runId: string, thresholds: readonly number[]): string {
  const detail = runDetail(p, runId, false);
  const n = detail.summary.structures.length;
  if (thresholds.length !== n) throw badInput(runId, 'thresholds', `${thresholds.length} values for ${n} structures (${detail.summary.structures.join(', ')})`);
  const file = join(runFolder(p, runId), 'inference.json');
  writeJsonAtomic(file, { format: 'osteon-inference/1', thresholds, kept: new Date().toISOString() });
  return file;
}
