/**
 * Scoring a run on its validation cases, in the services process: the best checkpoint predicts
 * each validation case (app/learning/infer.ts predictCt, the run's post-processing plan applied),
 * then per case × structure Dice, HD95, NSD, boundary Dice, precision, recall, the whole-vs-parts
 * consistency and the worst axial slice; and the validation probabilities' threshold curves
 * (app/metrics/thresholds.ts). The windows run on the GPU host when one with an adapter is
 * attached (learning/gpu-host-infer.ts), else on the CPU ladder; RUN/inference-<checkpoint>.json
 * records which (backend, adapter) and what each case cost. A long evaluation yields between
 * cases and window batches so other calls still get through; cancel acts between window batches.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunEvaluation, RunThresholds, ThresholdCurve } from '../contract/training.ts';
import { ContractError } from '../contract/result.ts';
import { readVolume } from '../imaging/io.ts';
import type { Geometry, Vec3 } from '../imaging/volume.ts';
import type { LabelSchema } from '../labels/schema.ts';
import { boundaryDicePerStructure, scoreCase, worstSlice } from '../learning/evaluate.ts';
import { thresholdCurve, thresholdGrid } from '../metrics/thresholds.ts';
import type { JobControl } from '../store/cases.ts';
import type { Project } from '../store/project.ts';
import { writeJsonAtomic } from '../util/atomic.ts';
import { headPosWeight } from '../labels/pos-weight.ts';
import { encodePrediction, writePrediction } from './training-prediction.ts';
import { projectCaseFiles, runFolder, wireSafe } from './training-runs.ts';
import type { GpuHostDriver } from '../learning/gpu-host-driver.ts';
import type { Inference } from '../learning/gpu-host-infer.ts';
import type { InferenceStats } from '../learning/infer.ts';

const TOLERANCE_MM = 2;
const BOUNDARY_RADIUS_MM = 2;
const breathe = () => new Promise<void>((r) => setImmediate(r));

interface ValidationPrediction {
  caseId: string;
  dims: Vec3;
  spacing: Vec3;
  axis: number;
  probs: Float32Array[];
  masks: Uint8Array[];
  gt: Uint8Array[];
  /** For writing the prediction in the labels file's encoding (training-prediction.ts). */
  geometry: Geometry;
  schema: LabelSchema;
  labelChannels: number;
}

async function predictValidation(p: Project, runId: string, checkpoint: 'best' | 'last', ctl: JobControl, host: GpuHostDriver | null, job: 'run.evaluate' | 'run.thresholds'): Promise<{ preds: ValidationPrediction[]; ids: string[]; names: string[]; head: string; hasWhole: boolean; posWeight: number[] }> {
  const dir = runFolder(p, runId);
  if (!p.file.runs.some((r) => r.id === runId)) throw new ContractError({ code: 'not-found', message: `no run '${runId}' in this project` });
  const { initBackend } = await import('../learning/backend.ts');
  await initBackend();
  const { loadModel, predictCt, releaseModel } = await import('../learning/infer.ts');
  const { loadCase } = await import('../learning/dataset.ts');
  const { axialAxis, structureLayout } = await import('../learning/data/case.ts');
  const { openInference } = await import('../learning/gpu-host-infer.ts');
  const model = loadModel(dir, checkpoint);
  let inf: Inference | null = null;
  try {
    // On the GPU host when one with an adapter is attached (as training), else the CPU ladder.
    inf = await openInference(model, host);
    const record: Array<{ caseId: string } & Pick<InferenceStats, 'peakGpuBytes' | 'seconds'> & Pick<InferenceStats['plan'], 'windows' | 'batch' | 'calls' | 'limitBytes'>> = [];
    const cfg = model.config;
    const valIds = [...new Set(cfg.valCases.map((id) => id.replace(/:slab.*$/, '')))];
    if (!valIds.length) throw new ContractError({ code: 'bad-input', message: `run ${runId} has no validation cases to evaluate` });
    const { cases, schemaPath } = projectCaseFiles(p, valIds);
    const { loadLabelSchema } = await import('../labels/schema.ts');
    const schema = loadLabelSchema(schemaPath);
    const preds: ValidationPrediction[] = [];
    for (const [i, c] of cases.entries()) {
      if (ctl.signal.aborted) throw new ContractError({ code: 'cancelled', message: 'cancelled' });
      ctl.progress(i / cases.length / 2, `predicting ${c.id}`);
      await breathe();
      const loaded = loadCase(c, schema, schemaPath);
      const layout = structureLayout(loaded.labels);
      const gt = layout.ids.map((id) => loaded.labels.masks[loaded.labels.schema.structures.findIndex((s) => s.id === id)]);
      const pr = await predictCt(model, loaded.hu, loaded.geometry, {
        postprocess: 'auto', hierarchy: 'none', probabilities: true, windows: inf.windows, backendRecord: inf.backend, signal: ctl.signal,
        onProgress: (d, n) => ctl.progress((i + d / n) / cases.length / 2, `predicting ${c.id}, window batch ${d}/${n}`),
      });
      if (!pr.probs) throw new Error('predictCt returned no probabilities');
      const { windows, batch, calls, limitBytes } = pr.stats.plan;
      record.push({ caseId: c.id, windows, batch, calls, limitBytes, peakGpuBytes: pr.stats.peakGpuBytes, seconds: pr.stats.seconds });
      const labelChannels = loaded.labels.schema.structures[0].source.kind === 'channel' ? readVolume(c.labels[0]).channels : 1;
      preds.push({
        caseId: c.id, dims: loaded.geometry.dims as Vec3, spacing: loaded.geometry.spacing as Vec3, axis: axialAxis(loaded.geometry), probs: pr.probs, masks: pr.masks, gt,
        geometry: loaded.geometry, schema: loaded.labels.schema, labelChannels,
      });
    }
    // What predicted them: every prediction records its backend and adapter.
    writeJsonAtomic(join(dir, `inference-${checkpoint}.json`), { format: 'osteon-inference-record/1', job, checkpoint, backend: inf.backend, cases: record, created: new Date().toISOString() });
    const head = cfg.head;
    const posWeight = headPosWeight(head);
    return { preds, ids: cfg.layout.ids, names: cfg.layout.names, head: head.kind, hasWhole: cfg.layout.hasWhole, posWeight };
  } finally {
    await inf?.close();
    releaseModel(model);
  }
}

export async function evaluateRun(p: Project, runId: string, checkpoint: 'best' | 'last', ctl: JobControl, host: GpuHostDriver | null = null): Promise<RunEvaluation> {
  const { preds, ids, names, hasWhole } = await predictValidation(p, runId, checkpoint, ctl, host, 'run.evaluate');
  const cases: RunEvaluation['cases'] = [];
  for (const [i, c] of preds.entries()) {
    ctl.progress(0.5 + (0.5 * i) / preds.length, `scoring ${c.caseId}`);
    await breathe();
    // The prediction, for compare mode from the results table (run.showPrediction).
    const byId = new Map(ids.map((id, k) => [id, c.masks[k]]));
    writePrediction(p, runId, checkpoint, c.caseId, c.geometry, encodePrediction(c.schema, byId, c.masks[0]?.length ?? 0, c.labelChannels));
    // The same scoring as `osteon eval` (app/learning/evaluate.ts scoreCase).
    const score = scoreCase(c.masks, c.gt, { dims: c.dims, spacing: c.spacing }, hasWhole, { toleranceMm: TOLERANCE_MM, boundaryRadiusMm: BOUNDARY_RADIUS_MM });
    const boundaryDice = boundaryDicePerStructure(score, hasWhole);
    cases.push({
      caseId: c.caseId,
      consistency: score.consistency?.pred.wholeVsUnionDice ?? NaN,
      metrics: score.metrics.map((m, k) => {
        return {
          dice: m.dice, hd95: m.hd95 ?? NaN, nsd: m.nsd?.[0] ?? NaN, boundaryDice: boundaryDice[k],
          precision: m.predCount > 0 ? m.intersection / m.predCount : NaN,
          recall: m.gtCount > 0 ? m.intersection / m.gtCount : NaN,
          worstSlice: worstSlice(c.masks[k], c.gt[k], c.dims, c.axis),
        };
      }),
    });
  }
  const result = wireSafe({ runId, structures: ids, names, axialAxis: preds[0]?.axis ?? 2, toleranceMm: TOLERANCE_MM, cases }) as RunEvaluation;
  writeJsonAtomic(join(runFolder(p, runId), `evaluation-${checkpoint}.json`), result);
  return result;
}

/** The cached evaluation of a run, if one was computed. */
export function readEvaluation(p: Project, runId: string, checkpoint: 'best' | 'last' = 'best'): RunEvaluation | null {
  const f = join(runFolder(p, runId), `evaluation-${checkpoint}.json`);
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as RunEvaluation) : null;
}

export async function runThresholds(p: Project, runId: string, ctl: JobControl, host: GpuHostDriver | null = null): Promise<RunThresholds> {
  const { preds, ids, head, hasWhole, posWeight } = await predictValidation(p, runId, 'best', ctl, host, 'run.thresholds');
  ctl.progress(0.9, 'threshold curves');
  await breathe();
  const grid = thresholdGrid(0.02);
  const curves: ThresholdCurve[] = ids.map((id, k) => {
    // Sigmoid channels have a threshold; softmax parts are an arg-max (shown, not tuned).
    const tunable = head === 'sigmoid' || (head === 'joint' && hasWhole && k === 0);
    const c = thresholdCurve(preds.map((x) => x.probs[k]), preds.map((x) => x.gt[k]), grid);
    const pw = head === 'sigmoid' ? posWeight[k] ?? null : tunable ? posWeight[0] ?? null : null;
    return wireSafe({ structure: id, tunable, ...c, posWeight: pw }) as ThresholdCurve;
  });
  const { readCalibration } = await import('../learning/infer.ts');
  const calibration = readCalibration(runFolder(p, runId), ids.length);
  const result: RunThresholds = { runId, curves, calibration: calibration ? wireSafe(calibration) as RunThresholds['calibration'] : null };
  writeJsonAtomic(join(runFolder(p, runId), 'thresholds.json'), result);
  return result;
}
