// Review-only mode (OSTEON_BACKEND=none): the services open a project, review, edit, save and
// compare versions and write the report without the ML backend; every call that needs it answers
// `unavailable` with the reason the renderer shows beside the Train and Predict controls.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contract, createClient, memoryPair, runJob, serve, type OsteonClient } from '../../app/contract/index.ts';
import { createServices, type Services } from '../../app/services/services.ts';
import { repoRoot } from '../helpers/env.ts';

let tmp: string;
let services: Services;
let client: OsteonClient;
let caseId = '';
const saved = process.env.OSTEON_BACKEND;

beforeAll(async () => {
  process.env.OSTEON_BACKEND = 'none';
  tmp = mkdtempSync(join(tmpdir(), 'osteon-review-only-'));
  const ph = join(repoRoot, 'resources', 'sample', 'phantom');
  services = createServices({ host: 'test', home: join(tmp, 'home'), volumeUrl: (c, k) => `/api/volume/${c}/${k}` });
  const [a, b] = memoryPair();
  const served = serve(contract, services.handlers, a, undefined);
  services.subscribe((name, payload) => served.emit(name, payload as never));
  client = createClient(contract, b) as OsteonClient;
  await client.call('project.create', { dir: join(tmp, 'project'), name: 'review only' });
  caseId = (await runJob(client, 'case.import', () => client.call('case.import', {
    ct: join(ph, 'case-000', 'ct.nii.gz'), labels: join(ph, 'case-000', 'labels.nii.gz'), schema: join(ph, 'schema.json'), name: 'case-000',
  }))).id;
}, 60_000);

afterAll(() => {
  if (saved === undefined) delete process.env.OSTEON_BACKEND;
  else process.env.OSTEON_BACKEND = saved;
  services?.dispose();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('review-only mode', () => {
  it('says why the ML backend is unavailable, and refuses what needs it', async () => {
    const caps = await client.call('app.capabilities');
    expect(caps.ml.available).toBe(false);
    expect(caps.ml.reason).toMatch(/OSTEON_BACKEND=none/);
    await expect(client.call('app.backend')).rejects.toMatchObject({ code: 'unavailable', message: expect.stringMatching(/Review-only mode/) });
    await expect(client.call('predict.batch', { runId: 'run-x' })).rejects.toMatchObject({ code: 'unavailable', message: expect.stringMatching(/^Prediction needs the ML backend/) });
    await expect(client.call('train.start', {
      caseIds: [caseId], head: 'joint', lossWeights: { a: 1, b: 1, c: 1 }, posWeight: [2], epochs: 1, stepsPerEpoch: 1, batchSize: 1, filters: [4, 8],
    })).rejects.toMatchObject({ code: 'unavailable' });
    expect((await client.call('app.info')).backend).toBeNull();
  });

  it('reviews, edits, saves, compares, restores and reports without it', async () => {
    await client.call('review.set', { caseId, structure: 'left', state: 'needs-correction', comment: 'tip missing', reason: 'under-segmented' });
    const s = await client.call('edit.begin', { caseId });
    expect(s.base).toBe(1);
    await client.call('edit.apply', { caseId, op: { kind: 'brush', structure: 'left', axis: 1, slice: 5, points: [[4, 5, 4]], radiusMm: 3 } });
    const v2 = await client.call('edit.save', { caseId, message: 'tip' });
    expect(v2.version).toBe(2);
    const cmp = await client.call('version.compare', { caseId, a: 1, b: 2 });
    expect(cmp.structures.find((x) => x.structure === 'left')!.fp).toBeGreaterThan(0);
    expect((await client.call('version.restore', { caseId, version: 1 })).version).toBe(3);
    const r = await client.call('report.build', { pdf: false });
    expect(r.pdf).toBeNull();
    expect(r.cases).toBe(1);
    expect((await client.call('review.summary')).cases[0].overall).toBe('needs-correction');
  }, 60_000);
});
