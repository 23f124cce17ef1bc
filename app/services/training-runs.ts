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
import { DEFAULT_POS_WEIGHT_RULE, addCount, explainPosWeight, headPosWeight, posWeightByRule, posWeightRatio, roundWeight, sigmoidChannels } from '../labels/pos-weight.ts';

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
  const pw = head && head.kind !== 'softmax' ? headPosWeight(head) : undefined;
  const sweep = request?.sweep as { id: string; value: number } | undefined;
  const summary: RunSummary = {
    id: runId, created: record.created, ...(record.note ? { note: record.note } : {}),
    status: running ? 'running' : statusOf(status, dir),
    head: head?.kind ?? null,
    structures: layout?.ids ?? [],
    epochs: config?.epochs ?? null,
    epochsDone: byEpoch.size,
    bestMeanDice: typeof status?.bestMeanDice === 'number' ? status.bestMeanDice : null,
    posWeight: pw === undefined || pw.length === 0 ? null : pw,
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
  if (existsSync(join(dir, 'failed.json'))) return 'failed';
  // No status.json, not running, a checkpoint on disk: the host was killed mid-run. Resumable.
  return existsSync(join(dir, 'checkpoints', 'last.ckpt')) ? 'interrupted' : 'unknown';
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

/** The tfjs backend a run trained on (run.json), or null for runs from before it was recorded. */
function runBackend(p: Project, runId: string): string | null {
  const b = readJson(join(runFolder(p, runId), 'run.json'))?.backend as { name?: unknown } | null | undefined;
  return typeof b?.name === 'string' ? b.name : null;
}

/** A case's schema as a key: its name and structure ids (cases train together only with equal keys). */
function schemaOf(p: Project, caseId: string, file: string | undefined): { key: string; name: string; ids: string[] } | null {
  if (!file) return null;
  const j = readJson(join(caseFolder(p.dir, caseId), file)) as { name?: string; structures?: Array<{ id?: string }> } | null;
  if (!j?.structures) return null;
  const ids = j.structures.map((s) => String(s.id));
  return { key: `${j.name ?? ''}:${ids.join(',')}`, name: j.name ?? '(unnamed)', ids };
}

/** The head the chosen cases call for: sigmoid if any has overlapping parts, else joint if any whole ≠ union, else softmax. */
function pooledRecommendation(analyses: ReadonlyArray<{ id: string; a: AnalysisLike }>): TrainPlan['recommendation'] {
  const rank = { sigmoid: 3, joint: 2, softmax: 1 } as const;
  let best: { id: string; head: 'softmax' | 'sigmoid' | 'joint'; reason: string } | null = null;
  for (const { id, a } of analyses) {
    const r = a.recommendation;
    if (r && (!best || rank[r.formulation] > rank[best.head])) best = { id, head: r.formulation, reason: r.reason };
  }
  if (!best) return null;
  const n = analyses.length;
  return { head: best.head, reason: n > 1 ? `${best.reason} (case ${best.id}; ${n} cases chosen)` : best.reason };
}

/**
 * The training form's numbers, from the chosen cases (caseIds; by default the labelled cases
 * that share the first labelled case's schema): every labelled case with whether it can join the
 * selection and why not, the structures in channel order, the recommended head, the suggested
 * pos_weight (the default rule on negatives/positives pooled over the chosen cases; the raw ratio
 * too), which channels each head weighs, and a time basis.
 */
export function trainPlan(p: Project, caseIds: readonly string[] | undefined, allRuns: readonly RunDetail[], activeBackend: string | null = null): TrainPlan {
  // A webgpu epoch says little about a wasm one: time basis from runs on the active backend when there are any.
  const same = activeBackend ? allRuns.filter((r) => runBackend(p, r.summary.id) === activeBackend) : [];
  const runs = same.length ? same : allRuns;
  const labelled = p.file.cases.filter((c) => c.files.labels && c.files.analysis);
  const schemas = new Map(labelled.map((c) => [c.id, schemaOf(p, c.id, c.files.schema)]));
  const firstKey = labelled.map((c) => schemas.get(c.id)?.key).find((k) => k !== undefined) ?? null;
  const chosen = caseIds ? labelled.filter((c) => caseIds.includes(c.id)) : labelled.filter((c) => schemas.get(c.id)?.key === firstKey);
  const key = chosen.map((c) => schemas.get(c.id)?.key).find((k) => k !== undefined) ?? firstKey;
  const keyName = chosen.length ? schemas.get(chosen[0].id)?.name : labelled.length ? schemas.get(labelled[0].id)?.name : undefined;
  const analyses = chosen.flatMap((c) => {
    const a = readJson(join(caseFolder(p.dir, c.id), c.files.analysis!)) as AnalysisLike | null;
    return a ? [{ id: c.id, a }] : [];
  });
  const first = analyses[0]?.a ?? null;
  // Channel order of the engine (app/learning/data/case.ts): the whole first, then the parts in schema order.
  const structures = [...(first?.structures ?? [])].sort((a, b) => Number(b.role === 'whole') - Number(a.role === 'whole'));
  const ids = structures.map((s) => s.id);
  const counts = ids.map((id) => {
    const c = { positives: 0, negatives: 0 };
    for (const { a } of analyses) { const w = a.posWeight?.find((x) => x.id === id); if (w) addCount(c, w); }
    return c;
  });
  const hasWhole = structures[0]?.role === 'whole';
  const rates = runs.flatMap((r) => {
    const cfg = r.config as { batchSize?: number; stepsPerEpoch?: number; model?: { filters?: number[] } } | null;
    const units = (cfg?.batchSize ?? 0) * (cfg?.model?.filters ?? []).reduce((a, b) => a + b, 0);
    return units > 0 && cfg?.stepsPerEpoch ? r.history.map((h) => h.seconds / cfg.stepsPerEpoch! / units) : [];
  }).sort((a, b) => a - b);
  const secondsPerUnit = rates.length ? rates[Math.floor(rates.length / 2)] : null;
  return {
    cases: labelled.map((c) => {
      const sk = schemas.get(c.id);
      const fits = sk?.key === key;
      return {
        id: c.id, name: c.name, voxels: analyses.find((x) => x.id === c.id)?.a.voxels ?? 0, schema: sk?.name ?? null,
        selectable: fits, reason: fits ? null : sk
          ? `schema "${sk.name}" (${sk.ids.join(', ')}) differs from the chosen cases' "${keyName ?? ''}": one run trains on one schema; untick those cases to train on this one`
          : 'this case has no label schema',
      };
    }),
    selected: chosen.map((c) => c.id),
    structures: structures.map((s) => ({ id: s.id, name: s.name, role: s.role })),
    recommendation: pooledRecommendation(analyses),
    posWeight: counts.map((c) => (c.positives > 0 ? posWeightByRule(c, DEFAULT_POS_WEIGHT_RULE) : null)),
    posWeightRatio: counts.map((c) => (c.positives > 0 ? roundWeight(posWeightRatio(c.positives, c.negatives)) : null)),
    posWeightRule: DEFAULT_POS_WEIGHT_RULE,
    posWeightExplanation: explainPosWeight(),
    posWeightChannels: {
      softmax: sigmoidChannels('softmax', ids.length, hasWhole), sigmoid: sigmoidChannels('sigmoid', ids.length, hasWhole), joint: sigmoidChannels('joint', ids.length, hasWhole),
    },
    secondsPerUnit,
    basis: rates.length
      ? `median of ${rates.length} epochs measured in this project's runs${same.length ? ` on the ${activeBackend} backend` : activeBackend ? ` (none yet on the ${activeBackend} backend)` : ''} (seconds per sample × Σ filters, validation included)`
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
