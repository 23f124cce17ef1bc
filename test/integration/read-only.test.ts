// A project opened read-only (project.open readOnly): listing and viewing work, every call that
// would write into the folder is refused with 'forbidden' and a message saying how to open it for
// editing, exports outside it still work, and after a session of reads every file of the project
// folder is byte for byte and mtime for mtime what it was (start-up clean-up skipped too).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contract, createClient, memoryPair, runJob, serve, type OsteonClient, type Req } from '../../app/contract/index.ts';
import { createServices, projectWrites, type Services } from '../../app/services/services.ts';
import { repoRoot } from '../helpers/env.ts';

let tmp: string;
let dir: string;
let services: Services;
let client: OsteonClient;
let caseId = '';
const ph = join(repoRoot, 'resources', 'sample', 'phantom');

/** Every file and folder under `root`: size, mtime and sha256 (folders: their mtime). */
function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, e.name), st = statSync(full);
      if (e.isDirectory()) { out.set(relative(root, full) + '/', String(st.mtimeMs)); walk(full); }
      else out.set(relative(root, full), `${st.size} ${st.mtimeMs} ${createHash('sha256').update(readFileSync(full)).digest('hex')}`);
    }
  };
  out.set('./', String(statSync(root).mtimeMs));
  walk(root);
  return out;
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'osteon-read-only-'));
  dir = join(tmp, 'project');
  services = createServices({ host: 'test', home: join(tmp, 'home'), volumeUrl: (c, k) => `/api/volume/${c}/${k}` });
  const [a, b] = memoryPair();
  const served = serve(contract, services.handlers, a, undefined);
  services.subscribe((name, payload) => served.emit(name, payload as never));
  client = createClient(contract, b) as OsteonClient;
  await client.call('project.create', { dir, name: 'ro' });
  caseId = (await runJob(client, 'case.import', () => client.call('case.import', {
    ct: join(ph, 'case-000', 'ct.nii.gz'), labels: join(ph, 'case-000', 'labels.nii.gz'), schema: join(ph, 'schema.json'), name: 'case-000',
  }))).id;
  await client.call('review.set', { caseId, structure: 'left', state: 'accepted', comment: '' });
  await client.call('edit.begin', { caseId });
  await client.call('edit.save', { caseId, message: 'v' });
  await client.call('edit.end', { caseId });
  // No viewer cache yet (a read-only volume.get must not make one inside), and what a killed
  // import would leave (a normal open sweeps it; a read-only one must not).
  rmSync(join(dir, 'cases', caseId, '.cache'), { recursive: true, force: true });
  mkdirSync(join(dir, 'cases', '.import-killed'));
}, 60_000);

afterAll(() => {
  services?.dispose();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('a project opened read-only', () => {
  it('reads, refuses every write with how to edit, and leaves the folder byte for byte unchanged', async () => {
    const before = snapshot(dir);
    const p = await client.call('project.open', { dir, readOnly: true });
    expect(p.readOnly).toBe(true);
    expect((await client.call('project.get')).project?.readOnly).toBe(true);

    // A session of reads.
    expect((await client.call('case.list')).cases.map((c) => c.id)).toEqual([caseId]);
    expect((await client.call('case.get', { caseId })).analysis).not.toBeNull();
    for (const kind of ['ct', 'labels', 'v1', 'v2'] as const) {
      const v = await client.call('volume.get', { caseId, kind });
      const raw = services.rawVolume(caseId, kind);
      expect(raw.path.startsWith(dir)).toBe(false);
      expect(statSync(raw.path).size).toBe(v.byteLength);
    }
    expect((await client.call('version.list', { caseId })).versions.map((v) => v.version)).toEqual([1, 2]);
    expect((await client.call('version.compare', { caseId, a: 1, b: 2 })).structures.length).toBeGreaterThan(0);
    expect((await client.call('version.compare', { caseId, a: 'gt', b: 2 })).structures.length).toBeGreaterThan(0);
    expect((await client.call('train.plan', {})).cases.length).toBe(1);
    expect((await client.call('review.get', { caseId })).structures.find((s) => s.structure === 'left')?.state).toBe('accepted');
    expect((await client.call('review.summary')).cases).toHaveLength(1);
    expect((await client.call('case.audit', { caseId })).entries.length).toBeGreaterThan(0);
    expect((await client.call('run.list')).runs).toEqual([]);
    // An export outside the project is allowed (and writes no audit line into it).
    const out = join(tmp, 'export');
    expect((await client.call('case.exportAs', { caseId, source: 'labels', format: 'nifti', out })).files.length).toBeGreaterThan(0);

    // Every writing call is refused.
    const writes: { [K in keyof typeof projectWrites]: Req<K> } = {
      'case.import': { ct: join(ph, 'case-001', 'ct.nii.gz') },
      'case.approve': { caseId },
      'case.attachPrediction': { caseId, labels: join(ph, 'case-000', 'labels.nii.gz') },
      'case.importSeg': { caseId, seg: join(tmp, 'x.dcm'), as: 'prediction' },
      'case.export': { caseId, dir: join(dir, 'exported') },
      'case.exportAs': { caseId, source: 'labels', format: 'nifti', out: join(dir, 'exported') },
      'train.start': { caseIds: [caseId], head: 'joint', lossWeights: { a: 1, b: 1, c: 1 }, posWeight: [2], epochs: 1, stepsPerEpoch: 1, batchSize: 1, filters: [4, 8] },
      'train.resume': { runId: 'run-x' },
      'run.evaluate': { runId: 'run-x' },
      'run.thresholds': { runId: 'run-x' },
      'run.keepThresholds': { runId: 'run-x', thresholds: [0.5] },
      'run.showPrediction': { runId: 'run-x', caseId },
      'version.restore': { caseId, version: 1 },
      'review.set': { caseId, structure: 'left', state: 'rejected', comment: 'no' },
      'edit.begin': { caseId },
      'edit.apply': { caseId, op: { kind: 'brush', structure: 'left', axis: 1, slice: 5, points: [[4, 5, 4]], radiusMm: 3 } },
      'edit.undo': { caseId },
      'edit.redo': { caseId },
      'edit.save': { caseId },
      'report.build': { pdf: false },
      'predict.batch': { runId: 'run-x' },
    };
    for (const [name, req] of Object.entries(writes)) {
      await expect(client.call(name as keyof typeof writes, req as never), name).rejects.toMatchObject({
        code: 'forbidden', message: expect.stringMatching(/is open read-only.*open it again without "read-only"/),
      });
    }

    expect(existsSync(join(dir, 'cases', '.import-killed'))).toBe(true);
    expect(snapshot(dir)).toEqual(before);

    // Opened for editing again: writable, and the start-up clean-up runs.
    expect((await client.call('project.open', { dir })).readOnly).toBe(false);
    expect(existsSync(join(dir, 'cases', '.import-killed'))).toBe(false);
    expect((await client.call('review.set', { caseId, structure: 'left', state: 'rejected', comment: 'now' })).structures.find((s) => s.structure === 'left')?.state).toBe('rejected');
  }, 60_000);
});
