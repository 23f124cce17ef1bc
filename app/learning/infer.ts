/**
 * Inference with a trained run: loads the run's config and checkpoint, predicts a CT, applies
 * thresholds, the run's post-processing plan and the hierarchy option, and writes one uint8
 * NIfTI mask per structure on the CT's grid (overlaps kept: a voxel can be in the whole and in a
 * part), optional float32 probabilities, and a manifest of how the masks were made.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readVolume, writeVolume } from '../imaging/io.ts';
import { geometryOf, type Geometry, type Vec3 } from '../imaging/volume.ts';
import { writeJsonAtomic } from '../util/atomic.ts';
import { badInput } from '../util/errors.ts';
import { loadParams, readCheckpoint } from './checkpoint.ts';
import type { TrainConfig } from './config.ts';
import { normalizeInto, paddingValue } from './data/normalize.ts';
import { createParams, disposeParams, type Params } from './model/unet.ts';
import { applyHierarchy, enforceConsistency, largestComponent, type HierarchyMode, type PostprocessPlan } from './postprocess.ts';
import type { Calibration } from './calibrate.ts';
import { binarize, binarizeInto, localLogitWindows, predictSlabsWith, type InferencePlan, type WindowRunner } from './predict.ts';
import { getBackendReport } from './backend.ts';
import { profileSpan } from './profile.ts';
import { headMode } from './window-accumulate.ts';
import { bf16Support, nativeNetUnsupported, nativeNetWindows, nativeThresholder, type InferencePrecision, type PrecisionChoice } from './native/infer-net.ts';
import { OsteonError } from '../util/errors.ts';
import type { AdapterSummary } from './webgpu/device.ts';
import { readRunConfig } from './resume.ts';

export interface LoadedModel {
  runDir: string;
  config: TrainConfig;
  params: Params;
  checkpoint: string;
  plan: PostprocessPlan | null;
  /** Thresholds calibrated on validation after training (calibration.json); null in older runs. */
  calibration: Calibration | null;
}

export function loadModel(runDir: string, which: 'best' | 'last' = 'best'): LoadedModel {
  const config = readRunConfig(runDir);
  let checkpoint = join(runDir, 'checkpoints', `${which}.ckpt`);
  if (!existsSync(checkpoint) && which === 'best') checkpoint = join(runDir, 'checkpoints', 'last.ckpt');
  if (!existsSync(checkpoint)) throw badInput(runDir, `checkpoints/${which}.ckpt`, 'missing: has this run finished an epoch?', 'not-found');
  const params = createParams(config.model);
  loadParams(readCheckpoint(checkpoint), params, checkpoint);
  const planPath = join(runDir, 'postprocessing.json');
  const plan = existsSync(planPath) ? (JSON.parse(readFileSync(planPath, 'utf8')) as PostprocessPlan) : null;
  return { runDir, config, params, checkpoint, plan, calibration: readCalibration(runDir, config.layout.ids.length) };
}

/** RUN/calibration.json (written by training), checked: one threshold in [0, 1] per structure. */
export function readCalibration(runDir: string, structures: number): Calibration | null {
  const f = join(runDir, 'calibration.json');
  if (!existsSync(f)) return null;
  let raw: unknown;
  try { raw = JSON.parse(readFileSync(f, 'utf8')); } catch (e) { throw badInput(f, 'json', (e as Error).message); }
  const c = raw as Partial<Calibration>;
  if (c.format !== 'osteon-calibration/1') throw badInput(f, 'format', `expected "osteon-calibration/1", got ${JSON.stringify(c.format)}`);
  if (!Array.isArray(c.thresholds) || c.thresholds.length !== structures || !c.thresholds.every((t) => typeof t === 'number' && t >= 0 && t <= 1)) {
    throw badInput(f, 'thresholds', `expected ${structures} numbers in [0, 1], one per structure`);
  }
  return c as Calibration;
}

/**
 * Thresholds kept for inference by threshold tuning (the app writes RUN/inference.json:
 * {format: 'osteon-inference/1', thresholds: one per structure}); null when none were kept.
 */
export function keptThresholds(runDir: string): number[] | null {
  const f = join(runDir, 'inference.json');
  if (!existsSync(f)) return null;
  let raw: unknown;
  try { raw = JSON.parse(readFileSync(f, 'utf8')); } catch (e) { throw badInput(f, 'json', (e as Error).message); }
  const t = (raw as { thresholds?: unknown }).thresholds;
  if (!Array.isArray(t) || !t.every((x) => typeof x === 'number' && x >= 0 && x <= 1)) throw badInput(f, 'thresholds', 'expected numbers in [0, 1], one per structure');
  return t as number[];
}

export function releaseModel(m: LoadedModel): void {
  disposeParams(m.params);
}

export interface InferOptions {
  /** One per structure; default: the run's calibrated thresholds (calibration.json), else 0.5. */
  thresholds?: number[];
  ttaFlipAxes?: number[];
  postprocess: 'auto' | 'none' | 'lcc';
  hierarchy: HierarchyMode;
  /**
   * Sigmoid head with a whole: parts exclusive (the most probable one) and the whole ⊇ the parts
   * (postprocess.ts enforceConsistency). 'auto' (default) = as decided on validation after training.
   */
  consistency?: 'auto' | 'on' | 'off';
  onProgress?: (done: number, total: number) => void;
  /** Also keep float32 probability volumes (Prediction.probs); default: masks only. */
  probabilities?: boolean;
  /** Windows per forward pass (predict.ts; default 4). */
  batchSize?: number;
  /** Where the windows run (default: this process's tfjs backend); the GPU host's runner in the app. */
  windows?: WindowRunner;
  /** What `windows` runs on (openInference's backend), for the precision recorded in the stats. */
  backendRecord?: InferenceBackend;
  /** Checked before each window batch (cancel). */
  signal?: AbortSignal;
  /** A forced window budget in bytes (the largest tensor of one pass), below the device's own limit. */
  windowBudget?: number;
  /**
   * The network's arithmetic when the windows run here (`windows` not given): 'auto' (default)
   * = bf16 where this CPU has bf16 instructions and the rung is wasm+dnnl, else fp32; 'bf16' is
   * refused (code 'unsupported') where it cannot run. See resolvePrecision.
   */
  precision?: PrecisionChoice;
}

/** What a prediction ran on, as every prediction records it. */
export interface InferenceBackend {
  /** The tfjs backend, e.g. 'webgpu', 'wasm'. */
  name: string;
  /** Where it ran: 'this process' or 'GPU host page'. */
  host: string;
  adapter: AdapterSummary | null;
  /** The network's arithmetic; absent in records from before it was a choice (they were fp32). */
  precision?: InferencePrecision;
  /** How it was chosen and what ran it, e.g. "auto: bf16 (oneDNN avx512_core_amx, whole network native)". */
  precisionDetail?: string;
}

/** This process's active backend (initBackend must have run). */
export function localBackend(): InferenceBackend {
  const r = getBackendReport();
  return { name: r?.name ?? 'unknown', host: 'this process', adapter: r?.name === 'webgpu' ? r.adapter : null };
}

/** The precision a prediction here runs at, and why (`detail`, recorded with it). */
export interface ResolvedPrecision { precision: InferencePrecision; detail: string }

/**
 * Resolves a precision choice for windows run in this process. fp32 is the model's tfjs forward
 * pass on the active backend; bf16 the native whole-network pass (native/infer-net.ts). 'auto'
 * takes bf16 only on the CPU rung wasm+dnnl (on tfjs-node or a GPU the backend's own pass stays)
 * and where oneDNN has bf16 instructions (AMX or AVX512-BF16), else fp32. An explicit 'bf16'
 * where it cannot run is an OsteonError 'unsupported' (exit 2 on the CLI) saying why.
 */
export function resolvePrecision(model: LoadedModel, choice: PrecisionChoice = 'auto'): ResolvedPrecision {
  if (choice === 'fp32') return { precision: 'fp32', detail: 'fp32 (asked for)' };
  const active = getBackendReport()?.name;
  // The native pass reads the weights synchronously; webgpu in Node cannot, and there the GPU's own pass is the point.
  const unsupported = active === 'webgpu' ? 'the windows run on the webgpu backend (the bf16 pass is for the CPU)' : nativeNetUnsupported(model.config.model);
  const support = unsupported ? null : bf16Support();
  const why = unsupported ?? support?.reason ?? null;
  if (choice === 'bf16') {
    if (why) throw new OsteonError({ code: 'unsupported', field: 'precision', message: `--precision bf16 is not available here: ${why}. Use --precision fp32 (or auto).` });
    return { precision: 'bf16', detail: `bf16 (asked for; oneDNN ${support!.isa}, whole network native, float32 accumulation)` };
  }
  const rung = getBackendReport()?.attempts.find((a) => a.ok)?.candidate;
  if (rung !== 'wasm+dnnl') return { precision: 'fp32', detail: `auto: fp32 (the ${rung ?? 'unknown'} backend runs its own float32 pass)` };
  if (why) return { precision: 'fp32', detail: `auto: fp32 (${why})` };
  return { precision: 'bf16', detail: `auto: bf16 (oneDNN ${support!.isa}, whole network native, float32 accumulation)` };
}

/**
 * Windows run in this process at a precision choice: the runner (the native pass for bf16, the
 * tfjs forward for fp32), the backend record with the precision, and `close` to free the native pass.
 */
export function localInference(model: LoadedModel, choice: PrecisionChoice = 'auto'): { windows: WindowRunner; backend: InferenceBackend; close(): void } {
  const r = resolvePrecision(model, choice);
  const backend: InferenceBackend = { ...localBackend(), precision: r.precision, precisionDetail: r.detail };
  if (r.precision === 'fp32') return { windows: localLogitWindows(model.params, model.config.model), backend, close: () => undefined };
  const native = nativeNetWindows(model.params, model.config.model, r.precision, headMode(model.config.head, model.config.layout.hasWhole));
  return { windows: native, backend, close: () => native.release() };
}

/** What the windows cost: the plan and the device memory's high-water mark (null where the backend has none). */
export interface InferenceStats {
  plan: InferencePlan;
  peakGpuBytes: number | null;
  seconds: number;
  /** The network's arithmetic (fp32 where the windows ran elsewhere, e.g. the GPU host, unless it said). */
  precision: InferencePrecision;
  precisionDetail: string;
}

export interface Prediction {
  geometry: Geometry;
  /** Float32 probability volumes per structure, only when asked for (`probabilities`). */
  probs: Float32Array[] | null;
  masks: Uint8Array[];
  stats: InferenceStats;
}

/**
 * Predicts a CT slab by slab (predict.ts predictSlabs): the HU are normalised a slab at a time,
 * each finished slab of probabilities is thresholded (and made consistent) into the uint8 masks
 * at once, and float32 probability volumes are kept only when `probabilities` asks for them. A
 * 512×512×300 CT then holds its raw voxels, the masks and one slab of floats, not a float32
 * copy of the CT plus a float32 volume per structure.
 */
export async function predictCt(model: LoadedModel, hu: ArrayLike<number> & { length: number }, geometry: Geometry, o: InferOptions): Promise<Prediction> {
  const cfg = model.config;
  const norm = cfg.normalization;
  const thresholds = o.thresholds ?? model.calibration?.thresholds;
  const consistent = o.consistency === 'on' || ((o.consistency ?? 'auto') === 'auto' && o.postprocess !== 'none' && model.plan?.consistency?.apply === true);
  const enforce = consistent && cfg.head.kind === 'sigmoid' && cfg.layout.hasWhole;
  const n = hu.length;
  const plane = geometry.dims[0] * geometry.dims[1];
  let masks: Uint8Array[] = [];
  let probs: Float32Array[] | null = null;
  const local = o.windows ? null : localInference(model, o.precision);
  // Thresholds on every thread where the addon has them (the same masks as binarizeInto).
  const threshold = nativeThresholder() ?? binarizeInto;
  const windows = o.windows ?? local!.windows;
  const prec = local?.backend ?? o.backendRecord;
  const t0 = performance.now();
  let windowPlan: InferencePlan | null = null;
  try {
  await predictSlabsWith(windows, cfg.model, cfg.head, { raw: hu, map: (raw, from, to, out, at) => normalizeInto(raw, from, to, norm, out, at) }, geometry, {
    context: cfg.sampling.context, patch: cfg.sampling.patch, fill: paddingValue(norm), hasWhole: cfg.layout.hasWhole,
    ttaFlipAxes: o.ttaFlipAxes, onProgress: o.onProgress, batchSize: o.batchSize, signal: o.signal,
    onPlan: (p) => { windowPlan = p; }, bindingLimit: windows.bindingLimit, windowBudget: o.windowBudget,
  }, (z0, _z1, slab) => {
    if (masks.length === 0) {
      masks = slab.map(() => new Uint8Array(n));
      if (o.probabilities) probs = slab.map(() => new Float32Array(n));
    }
    profileSpan('(predict) threshold into the masks', threshold === binarizeInto ? 'js' : 'native', () => {
      if (enforce) enforceConsistency(binarize(slab, cfg.head, cfg.layout.hasWhole, thresholds), slab).forEach((mk, k) => masks[k].set(mk, z0 * plane));
      else threshold(slab, cfg.head, cfg.layout.hasWhole, thresholds, masks, z0 * plane);
      probs?.forEach((p, k) => p.set(slab[k], z0 * plane));
    });
  });
  } finally {
    local?.close();
  }
  const stats: InferenceStats = {
    plan: windowPlan!, peakGpuBytes: windows.peakGpuBytes(), seconds: (performance.now() - t0) / 1000,
    precision: prec?.precision ?? 'fp32', precisionDetail: prec?.precisionDetail ?? 'fp32 (the windows ran elsewhere)',
  };
  const plan: PostprocessPlan | null = o.postprocess === 'none' ? null
    : o.postprocess === 'lcc' ? { format: 'osteon-postprocessing/1', largestComponent: masks.map(() => true), evidence: [] }
      : model.plan;
  // applyPlan and applyHierarchy, without their defensive copies of masks made here (a
  // 512×512×300 mask is 79 MB): only the largest-component channels get new arrays.
  profileSpan('(infer) post-processing (largest component, hierarchy)', 'js', () => {
    masks = masks.map((m, k) => (plan?.largestComponent[k] ? largestComponent(m, geometry.dims as Vec3) : m));
    if (cfg.layout.hasWhole && o.hierarchy !== 'none') masks = applyHierarchy(masks, true, o.hierarchy);
  });
  return { geometry, probs, masks, stats };
}

export interface InferResult {
  files: string[];
  voxels: Record<string, number>;
  stats: InferenceStats;
}

/** Reads the CT, predicts, writes OUT/<structure>.nii.gz (+ .prob.nii.gz) and OUT/prediction.json. */
export async function inferFile(model: LoadedModel, ctPath: string, outDir: string, o: InferOptions & { probabilities: boolean; backend?: InferenceBackend }): Promise<InferResult> {
  const ct = profileSpan('(infer) read the CT', 'js', () => readVolume(ctPath));
  if (ct.channels !== 1) throw badInput(ctPath, 'channels', `${ct.channels} channels; a CT has one`);
  const g = geometryOf(ct);
  const p = await predictCt(model, ct.data, g, o);
  const probs = p.probs;
  const ids = model.config.layout.ids;
  const files: string[] = [];
  const voxels: Record<string, number> = {};
  profileSpan('(infer) write the masks', 'js', () => p.masks.forEach((m, k) => {
    const f = join(outDir, `${ids[k]}.nii.gz`);
    writeVolume(f, { ...g, data: m, channels: 1 });
    files.push(f);
    let on = 0;
    for (let v = 0; v < m.length; v++) on += m[v];
    voxels[ids[k]] = on;
    if (probs) {
      const pf = join(outDir, `${ids[k]}.prob.nii.gz`);
      writeVolume(pf, { ...g, data: probs[k], channels: 1 });
      files.push(pf);
    }
  }));
  writeJsonAtomic(join(outDir, 'prediction.json'), {
    format: 'osteon-prediction/1', ct: ctPath, run: model.runDir, checkpoint: model.checkpoint, structures: ids,
    head: model.config.head.kind, thresholds: o.thresholds ?? model.calibration?.thresholds ?? null, ttaFlipAxes: o.ttaFlipAxes ?? [], postprocess: o.postprocess,
    plan: o.postprocess === 'auto' ? model.plan : null, hierarchy: o.hierarchy, consistency: o.consistency ?? 'auto', voxels,
    backend: { ...(o.backend ?? localBackend()), precision: p.stats.precision, precisionDetail: p.stats.precisionDetail }, inference: p.stats, created: new Date().toISOString(),
  });
  return { files, voxels, stats: p.stats };
}
