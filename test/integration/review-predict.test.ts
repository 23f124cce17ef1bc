// Batch prediction as a job through the contract: a tiny run trained on two phantom cases, then
// predict.batch over "every case without a prediction": per-case events, each prediction stored
// as a new version (source: the run), the imported ground truth untouched, a second batch with
// nothing left to do refused, and a cancel that stops between cases. Real services and tfjs.
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob, type EventPayload, type OsteonClient } from '../../app/contract/index.ts';
import type { Services } from '../../app/services/services.ts';
import { phantomProject } from '../helpers/review.ts';

let tmp: string;
let services: Services;
let client: OsteonClient;
let project: string;
let ids: string[] = [];

beforeAll(async () => {
  ({ tmp, services, client, project, ids } = await phantomProject('osteon-review-predict-', 'predict test', ['case-000', 'case-001']));
}, 60_000);

afterAll(() => {
  services?.dispose();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

describe('batch prediction', () => {
  let runId = '';

  it('predicts every case without a prediction, one version each, never over the ground truth', async () => {
    const trained = await runJob(client, 'train', () => client.call('train.start', {
      caseIds: ids, valCaseIds: [ids[1]], head: 'joint', lossWeights: { a: 1, b: 1, c: 1 }, posWeight: [2.5],
      epochs: 1, stepsPerEpoch: 2, batchSize: 2, filters: [4, 8],
    }));
    runId = trained.runId;
    const labels = ids.map((id) => join(project, 'cases', id, 'labels.nii.gz'));
    const before = labels.map(sha);
    const events: EventPayload<'predict.case'>[] = [];
    const off = client.on('predict.case', (e) => events.push(e));
    const progress: string[] = [];
    const offP = client.on('job.progress', (e) => { if (e.kind === 'predict.batch') progress.push(e.message); });
    const result = await runJob(client, 'predict.batch', () => client.call('predict.batch', { runId }));
    off();
    offP();
    expect(result.cases.map((c) => [c.caseId, c.state, c.version])).toEqual([[ids[0], 'done', 1], [ids[1], 'done', 1]]);
    expect(events.filter((e) => e.caseId === ids[0]).map((e) => e.state)).toEqual(['queued', 'running', 'done']);
    expect(progress.some((m) => m.includes(`case 2 of 2: ${ids[1]}`))).toBe(true);
    for (const id of ids) {
      const [v] = (await client.call('version.list', { caseId: id })).versions;
      expect(v.source).toEqual({ kind: 'prediction', runId, checkpoint: 'best', backend: expect.stringMatching(/^(wasm|tensorflow|cpu|webgpu) on the services process.*, (fp32|bf16)$/) });
      expect(v.structures).toEqual(['bone', 'left', 'centre', 'right']);
      expect((await client.call('volume.get', { caseId: id, kind: 'v1' })).channels).toBe(4);
    }
    expect(labels.map(sha)).toEqual(before);
    const summary = (await client.call('review.summary')).cases;
    expect(summary.every((c) => c.hasPrediction && c.versions === 1)).toBe(true);
    await expect(client.call('predict.batch', { runId })).rejects.toThrow(/every case has a prediction/);
  }, 300_000);

  it('can be cancelled; cases not reached are reported cancelled', async () => {
    const seen: EventPayload<'predict.case'>[] = [];
    const off = client.on('predict.case', (e) => seen.push(e));
    const ac = new AbortController();
    const job = runJob(client, 'predict.batch', async () => {
      const started = await client.call('predict.batch', { runId, caseIds: [ids[0], ids[1], ids[0]] });
      ac.abort();
      return started;
    }, { signal: ac.signal });
    await expect(job).rejects.toMatchObject({ code: 'cancelled' });
    off();
    await new Promise((r) => setTimeout(r, 50));
    expect(seen.some((e) => e.state === 'cancelled')).toBe(true);
  }, 120_000);
});
