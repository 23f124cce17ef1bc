/**
 * Cases inside a project: import (copy + analyse), approve, export, and the raw voxel cache the
 * viewer reads. Sources are only ever read. An import is staged in a hidden folder and becomes
 * visible with one rename followed by one atomic project.json replace; any failure or a
 * cancel removes the staging folder, so a failed import leaves nothing behind.
 */
import { closeSync, constants, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { userInfo } from 'node:os';
import type { CaseSummary, DType, VolumeKind } from '../contract/schemas.ts';
import { dtypeOf } from '../imaging/dtype.ts';
import { readVolume, readVolumeAsync } from '../imaging/io.ts';
import { planDicomSeries } from '../imaging/dicom.ts';
import { analyzeLabels } from '../labels/analysis.ts';
import { loadLabels } from '../labels/load.ts';
import { loadLabelSchema, validateLabelSchema, type LabelSchema } from '../labels/schema.ts';
import { fsyncDir, writeError, writeFileAtomic, writeJsonAtomic } from '../util/atomic.ts';
import { sweepDeadTemps, tempTag } from '../util/temp.ts';
import { OsteonError, badInput } from '../util/errors.ts';
import { appendAudit } from './audit.ts';
import { rawVolumePaths, readOnlyVolumePaths } from './paths.ts';
import { copyImage } from './copy-image.ts';
import { versionMasksPath } from './versions.ts';
import { journalPath, saveProject, type Project } from './project.ts';

export interface ImportSources {
  ct: string;
  labels?: string;
  schema?: string;
  /** A schema given inline instead of a file (the import wizard's edited label ids); validated here. */
  schemaInline?: unknown;
  name?: string;
  /** A DICOM folder with several series: the one to import (only its files are copied). */
  seriesUid?: string;
}

/** What a long store operation is given by its job: a cancel signal and a progress sink. */
export interface JobControl {
  signal: AbortSignal;
  progress(fraction: number, message: string): void;
}

const IMAGE_EXT = /\.(nii\.gz|nii|nrrd|nhdr|seg\.nrrd|mha|mhd|hdr|img|hdr\.gz|img\.gz)$/i;

function extOf(file: string): string {
  return IMAGE_EXT.exec(basename(file))?.[0].toLowerCase() ?? '';
}

function slug(s: string): string {
  const x = s.toLowerCase().replace(IMAGE_EXT, '').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 48);
  return x || 'case';
}

function uniqueId(p: Project, base: string): string {
  const taken = new Set(p.file.cases.map((c) => c.id));
  let id = base, k = 2;
  while (taken.has(id) || existsSync(join(p.dir, 'cases', id))) id = `${base}-${k++}`;
  return id;
}

function user(): string | undefined {
  try { return userInfo().username; } catch { return undefined; }
}

function checkCancel(ctl: JobControl): void {
  if (ctl.signal.aborted) throw new OsteonError({ code: 'cancelled', message: 'cancelled' });
}

/** Lets queued events (progress, cancel) through between synchronous steps. */
const breathe = () => new Promise<void>((r) => setImmediate(r));

function requireSource(path: string, field: string): string {
  const abs = resolve(path);
  if (!existsSync(abs)) throw badInput(abs, field, 'file not found', 'not-found');
  return abs;
}

/** Copies a CT (+ labels, + schema) into `cases/<id>/`, writes the label analysis, records it. */
export async function importCase(p: Project, src: ImportSources, ctl: JobControl, now = new Date()): Promise<CaseSummary> {
  const ct = requireSource(src.ct, 'ct');
  const labels = src.labels ? requireSource(src.labels, 'labels') : undefined;
  const schemaPath = src.schema ? requireSource(src.schema, 'schema') : undefined;
  ctl.progress(0.02, `reading ${basename(ct)}`);
  await breathe();

  // 1. Read and analyse from the sources (read-only): errors then name the user's files.
  //    A DICOM series is decoded in worker threads, with progress per file.
  const ctVol = await readVolumeAsync(ct, {
    seriesUid: src.seriesUid,
    signal: ctl.signal,
    onProgress: (d) => ctl.progress(0.02 + 0.26 * (d.done / d.total), `decoding ${basename(ct)}: ${d.done}/${d.total} files`),
  });
  checkCancel(ctl);
  let analysis: unknown = null;
  if (schemaPath && src.schemaInline !== undefined) throw badInput('case.import', 'schemaInline', 'give a schema file or an inline schema, not both', 'usage');
  let schema: LabelSchema | null = src.schemaInline !== undefined
    ? validateLabelSchema(src.schemaInline, 'inline schema')
    : schemaPath ? loadLabelSchema(schemaPath) : null;
  if (labels) {
    ctl.progress(0.3, `reading ${basename(labels)}`);
    await breathe();
    checkCancel(ctl);
    const loaded = loadLabels({ files: [labels], schema, schemaPath: schemaPath ?? null, map: {} }, ctVol, ct);
    ctl.progress(0.5, 'analysing labels');
    await breathe();
    checkCancel(ctl);
    analysis = analyzeLabels(loaded.set);
    schema = loaded.set.schema;
  }

  // 2. Stage the copies in a hidden folder.
  const id = uniqueId(p, slug(src.name ?? basename(ct)));
  const casesDir = join(p.dir, 'cases');
  mkdirSync(casesDir, { recursive: true });
  const staging = join(casesDir, `.import-${id}-${randomBytes(4).toString('hex')}`);
  const files: CaseSummary['files'] = { ct: `ct${extOf(ct)}` };
  try {
    mkdirSync(staging);
    ctl.progress(0.6, `copying ${basename(ct)}`);
    if (src.seriesUid !== undefined) await copySeries(ct, src.seriesUid, join(staging, files.ct));
    else await copyImage(ct, staging, 'ct', extOf(ct));
    checkCancel(ctl);
    if (labels) {
      files.labels = `labels${extOf(labels)}`;
      ctl.progress(0.8, `copying ${basename(labels)}`);
      await copyImage(labels, staging, 'labels', extOf(labels));
    }
    // The copies must open on their own (data files came along, paths were rewritten) before
    // the case is listed.
    ctl.progress(0.85, 'checking the copies open');
    await breathe();
    checkCopy(join(staging, files.ct), ctVol.dims, ct);
    if (labels && files.labels) checkCopy(join(staging, files.labels), null, labels);
    if (schema) {
      files.schema = 'schema.json';
      writeJsonAtomic(join(staging, files.schema), schema);
    }
    if (analysis !== null) {
      files.analysis = 'analysis.json';
      writeJsonAtomic(join(staging, files.analysis), analysis);
    }
    checkCancel(ctl);

    // 3. Commit: the folder appears whole, then project.json lists it.
    const record: CaseSummary = {
      id, name: src.name ?? basename(ct).replace(IMAGE_EXT, ''), importedAt: now.toISOString(), status: 'imported', files,
      sources: { ct, ...(labels ? { labels } : {}), ...(schemaPath ? { schema: schemaPath } : {}) },
    };
    // Journaled: the journal names the case before its folder appears; a kill before the
    // project lists it makes the next open remove the folder (recoverImports), a kill after
    // leaves the listed case. Either way: the listed case or nothing.
    const finalDir = join(casesDir, id);
    const journal = journalPath(p.dir, id);
    writeJsonAtomic(journal, { format: 'osteon-import-journal', id, started: now.toISOString() });
    try {
      renameSync(staging, finalDir);
      fsyncDir(casesDir);
      saveProject(p, { ...p.file, cases: [...p.file.cases, record] });
    } catch (e) {
      rmSync(finalDir, { recursive: true, force: true });
      rmSync(journal, { force: true });
      throw e;
    }
    rmSync(journal, { force: true });
    appendAudit(p.dir, 'case.import', { caseId: id, sources: record.sources, user: user() }, now);
    ctl.progress(1, 'imported');
    return record;
  } catch (e) {
    throw writeError(join(casesDir, id), e);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function checkCopy(path: string, dims: readonly number[] | null, source: string): void {
  let v;
  try {
    v = readVolume(path);
  } catch (e) {
    throw new OsteonError({ code: 'io', file: source, field: 'copy', message: `${basename(source)}: copy: the copy in the project does not open (${(e as Error).message})` }, { cause: e });
  }
  if (dims && v.dims.some((d, i) => d !== dims[i])) {
    throw new OsteonError({ code: 'io', file: source, field: 'copy', message: `${basename(source)}: copy: the copy reads as ${v.dims.join('×')}, the source as ${dims.join('×')}` });
  }
}

/** Copies only the files of one DICOM series (numbered, as the folder may mix names). */
async function copySeries(from: string, seriesUid: string, to: string): Promise<void> {
  const plan = planDicomSeries(from, { seriesUid });
  mkdirSync(to, { recursive: true });
  const files = [...new Set(plan.slices.map((s) => s.file.path))];
  for (let i = 0; i < files.length; i++) await copyFile(files[i], join(to, `IM${String(i + 1).padStart(5, '0')}.dcm`), constants.COPYFILE_EXCL);
}

export function getCase(p: Project, caseId: string): CaseSummary {
  const c = p.file.cases.find((x) => x.id === caseId);
  if (!c) throw new OsteonError({ code: 'not-found', message: `no case '${caseId}' in project '${p.file.name}'` });
  return c;
}

export function caseDir(p: Project, caseId: string): string {
  return join(p.dir, 'cases', getCase(p, caseId).id);
}

export function readAnalysis(p: Project, caseId: string): unknown {
  const c = getCase(p, caseId);
  if (!c.files.analysis) return null;
  const path = join(caseDir(p, caseId), c.files.analysis);
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (e) {
    throw badInput(path, '(json)', (e as Error).message, 'bad-input');
  }
}

export function approveCase(p: Project, caseId: string, note: string | undefined, now = new Date()): CaseSummary {
  const c = getCase(p, caseId);
  if (!c.files.labels) throw new OsteonError({ code: 'usage', message: `case '${caseId}' has no labels to approve` });
  const updated: CaseSummary = { ...c, status: 'approved', approvedAt: now.toISOString() };
  saveProject(p, { ...p.file, cases: p.file.cases.map((x) => (x.id === caseId ? updated : x)) });
  appendAudit(p.dir, 'case.approve', { caseId, ...(note ? { note } : {}), user: user() }, now);
  return updated;
}

/**
 * Copies labels, schema and analysis of a case into `dir` (never overwriting). Each file is
 * copied to a temporary sibling and linked into place (link fails if the name exists), so a
 * kill leaves whole files or none; what a killed export left is removed by the next one.
 */
export async function exportCase(p: Project, caseId: string, dirIn: string): Promise<string[]> {
  const c = getCase(p, caseId);
  const dir = resolve(dirIn);
  const out: string[] = [];
  try {
    mkdirSync(dir, { recursive: true });
    sweepDeadTemps(dir);
    for (const f of [c.files.labels, c.files.schema, c.files.analysis]) {
      if (!f) continue;
      const name = `${c.id}-${f}`;
      const to = join(dir, name);
      if (existsSync(to)) throw badInput(to, 'dir', 'a file of that name exists; export refuses to overwrite');
      const tmp = join(dir, `.${name}.${tempTag()}.tmp`);
      try {
        await copyFile(join(caseDir(p, caseId), f), tmp, constants.COPYFILE_EXCL);
        const fd = openSync(tmp, 'r+');
        try { fsyncSync(fd); } finally { closeSync(fd); }
        try {
          linkSync(tmp, to);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw badInput(to, 'dir', 'a file of that name exists; export refuses to overwrite');
          throw e;
        }
      } finally {
        rmSync(tmp, { force: true });
      }
      out.push(to);
    }
    fsyncDir(dir);
  } catch (e) {
    throw writeError(dir, e);
  }
  // Read-only: an export outside the folder is allowed (services refuse one inside); no audit line.
  if (!p.readOnly) appendAudit(p.dir, 'case.export', { caseId, files: out, user: user() });
  return out;
}

export interface RawVolume {
  path: string;
  dims: [number, number, number];
  spacing: [number, number, number];
  origin: [number, number, number];
  direction: number[];
  channels: number;
  dtype: DType;
  byteLength: number;
}

/**
 * The viewer's copy of a case volume: raw little-endian voxels in `cases/<id>/.cache/<kind>.raw`
 * beside a JSON of its geometry, made on first use (atomic writes) so every later read is a
 * plain file stream in either host.
 */
export function rawVolume(p: Project, caseId: string, kind: VolumeKind): RawVolume {
  const c = getCase(p, caseId);
  const file = kind === 'ct' ? c.files.ct : kind === 'labels' ? c.files.labels : kind === 'prediction' ? predictionFile(p, caseId) : versionFile(p, caseId, kind);
  if (!file) throw new OsteonError({ code: 'not-found', message: `case '${caseId}' has no ${kind}` });
  // Read-only: the project's own cache is used when valid, else one outside the folder is made.
  for (const paths of p.readOnly ? [rawVolumePaths(p.dir, c.id, kind), readOnlyVolumePaths(p.dir, c.id, kind)] : [rawVolumePaths(p.dir, c.id, kind)]) {
    if (existsSync(paths.meta) && existsSync(paths.raw)) {
      const meta = JSON.parse(readFileSync(paths.meta, 'utf8')) as RawVolume;
      if (statSync(paths.raw).size === meta.byteLength) return { ...meta, path: paths.raw };
    }
  }
  const { raw: rawPath, meta: metaPath } = p.readOnly ? readOnlyVolumePaths(p.dir, c.id, kind) : rawVolumePaths(p.dir, c.id, kind);
  const dir = dirname(rawPath);
  const vol = readVolume(join(caseDir(p, caseId), file));
  const bytes = new Uint8Array(vol.data.buffer, vol.data.byteOffset, vol.data.byteLength);
  const dtype = dtypeOf(vol.data);
  const meta: RawVolume = {
    path: rawPath, dims: [...vol.dims], spacing: [...vol.spacing], origin: [...vol.origin], direction: [...vol.direction],
    channels: vol.channels, dtype, byteLength: bytes.byteLength,
  };
  mkdirSync(dir, { recursive: true });
  writeFileAtomic(rawPath, bytes);
  writeJsonAtomic(metaPath, meta);
  return meta;
}

/** A version's masks file (versions.ts), relative to the case folder, if that version exists. */
function versionFile(p: Project, caseId: string, kind: `v${number}`): string | undefined {
  const f = relative(caseDir(p, caseId), versionMasksPath(p.dir, caseId, Number(kind.slice(1))));
  return existsSync(join(caseDir(p, caseId), f)) ? f : undefined;
}

/** The case's attached prediction (prediction.<ext> in its folder), if any. */
function predictionFile(p: Project, caseId: string): string | undefined {
  const dir = caseDir(p, caseId);
  return ['nii.gz', 'nii', 'nrrd', 'seg.nrrd', 'mha'].map((e) => `prediction.${e}`).find((f) => existsSync(join(dir, f)));
}

/** Writes `bytes` as the case's prediction file `name` (atomically), replacing an earlier one and its raw cache. */
export function setPrediction(p: Project, caseId: string, name: string, bytes: Uint8Array): string {
  const dir = caseDir(p, caseId);
  const old = predictionFile(p, caseId);
  writeFileAtomic(join(dir, name), bytes);
  if (old && old !== name) rmSync(join(dir, old), { force: true });
  const cache = rawVolumePaths(p.dir, caseId, 'prediction');
  rmSync(cache.raw, { force: true });
  rmSync(cache.meta, { force: true });
  return name;
}

/**
 * Copies a predicted label map into the case for compare mode, after checking it lies on the
 * CT's grid (dims, spacing, origin, direction within 1e-3). Replaces an earlier prediction and
 * its raw cache. Returns the file name inside the case folder.
 */
export function attachPrediction(p: Project, caseId: string, source: string): string {
  const c = getCase(p, caseId);
  const ext = /\.(nii\.gz|nii|seg\.nrrd|nrrd|mha)$/i.exec(source)?.[1]?.toLowerCase();
  if (!ext) throw badInput(source, 'labels', 'a prediction must be .nii.gz, .nii, .nrrd, .seg.nrrd or .mha');
  if (!existsSync(source)) throw new OsteonError({ code: 'not-found', message: `no such file: ${source}`, file: source });
  const pred = readVolume(source);
  const ct = readVolume(join(caseDir(p, caseId), c.files.ct));
  const near = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) <= 1e-3 * Math.max(1, Math.abs(b[i])));
  if (!near(pred.dims, ct.dims)) throw badInput(source, 'dims', `prediction grid ${pred.dims.join('×')} differs from the CT's ${ct.dims.join('×')}`);
  if (!near(pred.spacing, ct.spacing) || !near(pred.origin, ct.origin) || !near(pred.direction, ct.direction)) {
    throw badInput(source, 'geometry', 'prediction spacing, origin or direction differs from the CT\'s');
  }
  const name = setPrediction(p, caseId, `prediction.${ext}`, readFileSync(source));
  appendAudit(p.dir, 'case.attachPrediction', { caseId, source: resolve(source), file: name });
  return name;
}
