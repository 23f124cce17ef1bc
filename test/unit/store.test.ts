// The project store on real files: create/open with validation, import that copies and never
// touches the sources, all-or-nothing imports, the append-only audit log, the recent list.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readAudit } from '../../app/store/audit.ts';
import { approveCase, importCase, rawVolume, readAnalysis, type JobControl } from '../../app/store/cases.ts';
import { createProject, openProject } from '../../app/store/project.ts';
import { readRecent, touchRecent } from '../../app/store/recent.ts';
import { OsteonError } from '../../app/util/errors.ts';
import { repoRoot } from '../helpers/env.ts';

// Small real inputs that ship with the repository (resources/sample/README.md).
const phantom = join(repoRoot, 'resources', 'sample', 'phantom');
const src = { ct: join(phantom, 'case-000', 'ct.nii.gz'), labels: join(phantom, 'case-000', 'labels.nii.gz'), schema: join(phantom, 'schema.json') };
const pelvisLabels = join(repoRoot, 'resources', 'sample', 'pelvis', 'labels.nii.gz');

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

function control(onProgress?: (f: number, m: string) => void): JobControl & { ac: AbortController; seen: number[] } {
  const ac = new AbortController();
  const seen: number[] = [];
  return { ac, seen, signal: ac.signal, progress: (f, m) => { seen.push(f); onProgress?.(f, m); } };
}

/** Everything under `dir`, relative, sorted (hidden staging files included). */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: false }).map(String).sort();
}

let tmp: string;
beforeEach(() => { tmp = mkdtempSync(join(tmpdir(), 'osteon-store-')); });
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

describe('project files', () => {
  it('creates and reopens a project', () => {
    const p = createProject(join(tmp, 'p'), 'Hips');
    expect(tree(p.dir)).toEqual(['cases', 'project.json', 'project.osteon', 'runs']);
    const q = openProject(p.dir);
    expect(q.file).toEqual(p.file);
    expect(q.file).toMatchObject({ format: 'osteon-project', schemaVersion: 1, name: 'Hips', cases: [], runs: [] });
  });

  it('sweeps staging folders an interrupted import left behind', () => {
    const p = createProject(join(tmp, 'p'), 'x');
    mkdirSync(join(p.dir, 'cases', '.import-a-1234', 'x'), { recursive: true });
    mkdirSync(join(p.dir, 'cases', 'kept'));
    openProject(p.dir);
    expect(readdirSync(join(p.dir, 'cases'))).toEqual(['kept']);
  });

  it('refuses a non-empty folder and names file and field for a broken project.json', () => {
    mkdirSync(join(tmp, 'full'));
    writeFileSync(join(tmp, 'full', 'x'), '');
    expect(() => createProject(join(tmp, 'full'), 'x')).toThrow(/full: dir: the folder is not empty/);

    const p = createProject(join(tmp, 'p'), 'x');
    const json = JSON.parse(readFileSync(join(p.dir, 'project.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(p.dir, 'project.json'), JSON.stringify({ ...json, schemaVersion: 99 }));
    expect(() => openProject(p.dir)).toThrow(/project\.json: schemaVersion: /);
    writeFileSync(join(p.dir, 'project.json'), JSON.stringify({ ...json, extra: true }));
    expect(() => openProject(p.dir)).toThrow(/project\.json: \(top level\): .*extra/);
    writeFileSync(join(p.dir, 'project.json'), '{');
    expect(() => openProject(p.dir)).toThrow(OsteonError);
    expect(() => openProject(join(tmp, 'absent'))).toThrow(/folder not found/);
  });

  it('keeps a recent list, newest first, without duplicates', () => {
    const home = join(tmp, 'home');
    expect(readRecent(home)).toEqual([]);
    touchRecent(home, '/a', 'A');
    touchRecent(home, '/b', 'B');
    touchRecent(home, '/a', 'A');
    expect(readRecent(home).map((r) => r.dir)).toEqual(['/a', '/b']);
    writeFileSync(join(home, 'recent.json'), 'garbage');
    expect(readRecent(home)).toEqual([]);
  });
});

describe('import', () => {
  it('copies CT, labels and schema, writes the analysis, leaves the sources unchanged', async () => {
    const before = Object.values(src).map(sha);
    const p = createProject(join(tmp, 'p'), 'x');
    const ctl = control();
    const c = await importCase(p, { ...src, name: 'Phantom 0' }, ctl);
    expect(Object.values(src).map(sha)).toEqual(before);
    expect(c).toMatchObject({ id: 'phantom-0', status: 'imported', files: { ct: 'ct.nii.gz', labels: 'labels.nii.gz', schema: 'schema.json', analysis: 'analysis.json' } });
    expect(sha(join(p.dir, 'cases', c.id, 'ct.nii.gz'))).toBe(before[0]);
    expect(sha(join(p.dir, 'cases', c.id, 'labels.nii.gz'))).toBe(before[1]);
    expect(ctl.seen.at(-1)).toBe(1);
    expect(ctl.seen).toEqual([...ctl.seen].sort((a, b) => a - b));
    // The analysis is app/labels' own: the phantom's four structures.
    const analysis = readAnalysis(p, c.id) as { schema: string; structures: Array<{ id: string; voxels: number }> };
    expect(analysis.schema).toBe('phantom');
    expect(analysis.structures.map((s) => s.id)).toEqual(['bone', 'left', 'centre', 'right']);
    expect(openProject(p.dir).file.cases).toEqual([c]);
    // No staging or temporary files are left.
    expect(tree(join(p.dir, 'cases')).filter((f) => f.includes('.import-') || f.endsWith('.tmp'))).toEqual([]);
    // A second import of the same study gets its own id.
    const c2 = await importCase(p, { ...src, name: 'Phantom 0' }, control());
    expect(c2.id).toBe('phantom-0-2');
  });

  it('a failing import (labels on another grid) leaves nothing behind', async () => {
    const p = createProject(join(tmp, 'p'), 'x');
    const treeBefore = tree(p.dir), jsonBefore = readFileSync(join(p.dir, 'project.json'), 'utf8');
    await expect(importCase(p, { ct: src.ct, labels: pelvisLabels }, control())).rejects.toMatchObject({ code: 'mismatch' });
    await expect(importCase(p, { ct: src.ct, labels: join(tmp, 'missing.nii.gz') }, control())).rejects.toMatchObject({ code: 'not-found' });
    expect(tree(p.dir)).toEqual(treeBefore);
    expect(readFileSync(join(p.dir, 'project.json'), 'utf8')).toBe(jsonBefore);
    expect(readAudit(p.dir).map((e) => e.action)).toEqual([]);
  });

  it('a cancelled import leaves nothing behind, whichever step it stops at', async () => {
    const p = createProject(join(tmp, 'p'), 'x');
    const treeBefore = tree(p.dir);
    for (let stopAt = 0; stopAt < 5; stopAt++) {
      let n = 0;
      const ctl = control(() => { if (n++ === stopAt) ctl.ac.abort(); });
      await expect(importCase(p, src, ctl)).rejects.toMatchObject({ code: 'cancelled' });
      expect(tree(p.dir)).toEqual(treeBefore);
    }
    expect(openProject(p.dir).file.cases).toEqual([]);
  });

  it('appends to the audit log and serves raw voxels for the viewer', async () => {
    const p = createProject(join(tmp, 'p'), 'x');
    const c = await importCase(p, src, control());
    const first = readFileSync(join(p.dir, 'audit.jsonl'), 'utf8');
    approveCase(p, c.id, 'looks right');
    const second = readFileSync(join(p.dir, 'audit.jsonl'), 'utf8');
    expect(second.startsWith(first)).toBe(true);
    const log = readAudit(p.dir);
    expect(log.map((e) => e.action)).toEqual(['case.import', 'case.approve']);
    expect(log[1]).toMatchObject({ caseId: c.id, note: 'looks right' });
    expect(Date.parse(log[1].time)).not.toBeNaN();
    expect(openProject(p.dir).file.cases[0].status).toBe('approved');

    const raw = rawVolume(p, c.id, 'labels');
    expect(existsSync(raw.path)).toBe(true);
    expect(raw.byteLength).toBe(raw.dims[0] * raw.dims[1] * raw.dims[2] * raw.channels * (raw.dtype.endsWith('8') ? 1 : raw.dtype.endsWith('16') ? 2 : 4));
    expect(readFileSync(raw.path).byteLength).toBe(raw.byteLength);
    expect(rawVolume(p, c.id, 'labels')).toEqual(raw); // cached
  });
});
