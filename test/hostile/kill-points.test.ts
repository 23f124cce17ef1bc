// kill -9 at seeded random points, by counter: import, save, export and training. For each
// family a child process (kill-child.ts) runs the work twice on identical set-ups, the second
// time copying the folders aside at OSTEON_KILL_POINTS (default 24) random file-system changes,
// a chosen write torn at a random byte (kill-points.ts explains why this is the state a kill -9
// leaves). After the child has exited, every copy is checked as the next start would find it:
// the project opens, every listed case opens, nothing unlisted or hidden is left (no orphans),
// the audit log reads; exports hold whole files only and the next export clears what a killed one
// left; a training run resumes from its checkpoint with at most one epoch lost and completes,
// every epoch in the charts' history. The time-based SIGKILLs of a looping child are in
// faults.test.ts, and of `osteon train` in train-faults.test.ts.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readVolume } from '../../app/imaging/io.ts';
import { readAuditReport } from '../../app/store/audit.ts';
import { exportCase } from '../../app/store/cases.ts';
import { exportCaseAs } from '../../app/store/case-export.ts';
import { openProject } from '../../app/store/project.ts';
import { readReview } from '../../app/store/review.ts';
import { listVersions, readVersionMasks } from '../../app/store/versions.ts';
import { repoRoot } from '../helpers/env.ts';
import type { Snapshot } from './kill-points.ts';

const POINTS = Number(process.env.OSTEON_KILL_POINTS ?? 24);
const root = mkdtempSync(join(tmpdir(), 'osteon-kill-points-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface ChildResult { family: string; total: number; total2: number; points: number; snapshots: Snapshot[]; info: unknown }

function runChild(family: string, seed: number): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test', 'hostile', 'kill-child.ts'), family, join(root, family), String(POINTS), String(seed)],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`kill-child ${family} exited ${code}: ${err.slice(-2000)}`));
      resolve(JSON.parse(out.trim().split('\n').at(-1)!) as ChildResult);
    });
  });
}

/** Hidden entries only a killed writer leaves: staging, journals, temporaries (the raw cache is not one). */
function orphans(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith('.') && e.name !== '.cache') out.push(join(d, e.name));
      else if (e.isDirectory()) walk(join(d, e.name));
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** The checks every project copy must pass; returns the listed case ids. */
function checkProject(dir: string, label: string): string[] {
  const q = openProject(dir);
  const ids = q.file.cases.map((c) => c.id);
  const folders = existsSync(join(dir, 'cases')) ? readdirSync(join(dir, 'cases')).filter((n) => !n.startsWith('.')) : [];
  expect(folders.sort(), `${label}: case folders = listed cases`).toEqual([...ids].sort());
  for (const c of q.file.cases) {
    const cd = join(dir, 'cases', c.id);
    expect(readVolume(join(cd, c.files.ct)).dims, `${label}: ${c.id} CT`).toEqual([8, 8, 4]);
    if (c.files.labels) expect(readVolume(join(cd, c.files.labels)).dims, `${label}: ${c.id} labels`).toEqual([8, 8, 4]);
    for (const f of [c.files.schema, c.files.analysis]) if (f) expect(() => JSON.parse(readFileSync(join(cd, f), 'utf8')), `${label}: ${c.id}/${f}`).not.toThrow();
  }
  expect(orphans(dir), `${label}: orphans after opening`).toEqual([]);
  // Only a torn last line may be skipped; the log stays readable.
  expect(readAuditReport(dir).skipped.length, `${label}: audit`).toBeLessThanOrEqual(1);
  return ids;
}

const label = (s: Snapshot) => `kill at change ${s.at} (${s.op}${s.torn === null ? '' : `, torn after ${s.torn} bytes`})`;

describe(`kill -9 at ${POINTS} seeded random points per family (by file-system change counter)`, () => {
  it('import: the listed case or nothing, every listed case opens, no orphans', async () => {
    const r = await runChild('import', 101);
    expect(r.total2).toBe(r.total);
    expect(r.snapshots.length).toBe(Math.min(POINTS, r.total));
    expect(r.snapshots.length).toBeGreaterThanOrEqual(Math.min(20, r.total));
    const seen = new Set<string>();
    for (const s of r.snapshots) {
      const ids = checkProject(join(s.dir, 'project'), label(s));
      // Imports are listed in order, whole or not at all.
      expect([[], ['first'], ['first', 'ct-only']], label(s)).toContainEqual(ids);
      seen.add(ids.join(','));
    }
    // The kill points fell before, between and after the two imports.
    expect(seen.size).toBeGreaterThanOrEqual(2);
  }, 120_000);

  it('save (approve, versions, review, prediction): the project opens, every version listed is whole, no orphans', async () => {
    const r = await runChild('save', 202);
    expect(r.total2).toBe(r.total);
    expect(r.snapshots.length).toBeGreaterThanOrEqual(Math.min(20, r.total));
    const { caseId } = r.info as { caseId: string };
    for (const s of r.snapshots) {
      const dir = join(s.dir, 'project');
      expect(checkProject(dir, label(s))).toEqual([caseId]);
      const versions = listVersions(dir, caseId);
      versions.forEach((v, i) => expect(v.version, label(s)).toBe(i + 1));
      for (const v of versions) expect(readVersionMasks(dir, caseId, v.version).masks.length, label(s)).toBe(2);
      expect(() => readReview(dir, caseId), label(s)).not.toThrow();
      const pred = readdirSync(join(dir, 'cases', caseId)).find((f) => f.startsWith('prediction.'));
      if (pred) expect(readVolume(join(dir, 'cases', caseId, pred)).dims, label(s)).toEqual([8, 8, 4]);
    }
  }, 120_000);

  it('export: whole files only, the project untouched; the next export clears a killed one\'s temporaries', async () => {
    const r = await runChild('export', 303);
    expect(r.total2).toBe(r.total);
    expect(r.snapshots.length).toBeGreaterThanOrEqual(Math.min(20, r.total));
    const { caseId } = r.info as { caseId: string };
    for (const s of r.snapshots) {
      const dir = join(s.dir, 'project'), out = join(s.dir, 'exports');
      expect(checkProject(dir, label(s))).toEqual([caseId]);
      const visible = (d: string): string[] => readdirSync(d, { withFileTypes: true }).filter((e) => !e.name.startsWith('.'))
        .flatMap((e) => (e.isDirectory() ? visible(join(d, e.name)) : [join(d, e.name)]));
      for (const f of visible(out)) {
        if (/\.(nii\.gz|seg\.nrrd)$/.test(f)) expect(readVolume(f).dims, `${label(s)}: ${f}`).toEqual([8, 8, 4]);
        else if (f.endsWith('.json')) expect(() => JSON.parse(readFileSync(f, 'utf8')), `${label(s)}: ${f}`).not.toThrow();
      }
      // Running the same exports again (a refusal to overwrite is fine) leaves nothing hidden.
      const p = openProject(dir);
      await exportCase(p, caseId, join(out, 'plain')).catch(() => {});
      for (const [format, name] of [['seg-nrrd', 'labels.seg.nrrd'], ['nifti', 'masks']] as const) {
        try { exportCaseAs(p, { caseId, source: 'labels', format, out: join(out, name) }); } catch { /* exists */ }
      }
      expect(orphans(out), `${label(s)}: export temporaries after the next export`).toEqual([]);
    }
  }, 120_000);

  it('training: every kill leaves a resumable run (at most one epoch lost) that completes with its whole history', async () => {
    const r = await runChild('train', 404);
    expect(r.total2).toBe(r.total);
    expect(r.snapshots.length).toBeGreaterThanOrEqual(Math.min(20, r.total));
    const { initBackend } = await import('../../app/learning/backend.ts');
    const { readCheckpoint } = await import('../../app/learning/checkpoint.ts');
    const { resumeRun } = await import('../../app/learning/resume.ts');
    const { train } = await import('../../app/learning/train.ts');
    await initBackend({ prefer: 'wasm' });
    let resumed = 0;
    for (const s of r.snapshots) {
      const runDir = join(s.dir, 'run');
      const reported = (s.note as { epoch: number }).epoch;
      const last = join(runDir, 'checkpoints', 'last.ckpt');
      if (!existsSync(last)) {
        // Killed before the epoch-0 checkpoint: no epoch had been reported, so none is lost.
        expect(reported, `${label(s)}: no checkpoint`).toBe(0);
        continue;
      }
      const ck = readCheckpoint(last);
      expect(reported - ck.epoch, `${label(s)}: epochs lost`).toBeLessThanOrEqual(1);
      const run = resumeRun(runDir);
      let start = -1;
      const done = await train(run.config, run.train, run.val, {
        runDir, resumeFrom: last, onEvent: (e) => { if (e.type === 'start') start = e.startEpoch; },
      });
      resumed++;
      expect(start, label(s)).toBe(ck.epoch + 1);
      expect(['completed', 'early-stopped'], label(s)).toContain(done.reason);
      const epochs = new Set(readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').split('\n').flatMap((l) => {
        try { const e = JSON.parse(l) as { type: string; epoch?: number }; return e.type === 'epoch' ? [e.epoch] : []; } catch { return []; }
      }));
      for (let e = 1; e <= done.epoch; e++) expect(epochs.has(e), `${label(s)}: epoch ${e} missing from metrics.jsonl`).toBe(true);
      expect(orphans(join(runDir, 'checkpoints')), `${label(s)}: checkpoint temporaries after the resume`).toEqual([]);
    }
    expect(resumed).toBeGreaterThanOrEqual(Math.min(20, r.snapshots.length) - 3);
  }, 300_000);
});
