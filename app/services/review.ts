/**
 * The review services (docs/review.md): versions, per-structure review state, the case audit
 * trail, edit sessions and batch prediction. Handlers for the contract's review calls; the store
 * does the writing (app/store/versions.ts, app/store/review.ts), app/review the voxel work.
 */
import { join, relative } from 'node:path';
import type { Contract } from '../contract/contract.ts';
import { ContractError } from '../contract/result.ts';
import type { BatchCaseEvent, BatchPredictResult, CaseReviewSummary, EditSessionInfo, VersionInfo, VersionRef } from '../contract/review.ts';
import type { Handlers } from '../contract/rpc.ts';
import { readVolume } from '../imaging/io.ts';
import { geometryOf, type Geometry, type VoxelArray } from '../imaging/volume.ts';
import { loadLabels } from '../labels/load.ts';
import { loadLabelSchema, type LabelSchema } from '../labels/schema.ts';
import { compareMasks } from '../review/compare.ts';
import { EditSession, type SessionStructure } from '../review/session.ts';
import { caseDir, getCase, type JobControl } from '../store/cases.ts';
import { appendAudit } from '../store/audit.ts';
import type { Project } from '../store/project.ts';
import { caseAudit, readReview, setReview } from '../store/review.ts';
import { listVersions, readVersionMasks, restoreVersion, saveVersion } from '../store/versions.ts';
import type { Emit, JobManager } from './jobs.ts';
import { requireMl } from './capabilities.ts';
import type { GpuHostDriver } from '../learning/gpu-host-driver.ts';
import type { InferenceBackend } from '../learning/infer.ts';

export type ReviewCall =
  | 'version.list' | 'version.restore' | 'version.compare' | 'review.get' | 'review.set' | 'review.summary' | 'case.audit'
  | 'edit.begin' | 'edit.apply' | 'edit.undo' | 'edit.redo' | 'edit.save' | 'edit.end' | 'predict.batch' | 'report.build';

const breathe = () => new Promise<void>((r) => setImmediate(r));

export function caseSchema(p: Project, caseId: string): { schema: LabelSchema; path: string } {
  const c = getCase(p, caseId);
  if (!c.files.schema) throw new ContractError({ code: 'bad-input', message: `case '${caseId}' has no label schema; import it with one to review it` });
  const path = join(caseDir(p, caseId), c.files.schema);
  return { schema: loadLabelSchema(path), path };
}

function structuresOf(schema: LabelSchema): SessionStructure[] {
  return schema.structures.map((s) => ({ id: s.id, name: s.name, role: s.role, colour: s.colour, ...(s.source.kind === 'labelmap' ? { values: s.source.values } : {}) }));
}

export function readCt(p: Project, caseId: string): { data: VoxelArray; geometry: Geometry } {
  const ct = readVolume(join(caseDir(p, caseId), getCase(p, caseId).files.ct));
  return { data: ct.data, geometry: geometryOf(ct) };
}

/** The imported labels as one mask per schema structure. */
export function groundTruth(p: Project, caseId: string): { masks: Uint8Array[]; geometry: Geometry; schema: LabelSchema } {
  const c = getCase(p, caseId);
  if (!c.files.labels) throw new ContractError({ code: 'not-found', message: `case '${caseId}' has no ground truth labels` });
  const { schema, path } = caseSchema(p, caseId);
  const ctPath = join(caseDir(p, caseId), c.files.ct);
  const ct = readVolume(ctPath);
  const { set } = loadLabels({ files: [join(caseDir(p, caseId), c.files.labels)], schema, schemaPath: path, map: {} }, ct, ctPath);
  return { masks: set.masks, geometry: set.geometry, schema };
}

/** Masks of a version or the ground truth, reordered to the case schema's structures (missing ones empty). */
export function masksOf(p: Project, caseId: string, ref: VersionRef): { masks: Uint8Array[]; geometry: Geometry; schema: LabelSchema } {
  if (ref === 'gt') return groundTruth(p, caseId);
  const { schema } = caseSchema(p, caseId);
  const v = readVersionMasks(p.dir, caseId, ref);
  const n = v.geometry.dims[0] * v.geometry.dims[1] * v.geometry.dims[2];
  const masks = schema.structures.map((s) => {
    const c = v.info.structures.indexOf(s.id);
    return c >= 0 ? v.masks[c] : new Uint8Array(n);
  });
  return { masks, geometry: v.geometry, schema };
}

function hasPrediction(versions: readonly VersionInfo[]): boolean {
  return versions.some((v) => v.source.kind === 'prediction');
}

export function summarizeReview(p: Project, caseId: string): CaseReviewSummary {
  const versions = listVersions(p.dir, caseId);
  const review = readReview(p.dir, caseId);
  let ids: string[] = [];
  try { ids = caseSchema(p, caseId).schema.structures.map((s) => s.id); } catch { ids = review.structures.map((s) => s.structure); }
  const counts = { accepted: 0, 'needs-correction': 0, rejected: 0, unreviewed: 0 };
  for (const id of ids) {
    const r = review.structures.find((s) => s.structure === id);
    counts[r ? r.state : 'unreviewed']++;
  }
  const overall: CaseReviewSummary['overall'] = counts.rejected ? 'rejected' : counts['needs-correction'] ? 'needs-correction'
    : counts.unreviewed === ids.length ? 'unreviewed' : counts.unreviewed ? 'partial' : 'accepted';
  return { caseId, overall, counts, versions: versions.length, hasPrediction: hasPrediction(versions) };
}

export interface ReviewServices {
  handlers: Pick<Handlers<Contract>, ReviewCall>;
  dispose(): void;
}

export function createReviewServices(o: {
  need: () => Project; jobs: JobManager; emit: Emit; reportUrl?: (relPath: string) => string;
  /** The GPU host when one with an adapter is attached (batch prediction runs there), else null. */
  gpuHost?: () => Promise<GpuHostDriver | null>;
}): ReviewServices {
  const { need, jobs, emit } = o;
  const sessions = new Map<string, { project: Project; session: EditSession }>();

  const session = (caseId: string): EditSession => {
    const s = sessions.get(caseId);
    if (!s || s.project !== need()) throw new ContractError({ code: 'usage', message: `no edit session for case '${caseId}'; call edit.begin first` });
    return s.session;
  };

  const info = (s: EditSession): EditSessionInfo => ({
    caseId: s.caseId, base: s.base, structures: s.structures.map(({ id, name, role, colour }) => ({ id, name, role, colour })),
    kind: typeof s.base === 'number' ? `v${s.base}` : 'labels', paintWholeDefault: s.paintWholeDefault,
    undo: s.history.undoCount, redo: s.history.redoCount, dirty: s.dirty, maxUndo: s.history.limit,
  });

  /** Sessions always start from a stored version: the ground truth is stored as one first when asked for (or when there is none). */
  const begin = (p: Project, caseId: string, base: VersionRef | undefined): EditSession => {
    const versions = listVersions(p.dir, caseId);
    let n: number;
    if (base === undefined && versions.length) n = versions.at(-1)!.version;
    else if (typeof base === 'number') {
      if (!versions.some((v) => v.version === base)) throw new ContractError({ code: 'not-found', message: `case '${caseId}' has no version ${base}` });
      n = base;
    } else {
      const gt = versions.find((v) => v.source.kind === 'ground-truth');
      if (gt) n = gt.version;
      else {
        const g = groundTruth(p, caseId);
        n = saveVersion(p.dir, caseId, {
          source: { kind: 'ground-truth' }, message: 'ground truth as imported', structures: g.schema.structures.map((s) => s.id),
          masks: { kind: 'masks', geometry: g.geometry, data: g.masks },
        }).version;
        emit('review.changed', { caseId });
      }
    }
    const { masks, geometry, schema } = masksOf(p, caseId, n);
    const ct = readCt(p, caseId);
    const s = new EditSession({ caseId, base: n, grid: { dims: geometry.dims, spacing: geometry.spacing }, structures: structuresOf(schema), masks, ct: ct.data });
    sessions.set(caseId, { project: p, session: s });
    return s;
  };

  const predictBatch = async (p: Project, runId: string, caseIds: string[], checkpoint: 'best' | 'last', jobId: () => string, ctl: JobControl): Promise<BatchPredictResult> => {
    if (!p.file.runs.some((r) => r.id === runId)) throw new ContractError({ code: 'not-found', message: `no run '${runId}' in this project` });
    const results: BatchPredictResult['cases'] = caseIds.map((caseId) => ({ caseId, state: 'queued', version: null, message: 'queued' }));
    const tell = (r: BatchPredictResult['cases'][number]) => {
      const ev: BatchCaseEvent = { jobId: jobId(), ...r };
      emit('predict.case', ev);
    };
    results.forEach(tell);
    const { initBackend } = await import('../learning/backend.ts');
    await initBackend();
    const { loadModel, predictCt, releaseModel } = await import('../learning/infer.ts');
    const { openInference, backendLine } = await import('../learning/gpu-host-infer.ts');
    const model = loadModel(join(p.dir, 'runs', runId), checkpoint);
    let backend: InferenceBackend | null = null;
    try {
      // On the GPU host when one with an adapter is attached (as training), else the CPU ladder.
      const inf = await openInference(model, (await o.gpuHost?.()) ?? null);
      backend = inf.backend;
      try {
        for (const [i, r] of results.entries()) {
          if (ctl.signal.aborted) break;
          r.state = 'running';
          r.message = `predicting (${backendLine(inf.backend)})`;
          tell(r);
          ctl.progress(i / results.length, `case ${i + 1} of ${results.length}: ${r.caseId}`);
          await breathe();
          try {
            const { schema } = caseSchema(p, r.caseId);
            const ct = readCt(p, r.caseId);
            const pr = await predictCt(model, ct.data, ct.geometry, {
              postprocess: 'auto', hierarchy: 'none', windows: inf.windows, backendRecord: inf.backend, signal: ctl.signal,
              onProgress: (d, n) => ctl.progress((i + d / n) / results.length, `case ${i + 1} of ${results.length}: ${r.caseId}, window batch ${d}/${n}`),
            });
            const ids = model.config.layout.ids;
            const n = ct.data.length;
            const masks = schema.structures.map((s) => pr.masks[ids.indexOf(s.id)] ?? new Uint8Array(n));
            const v = saveVersion(p.dir, r.caseId, {
              source: { kind: 'prediction', runId, checkpoint, backend: backendLine(inf.backend).slice(0, 512) }, message: `prediction of run ${runId} (${checkpoint})`,
              structures: schema.structures.map((s) => s.id), masks: { kind: 'masks', geometry: ct.geometry, data: masks },
            });
            r.state = 'done';
            r.version = v.version;
            r.message = `saved as version ${v.version}`;
            emit('review.changed', { caseId: r.caseId });
          } catch (e) {
            // Cancelled between window batches: this case is not saved, like the queued ones.
            if (ctl.signal.aborted) { r.state = 'queued'; break; }
            r.state = 'failed';
            r.message = (e instanceof Error ? e.message : String(e)).slice(0, 4096);
          }
          tell(r);
          await breathe();
        }
      } finally {
        await inf.close();
      }
    } finally {
      releaseModel(model);
    }
    for (const r of results) if (r.state === 'queued') { r.state = 'cancelled'; r.message = 'cancelled'; tell(r); }
    appendAudit(p.dir, 'predict.batch', { runId, checkpoint, backend, cases: results.map((r) => ({ caseId: r.caseId, state: r.state, version: r.version })) });
    return { runId, cases: results };
  };

  const handlers: ReviewServices['handlers'] = {
    'version.list': (req) => {
      const p = need();
      getCase(p, req.caseId);
      return { versions: listVersions(p.dir, req.caseId) };
    },
    'version.restore': (req) => {
      const p = need();
      getCase(p, req.caseId);
      const v = restoreVersion(p.dir, req.caseId, req.version, req.message);
      emit('review.changed', { caseId: req.caseId });
      return v;
    },
    'version.compare': (req) => {
      const p = need();
      const a = masksOf(p, req.caseId, req.a), b = masksOf(p, req.caseId, req.b);
      const grid = { dims: a.geometry.dims, spacing: a.geometry.spacing };
      const finite = (x: number) => (Number.isFinite(x) ? x : null);
      return {
        caseId: req.caseId, a: req.a, b: req.b,
        structures: a.schema.structures.map((s, c) => {
          const r = compareMasks(a.masks[c], b.masks[c], grid);
          return {
            structure: s.id, name: s.name, dice: finite(r.dice), hd95: finite(r.hd95), oneEmpty: r.hd95 === Infinity,
            volumeAMl: r.volumeAMl, volumeBMl: r.volumeBMl, volumeDiffMl: r.volumeBMl - r.volumeAMl, fp: r.fpCount, fn: r.fnCount,
          };
        }),
      };
    },
    'review.get': (req) => {
      const p = need();
      getCase(p, req.caseId);
      return readReview(p.dir, req.caseId);
    },
    'review.set': (req) => {
      const p = need();
      const ids = caseSchema(p, req.caseId).schema.structures.map((s) => s.id);
      const r = setReview(p.dir, req.caseId, ids, { structure: req.structure, state: req.state, comment: req.comment, reason: req.reason ?? null });
      emit('review.changed', { caseId: req.caseId });
      return r;
    },
    'review.summary': () => {
      const p = need();
      return { cases: p.file.cases.map((c) => summarizeReview(p, c.id)) };
    },
    'case.audit': (req) => {
      const p = need();
      getCase(p, req.caseId);
      return { entries: caseAudit(p.dir, req.caseId) };
    },
    'edit.begin': (req) => {
      const p = need();
      const cur = sessions.get(req.caseId);
      if (cur && cur.project === p && (req.base === undefined || req.base === cur.session.base)) return info(cur.session);
      return info(begin(p, req.caseId, req.base));
    },
    'edit.apply': (req) => {
      const s = session(req.caseId);
      return s.patch(s.apply(req.op, req.hierarchy));
    },
    'edit.undo': (req) => {
      const s = session(req.caseId);
      return s.patch(s.undo());
    },
    'edit.redo': (req) => {
      const s = session(req.caseId);
      return s.patch(s.redo());
    },
    'edit.save': (req) => {
      const p = need();
      const s = session(req.caseId);
      const g = readCt(p, req.caseId).geometry;
      const v = saveVersion(p.dir, req.caseId, {
        source: { kind: 'edit', of: typeof s.base === 'number' ? s.base : null }, message: req.message || 'edited',
        structures: s.structures.map((x) => x.id), masks: { kind: 'masks', geometry: g, data: s.masks },
      });
      s.rebase(v.version);
      emit('review.changed', { caseId: req.caseId });
      return v;
    },
    'edit.end': (req) => ({ ended: sessions.delete(req.caseId) }),
    'report.build': async (req) => {
      const p = need();
      const { writeReport } = await import('./review-report.ts');
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const dir = join(p.dir, 'reports', stamp);
      const r = writeReport(p, req.caseIds, { html: join(dir, 'report.html'), pdf: req.pdf ? join(dir, 'report.pdf') : null });
      appendAudit(p.dir, 'report', { caseIds: req.caseIds ?? p.file.cases.map((c) => c.id), html: r.html, pdf: r.pdf });
      return { ...r, url: o.reportUrl?.(relative(p.dir, r.pdf ?? r.html)) ?? null };
    },
    'predict.batch': (req) => {
      requireMl('Prediction');
      const p = need();
      const ids = req.caseIds ?? p.file.cases.filter((c) => c.files.schema && !hasPrediction(listVersions(p.dir, c.id))).map((c) => c.id);
      if (!ids.length) throw new ContractError({ code: 'usage', message: 'every case has a prediction already; select cases to predict them again' });
      for (const id of ids) caseSchema(p, id);
      let jobId = '';
      const started = jobs.start('predict.batch', (ctl) => predictBatch(p, req.runId, ids, req.checkpoint, () => jobId, ctl));
      jobId = started.jobId;
      return started;
    },
  };

  return { handlers, dispose: () => sessions.clear() };
}
