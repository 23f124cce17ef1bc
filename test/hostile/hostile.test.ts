// Hostile files (test/hostile/generate.ts makes them): each goes through `osteon inspect` and
// through project import (or, for project.json and checkpoints, through their readers). Each
// must be refused as bad input (exit 2) naming the file and the field, with nothing left behind,
// and the process's peak RSS must stay under 1 GB. A sample of each format also runs through
// the real binary in a child process with its own empty TMPDIR, killed after 10 s (a hang).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../app/cli/main.ts';
import type { CliIo } from '../../app/cli/command.ts';
import { readCheckpoint } from '../../app/learning/checkpoint.ts';
import { importCase } from '../../app/store/cases.ts';
import { createProject, openProject, type Project } from '../../app/store/project.ts';
import { OsteonError, isInputError } from '../../app/util/errors.ts';
import { repoRoot } from '../helpers/env.ts';
import { generateHostile, type HostileCase, type HostileSet } from './generate.ts';

let set: HostileSet;
let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'osteon-hostile-'));
  set = generateHostile(join(root, 'files'));
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

/** Every path under `dir` with its size (symlinks not followed). */
function tree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const n of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, n.name);
      const r = rel ? `${rel}/${n.name}` : n.name;
      if (n.isDirectory()) walk(p, r);
      else out.push(`${r}:${n.isFile() ? statSync(p).size : 'link'}`);
    }
  };
  walk(dir, '');
  return out.sort();
}

function capture(): CliIo & { text: () => string } {
  const chunks: string[] = [];
  return { out: (t) => chunks.push(t), err: (t) => chunks.push(t), isTty: false, text: () => chunks.join('\n') };
}

function inspectArgs(c: HostileCase): string[] {
  if (c.as === 'ct') return [c.path, set.labels];
  if (c.as === 'labels') return [set.ct, c.path];
  return [set.ct, set.labels, '--schema', c.path];
}

/** "path: field: problem" (errors name the full path) with a file name among the case's names; returns the field. */
function namedField(c: HostileCase, message: string): string {
  const m = /^(.+?): (.+?): /.exec(message);
  expect(m, `${c.name}: message does not name a file and a field: ${message}`).not.toBeNull();
  expect(c.names, `${c.name}: names ${m![1]}: ${message}`).toContain(basename(m![1]));
  if (c.field) expect(m![2], `${c.name}: ${message}`).toBe(c.field);
  return m![2];
}

function expectRefused(c: HostileCase, f: () => unknown): void {
  let err: unknown;
  try { f(); } catch (e) { err = e; }
  expect(err, `${c.name}: accepted`).toBeDefined();
  expect(isInputError(err), `${c.name}: ${(err as Error).stack}`).toBe(true);
  const e = err as OsteonError;
  expect(c.names).toContain(basename(e.file ?? ''));
  expect(e.field, c.name).toBeTruthy();
  namedField(c, e.message);
}

describe('hostile files', () => {
  it('the generator makes at least 150 hostile files across every format', () => {
    expect(set.cases.length).toBeGreaterThanOrEqual(150);
    const formats = new Set(set.cases.map((c) => c.format));
    for (const f of ['nifti1', 'nifti2', 'analyze', 'nrrd', 'nhdr', 'mha', 'mhd', 'dicom', 'labels', 'schema', 'project.json', 'checkpoint']) expect(formats).toContain(f);
    expect(new Set(set.cases.map((c) => c.name)).size).toBe(set.cases.length);
  });

  it('osteon inspect exits 2 on every image, label and schema file, naming the file and the field', async () => {
    const before = tree(set.dir);
    const bad: string[] = [];
    for (const c of set.cases.filter((x) => x.as === 'ct' || x.as === 'labels' || x.as === 'schema')) {
      const io = capture();
      const code = await main(['inspect', ...inspectArgs(c)], io);
      const line = io.text().split('\n').find((l) => l.startsWith('osteon inspect: error: ')) ?? io.text();
      if (code !== 2) { bad.push(`${c.name}: exit ${code}: ${io.text().slice(0, 300)}`); continue; }
      try { namedField(c, line.replace('osteon inspect: error: ', '')); } catch (e) { bad.push((e as Error).message.split('\n')[0]); }
    }
    expect(bad).toEqual([]);
    expect(tree(set.dir)).toEqual(before);
  });

  it('project import refuses every image, label and schema file and leaves the project as it was', async () => {
    const p: Project = createProject(join(root, 'project'), 'hostile');
    const before = tree(p.dir);
    const projectJson = readFileSync(join(p.dir, 'project.json'), 'utf8');
    const ctl = { signal: new AbortController().signal, progress: () => {} };
    const bad: string[] = [];
    for (const c of set.cases.filter((x) => x.as === 'ct' || x.as === 'labels' || x.as === 'schema')) {
      const src = c.as === 'ct' ? { ct: c.path, labels: set.labels } : c.as === 'labels' ? { ct: set.ct, labels: c.path } : { ct: set.ct, labels: set.labels, schema: c.path };
      let err: unknown;
      try { await importCase(p, src, ctl); } catch (e) { err = e; }
      if (err === undefined) { bad.push(`${c.name}: imported`); continue; }
      if (!isInputError(err)) { bad.push(`${c.name}: ${(err as Error).stack?.slice(0, 300)}`); continue; }
      try { expectRefused(c, () => { throw err; }); } catch (e) { bad.push((e as Error).message.split('\n')[0]); }
      const now = tree(p.dir);
      if (now.join() !== before.join()) bad.push(`${c.name}: left ${now.filter((x) => !before.includes(x)).join(', ')}`);
    }
    expect(bad).toEqual([]);
    expect(readFileSync(join(p.dir, 'project.json'), 'utf8')).toBe(projectJson);
    expect(openProject(p.dir).file.cases).toEqual([]);
  });

  it('hostile project.json files are refused naming project.json and the field', () => {
    const bad: string[] = [];
    for (const c of set.cases.filter((x) => x.as === 'project')) {
      try { expectRefused(c, () => openProject(c.path)); } catch (e) { bad.push(`${c.name}: ${(e as Error).message.split('\n')[0]}`); }
    }
    expect(bad).toEqual([]);
  });

  it('hostile checkpoints are refused naming the file and the field', () => {
    const bad: string[] = [];
    for (const c of set.cases.filter((x) => x.as === 'checkpoint')) {
      try { expectRefused(c, () => readCheckpoint(c.path)); } catch (e) { bad.push(`${c.name}: ${(e as Error).message.split('\n')[0]}`); }
    }
    expect(bad).toEqual([]);
  });

  it('no prototype was polluted and the peak RSS stayed under 1 GB', () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(process.resourceUsage().maxRSS * 1024).toBeLessThan(1024 ** 3);
  });

  const time = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
  it.skipIf(!time)('a sample of each format through the real binary: exit 2, named, < 1 GB RSS, no hang, empty TMPDIR', () => {
    const byFormat = new Map<string, HostileCase[]>();
    for (const c of set.cases) if (c.as !== 'project' && c.as !== 'checkpoint') byFormat.set(c.format, [...(byFormat.get(c.format) ?? []), c]);
    // The cases most likely to allocate or hang, plus one more per format.
    const wanted = ['nifti1-bomb-1610', 'nhdr-devzero', 'nhdr-etc-passwd-dotdot', 'nrrd-type-constructor', 'dicom-rows-zero'];
    const others = ['nifti2', 'analyze', 'mhd', 'mha', 'labels', 'schema'].map((f) => byFormat.get(f)![Math.floor(byFormat.get(f)!.length / 2)]);
    const sample = [...set.cases.filter((c) => wanted.includes(c.name)), ...others];
    const tmp = mkdtempSync(join(root, 'tmp-'));
    const bad: string[] = [];
    for (const c of sample) {
      const r = spawnSync(time!, ['-f', 'MAXRSS_KB=%M', process.execPath, join(repoRoot, 'bin', 'osteon.mjs'), 'inspect', ...inspectArgs(c)], {
        encoding: 'utf8', timeout: 10_000, killSignal: 'SIGKILL', env: { ...process.env, TMPDIR: tmp, TMP: tmp, TEMP: tmp },
      });
      const kb = Number(/MAXRSS_KB=(\d+)/.exec(r.stderr)?.[1] ?? NaN);
      if (r.signal) bad.push(`${c.name}: killed by ${r.signal} (hang past 10 s?)`);
      else if (r.status !== 2) bad.push(`${c.name}: exit ${r.status}: ${r.stderr.slice(0, 300)}`);
      else if (!(kb < 1024 * 1024)) bad.push(`${c.name}: peak RSS ${kb} kB`);
      else if (!r.stderr.includes(`: error: `) || !c.names.some((n) => r.stderr.includes(`${n}: `))) bad.push(`${c.name}: not named: ${r.stderr.slice(0, 200)}`);
    }
    expect(bad).toEqual([]);
    // tsx (the TypeScript loader bin/osteon.mjs uses) keeps its compile cache in TMPDIR/tsx-<uid>.
    expect(readdirSync(tmp).filter((n) => !/^tsx-\d+$/.test(n))).toEqual([]);
  });
});
