/**
 * A project is a folder:
 *   project.json          this file's schema (validated on every open)
 *   project.osteon        a small pointer file for the OS file association (double-click opens the folder)
 *   audit.jsonl           append-only log of user actions (audit.ts)
 *   cases/<id>/           copied CT, labels, label schema, analysis.json (cases.ts)
 *   runs/<id>/            training and inference runs
 * project.json is only ever replaced atomically (app/util/atomic.ts).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { CaseSummary, type ProjectSummary } from '../contract/schemas.ts';
import { isAtomicTemp, writeJsonAtomic } from '../util/atomic.ts';
import { OsteonError, badInput } from '../util/errors.ts';

export const PROJECT_FILE = 'project.json';
export const PROJECT_LINK = 'project.osteon';
export const PROJECT_FORMAT = 'osteon-project';
export const SCHEMA_VERSION = 1;
/** Largest project.json read (a project with thousands of cases is a few MiB). */
export const MAX_PROJECT_BYTES = 64 * 1024 * 1024;

export const RunRecord = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/),
  kind: z.enum(['train', 'infer']),
  created: z.string(),
  note: z.string().max(4096).optional(),
});

/** The persisted case record is the contract's CaseSummary: one shape on disk and on the wire. */
/** A file named in project.json: a plain name inside its case folder, never a path. */
const PLAIN_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$/;

export const ProjectFile = z.strictObject({
  format: z.literal(PROJECT_FORMAT),
  schemaVersion: z.literal(SCHEMA_VERSION),
  name: z.string().min(1).max(200),
  created: z.string(),
  cases: z.array(CaseSummary).max(100_000),
  runs: z.array(RunRecord).max(100_000),
}).superRefine((p, ctx) => {
  p.cases.forEach((c, i) => {
    if (!PLAIN_NAME.test(c.id) || c.id.includes('..')) ctx.addIssue({ code: 'custom', path: ['cases', i, 'id'], message: `"${c.id.slice(0, 80)}" is not a plain case id` });
    for (const [k, f] of Object.entries(c.files)) {
      if (typeof f === 'string' && (!PLAIN_NAME.test(f) || f.includes('..'))) ctx.addIssue({ code: 'custom', path: ['cases', i, 'files', k], message: `"${f.slice(0, 80)}" must be a plain file name inside the case folder` });
    }
  });
});
export type ProjectFile = z.infer<typeof ProjectFile>;

export interface Project {
  /** Absolute folder. */
  dir: string;
  file: ProjectFile;
  /** Opened read-only: nothing may be written inside `dir` (services refuse writing calls). */
  readOnly?: boolean;
}

export function projectFilePath(dir: string): string {
  return join(dir, PROJECT_FILE);
}

export function summarize(p: Project): ProjectSummary {
  return {
    dir: p.dir, name: p.file.name, schemaVersion: p.file.schemaVersion, created: p.file.created,
    caseCount: p.file.cases.length, runCount: p.file.runs.length, readOnly: p.readOnly === true,
  };
}

/** Creates a project in `dir`, which must be absent or an empty folder. */
export function createProject(dirIn: string, name: string, now = new Date()): Project {
  const dir = resolve(dirIn);
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw badInput(dir, 'dir', 'exists and is not a folder');
    if (readdirSync(dir).length > 0) throw badInput(dir, 'dir', 'the folder is not empty; choose an empty or new folder');
  }
  const file: ProjectFile = { format: PROJECT_FORMAT, schemaVersion: SCHEMA_VERSION, name, created: now.toISOString(), cases: [], runs: [] };
  const parsed = ProjectFile.safeParse(file);
  if (!parsed.success) throw badInput(join(dir, PROJECT_FILE), 'name', parsed.error.issues[0]?.message ?? 'invalid');
  mkdirSync(join(dir, 'cases'), { recursive: true });
  mkdirSync(join(dir, 'runs'), { recursive: true });
  writeJsonAtomic(projectFilePath(dir), parsed.data);
  writeJsonAtomic(join(dir, PROJECT_LINK), { format: 'osteon-project-link', project: PROJECT_FILE });
  return { dir, file: parsed.data };
}

/** Opens and validates `dir/project.json`; errors name the file and the field. */
export function openProject(dirIn: string, opts: { readOnly?: boolean } = {}): Project {
  const dir = resolve(dirIn);
  const path = projectFilePath(dir);
  let text: string;
  try {
    if (statSync(path).size > MAX_PROJECT_BYTES) throw badInput(path, '(file)', `over ${MAX_PROJECT_BYTES} bytes; not an Osteon project.json`);
    text = readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  } catch (e) {
    if (e instanceof OsteonError) throw e;
    throw badInput(path, 'path', existsSync(dir) ? 'not an Osteon project (no project.json)' : 'folder not found', 'not-found');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw badInput(path, '(json)', (e as Error).message);
  }
  const r = ProjectFile.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw badInput(path, issue.path.length ? issue.path.join('.') : '(top level)', issue.message);
  }
  // Read-only: the start-up clean-up (killed imports, staging folders, atomic temps) is skipped,
  // since it would write; what a killed write left stays until the project is opened for editing.
  if (opts.readOnly) return { dir, file: r.data, readOnly: true };
  const p = { dir, file: r.data };
  recoverImports(p);
  sweepStaging(dir);
  return p;
}

/** An import's journal: present from just before its case folder appears until it is listed. */
export function journalPath(dir: string, caseId: string): string {
  return join(dir, 'cases', `.journal-${caseId}.json`);
}

/**
 * Finishes what a killed import left: a journal whose case is listed is just removed; one whose
 * case is not listed removes that case folder (it never became part of the project).
 * Returns the case ids removed.
 */
export function recoverImports(p: Project): string[] {
  const cases = join(p.dir, 'cases');
  if (!existsSync(cases)) return [];
  const removed: string[] = [];
  const listed = new Set(p.file.cases.map((c) => c.id));
  for (const name of readdirSync(cases)) {
    const m = /^\.journal-([a-z0-9][a-z0-9-]*)\.json$/.exec(name);
    if (!m) continue;
    if (!listed.has(m[1])) {
      rmSync(join(cases, m[1]), { recursive: true, force: true });
      removed.push(m[1]);
    }
    rmSync(join(cases, name), { force: true });
  }
  return removed;
}

/**
 * Removes hidden `cases/.import-*` folders: what an import killed mid-way (power cut, killed
 * host) left behind. They were never listed in project.json, so nothing refers to them. A
 * project is open in one Osteon at a time, so no live import owns them.
 */
function sweepStaging(dir: string): void {
  const cases = join(dir, 'cases');
  if (!existsSync(cases)) return;
  for (const name of readdirSync(cases, { withFileTypes: true })) {
    const full = join(cases, name.name);
    if (name.name.startsWith('.import-') || isAtomicTemp(name.name)) rmSync(full, { recursive: true, force: true });
    else if (name.isDirectory()) {
      for (const sub of [full, join(full, '.cache')]) {
        if (!existsSync(sub)) continue;
        for (const f of readdirSync(sub)) if (isAtomicTemp(f)) rmSync(join(sub, f), { force: true });
      }
      // A version save killed before its rename leaves its staging folder (store/versions.ts).
      const versions = join(full, 'versions');
      if (existsSync(versions)) for (const f of readdirSync(versions)) if (f.startsWith('.stage-')) rmSync(join(versions, f), { recursive: true, force: true });
    }
  }
  for (const name of readdirSync(dir)) if (isAtomicTemp(name)) rmSync(join(dir, name), { force: true });
}

/** Replaces project.json atomically with `file` (validated first). */
export function saveProject(p: Project, file: ProjectFile): Project {
  const r = ProjectFile.safeParse(file);
  if (!r.success) throw new OsteonError({ code: 'internal', message: `refusing to write an invalid project.json: ${r.error.issues[0]?.message}` });
  writeJsonAtomic(projectFilePath(p.dir), r.data);
  p.file = r.data;
  return p;
}
