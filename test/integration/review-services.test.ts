// Review through the contract, as the renderer drives it, on phantom cases in a real project:
// versions (ground truth stored as v1, an edit saved as v2, restore = the old bytes as v3, never
// an overwrite), compare (Dice equal to `osteon eval` on the same masks), per-structure review
// state (atomic file + audit log), the case audit trail, edit sessions with undo/redo, and
// versions surviving kill -9 of a writer at a random moment.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OsteonClient } from '../../app/contract/index.ts';
import type { Services } from '../../app/services/services.ts';
import { listVersions, readVersionMasks, versionMasksPath } from '../../app/store/versions.ts';
import { evalVersions, phantomProject } from '../helpers/review.ts';
import { runCli } from '../helpers/cli.ts';
import { repoRoot } from '../helpers/env.ts';

let tmp: string;
let services: Services;
let client: OsteonClient;
let project: string;
let ids: string[] = [];

beforeAll(async () => {
  ({ tmp, services, client, project, ids } = await phantomProject('osteon-review-svc-', 'review test', ['case-000', 'case-001']));
}, 60_000);

afterAll(() => {
  services?.dispose();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('versions and editing through the contract', () => {
  it('stores the ground truth as v1, saves an edit as v2, and compares them like osteon eval', async () => {
    const id = ids[0];
    expect((await client.call('version.list', { caseId: id })).versions).toEqual([]);
    const s = await client.call('edit.begin', { caseId: id });
    expect(s.base).toBe(1);
    expect(s.kind).toBe('v1');
    expect(s.structures.map((x) => x.id)).toEqual(['bone', 'left', 'centre', 'right']);
    // The phantom's whole (values 1..4) contains every part: painting a part adds to the whole.
    expect(s.paintWholeDefault).toBe(true);
    const v1 = (await client.call('version.list', { caseId: id })).versions[0];
    expect(v1.source).toEqual({ kind: 'ground-truth' });
    expect(v1.author.length).toBeGreaterThan(0);
    const meta = await client.call('volume.get', { caseId: id, kind: 'v1' });
    expect(meta.channels).toBe(4);
    const nz = meta.dims[2];
    // A stroke of the left arm in a corner of the axial middle slice (background there).
    const k = Math.floor(nz / 2);
    const p1 = await client.call('edit.apply', { caseId: id, op: { kind: 'brush', structure: 'left', axis: 2, slice: k, points: [[3, 3, k], [8, 3, k]], radiusMm: 4 } });
    expect(p1.changedVoxels).toBeGreaterThan(0);
    expect(p1.channels.map((c) => c.channel)).toEqual([0, 1]);
    expect(p1.undo).toBe(1);
    const undo = await client.call('edit.undo', { caseId: id });
    expect(undo.redo).toBe(1);
    const redo = await client.call('edit.redo', { caseId: id });
    expect(redo.changedVoxels).toBe(p1.changedVoxels);
    const v2 = await client.call('edit.save', { caseId: id, message: 'added to the left arm' });
    expect(v2.version).toBe(2);
    expect(v2.source).toEqual({ kind: 'edit', of: 1 });
    expect(v2.voxels[1] - v1.voxels[1]).toBe(p1.changedVoxels / 2);

    const cmp = await client.call('version.compare', { caseId: id, a: 1, b: 2 });
    const left = cmp.structures.find((x) => x.structure === 'left')!;
    expect(left.fp).toBe(p1.changedVoxels / 2);
    expect(left.fn).toBe(0);
    expect(left.volumeDiffMl).toBeCloseTo((left.fp * meta.spacing[0] * meta.spacing[1] * meta.spacing[2]) / 1000, 9);
    expect(cmp.structures.find((x) => x.structure === 'right')!.dice).toBe(1);
    // The comparison against the ground truth equals v1 against v2 here (v1 is the ground truth).
    expect((await client.call('version.compare', { caseId: id, a: 'gt', b: 2 })).structures).toEqual(cmp.structures);

    // `osteon eval` on the same masks: v1 as the ground truth, v2 as the prediction.
    const ev = evalVersions(project, id, 1, 2, join(tmp, 'eval'), [
      { id: 'bone', role: 'whole' }, { id: 'left', role: 'part' }, { id: 'centre', role: 'part' }, { id: 'right', role: 'part' }]);
    for (const [sid, m] of Object.entries(ev)) {
      const mine = cmp.structures.find((x) => x.structure === sid)!;
      expect(mine.dice, sid).toBeCloseTo(m.dice ?? NaN, 12);
      expect(mine.hd95, sid).toBeCloseTo(m.hd95 ?? NaN, 9);
    }
  }, 60_000);

  it('restores v1 as v3 with the same bytes; nothing is overwritten', async () => {
    const id = ids[0];
    const v2Bytes = readFileSync(versionMasksPath(project, id, 2));
    const v3 = await client.call('version.restore', { caseId: id, version: 1 });
    expect(v3.version).toBe(3);
    expect(v3.source).toEqual({ kind: 'restore', of: 1 });
    expect(readFileSync(versionMasksPath(project, id, 3))).toEqual(readFileSync(versionMasksPath(project, id, 1)));
    expect(v3.sha256).toBe(listVersions(project, id)[0].sha256);
    expect(readFileSync(versionMasksPath(project, id, 2))).toEqual(v2Bytes);
    expect((await client.call('version.list', { caseId: id })).versions.map((v) => v.version)).toEqual([1, 2, 3]);
    // The version volume is served for the viewer like the CT (one channel per structure).
    expect((await client.call('volume.get', { caseId: id, kind: 'v3' })).channels).toBe(4);
    await expect(client.call('volume.get', { caseId: id, kind: 'v9' })).rejects.toMatchObject({ code: 'not-found' });
  });

  it('refuses edits outside the grid and fills that are not closed, naming why', async () => {
    const id = ids[0];
    await client.call('edit.begin', { caseId: id });
    await expect(client.call('edit.apply', { caseId: id, op: { kind: 'brush', structure: 'left', axis: 2, slice: 999, points: [[1, 1, 1]], radiusMm: 2 } }))
      .rejects.toMatchObject({ code: 'bad-input' });
    await expect(client.call('edit.apply', { caseId: id, op: { kind: 'fill', structure: 'left', axis: 2, slice: 1, seed: [0, 0, 1] } }))
      .rejects.toThrow(/not closed/);
    await expect(client.call('edit.apply', { caseId: id, op: { kind: 'brush', structure: 'nope', axis: 2, slice: 1, points: [[1, 1, 1]], radiusMm: 2 } }))
      .rejects.toThrow(/no structure 'nope'/);
    await expect(client.call('edit.apply', { caseId: ids[1], op: { kind: 'interpolate', structure: 'left', axis: 2 } })).rejects.toThrow(/edit\.begin/);
  });
});

describe('review state and the audit trail', () => {
  it('sets per-structure state atomically, lists it in the summary and the case audit trail', async () => {
    const id = ids[1];
    const r = await client.call('review.set', { caseId: id, structure: 'right', state: 'rejected', comment: 'leaks into the centre', reason: 'leak' });
    expect(r.structures).toHaveLength(1);
    expect(r.structures[0]).toMatchObject({ structure: 'right', state: 'rejected', comment: 'leaks into the centre', reason: 'leak' });
    await client.call('review.set', { caseId: id, structure: 'bone', state: 'accepted' });
    const again = await client.call('review.get', { caseId: id });
    expect(again.structures.map((s) => s.structure)).toEqual(['bone', 'right']);
    expect(readdirSync(join(project, 'cases', id)).filter((f) => f.includes('.tmp'))).toEqual([]);
    const sum = (await client.call('review.summary')).cases.find((c) => c.caseId === id)!;
    expect(sum.overall).toBe('rejected');
    expect(sum.counts).toEqual({ accepted: 1, 'needs-correction': 0, rejected: 1, unreviewed: 2 });
    const audit = (await client.call('case.audit', { caseId: id })).entries;
    expect(audit.map((e) => e.action)).toEqual(['case.import', 'review.set', 'review.set']);
    expect(audit[1].detail).toContain('leaks into the centre');
    await expect(client.call('review.set', { caseId: id, structure: 'tail', state: 'accepted' })).rejects.toThrow(/no structure 'tail'/);
  });
});

describe('versions under kill -9', () => {
  it('a writer killed at a random moment leaves only complete versions, and earlier ones untouched', async () => {
    // A folder of its own (the writer's grid is not the phantom's).
    const id = 'kill-test';
    const script = join(tmp, 'writer.ts');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(script, [
      `import { saveVersion } from ${JSON.stringify(join(repoRoot, 'app', 'store', 'versions.ts'))};`,
      'const n = 16 * 16 * 8; const g = { dims: [16, 16, 8], spacing: [1, 1, 1], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };',
      'for (let t = 1; ; t++) { const m = new Uint8Array(n); m.fill(1, 0, t % n);',
      `  saveVersion(${JSON.stringify(project)}, ${JSON.stringify(id)}, { source: { kind: 'ground-truth' }, message: 'w' + t, structures: ['bone'], masks: { kind: 'masks', geometry: g, data: [m] } }); }`,
    ].join('\n'));
    for (let round = 0; round < 3; round++) {
      const before = listVersions(project, id).map((v) => [v.version, readFileSync(versionMasksPath(project, id, v.version))] as const);
      const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: repoRoot, stdio: 'ignore' });
      // Once it is writing, kill it without warning at a random moment.
      const t0 = Date.now();
      while (listVersions(project, id).length === before.length && Date.now() - t0 < 30_000) await new Promise((res) => setTimeout(res, 20));
      await new Promise((res) => setTimeout(res, Math.random() * 300));
      child.kill('SIGKILL');
      await new Promise((res) => child.once('exit', res));
      const after = listVersions(project, id);
      for (const [v, bytes] of before) expect(readFileSync(versionMasksPath(project, id, v))).toEqual(bytes);
      expect(after.length).toBeGreaterThan(before.length);
      after.forEach((v, i) => {
        expect(v.version).toBe(i + 1);
        expect(createHash('sha256').update(readFileSync(versionMasksPath(project, id, v.version))).digest('hex')).toBe(v.sha256);
        expect(readVersionMasks(project, id, v.version).masks).toHaveLength(1);
      });
    }
  }, 60_000);
});

describe('report', () => {
  const poppler = spawnSync('pdfinfo', ['-v']).status === 0;
  it.skipIf(!poppler)('writes HTML and a PDF with a summary page and one page per case, with the key images drawn', async () => {
    const r = await client.call('report.build', { pdf: true });
    expect(r.cases).toBe(2);
    const html = readFileSync(r.html, 'utf8');
    expect(html.match(/<section class="case"/g)).toHaveLength(2);
    // Key images: 3 per non-empty structure, inline PNGs.
    expect((html.match(/src="data:image\/png;base64,/g) ?? []).length).toBeGreaterThanOrEqual(2 * 3 * 3);
    // And one 3D view per case (app/review/render3d.ts: a CPU render, the same from the CLI).
    expect(html.match(/<img alt="3D view of [^"]*" src="data:image\/png;base64,/g)).toHaveLength(2);
    expect(html).toContain('leaks into the centre');
    // It loads nothing (the desktop app prints it in a window that may load only this file).
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">`);
    const info = spawnSync('pdfinfo', [r.pdf!], { encoding: 'utf8' }).stdout;
    expect(Number(/Pages:\s+(\d+)/.exec(info)?.[1])).toBe(3);
    // Each case page has dark key images on white paper: count non-white pixels of a 30 dpi render.
    const out = join(tmp, 'page');
    expect(spawnSync('pdftoppm', ['-r', '30', '-gray', r.pdf!, out]).status).toBe(0);
    for (const page of [2, 3]) {
      const pgm = readFileSync(`${out}-${page}.pgm`);
      const header = /^P5\s+(\d+)\s+(\d+)\s+255\s/.exec(pgm.subarray(0, 40).toString('latin1'))!;
      const pixels = pgm.subarray(header[0].length);
      let dark = 0;
      for (const v of pixels) if (v < 128) dark++;
      expect(dark / pixels.length, `page ${page}`).toBeGreaterThan(0.02);
    }
    const audit = (await client.call('case.audit', { caseId: ids[0] })).entries;
    expect(audit.at(-1)?.action).toBe('report');
  }, 120_000);

  it('osteon report writes the same report from the command line and refuses a missing project (exit 2)', () => {
    const out = join(tmp, 'cli-report.html');
    const r = runCli(['report', '--project', project, '--case', ids[1], '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Report of 1 case(s)');
    expect(readFileSync(out, 'utf8').match(/<section class="case"/g)).toHaveLength(1);
    expect(readFileSync(out, 'utf8').match(/<img alt="3D view of /g)).toHaveLength(1);
    const bad = runCli(['report', '--project', join(tmp, 'nope'), '--out', out]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/project\.json/);
  }, 60_000);
});
