// Training through the contract, as the renderer drives it: phantom cases imported into a
// project, train.plan, a tiny joint-head run as a train.start job with its train.event stream,
// run.list / run.get, run.evaluate (per case × structure table), run.thresholds (PR and Dice
// against threshold) and run.compare of two runs. Real services, real tfjs, real worker.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contract, createClient, memoryPair, runJob, serve, type EventPayload, type OsteonClient } from '../../app/contract/index.ts';
import { createServices, type Services } from '../../app/services/services.ts';
import { keptThresholds } from '../../app/learning/infer.ts';
import { readVolume } from '../../app/imaging/io.ts';
import { fromLabelMap } from '../../app/labels/labelset.ts';
import { loadLabelSchema } from '../../app/labels/schema.ts';
import { dice } from '../../app/metrics/dice.ts';
import { repoRoot } from '../helpers/env.ts';

let tmp: string;
let services: Services;
let client: OsteonClient;
const caseIds: string[] = [];

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'osteon-train-svc-'));
  execFileSync(process.execPath, [join(repoRoot, 'bin', 'osteon.mjs'), 'phantom', '--out', join(tmp, 'ph'), '--cases', '3', '--seed', '1', '--size', '32x32x16', '--spacing', '4']);
  services = createServices({ host: 'test', home: join(tmp, 'home'), volumeUrl: (c, k) => `/api/volume/${c}/${k}` });
  const [a, b] = memoryPair();
  const served = serve(contract, services.handlers, a, undefined);
  services.subscribe((name, payload) => served.emit(name, payload as never));
  client = createClient(contract, b) as OsteonClient;
  await client.call('project.create', { dir: join(tmp, 'project'), name: 'train test' });
  for (const c of ['case-000', 'case-001', 'case-002']) {
    const s = await runJob(client, 'case.import', () => client.call('case.import', {
      ct: join(tmp, 'ph', c, 'ct.nii.gz'), labels: join(tmp, 'ph', c, 'labels.nii.gz'), schema: join(tmp, 'ph', 'schema.json'), name: c,
    }));
    caseIds.push(s.id);
  }
}, 60_000);

afterAll(() => {
  services?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

describe('training through the contract', () => {
  let runId = '';

  it('plans: labelled cases, channel-ordered structures, the recommended head and pooled pos_weight', async () => {
    const plan = await client.call('train.plan', {});
    expect(plan.cases.map((c) => c.id)).toEqual(caseIds);
    expect(plan.structures[0].role).toBe('whole');
    expect(plan.structures).toHaveLength(4);
    expect(plan.recommendation?.head).toMatch(/joint|softmax|sigmoid/);
    expect(plan.posWeight.every((w) => w !== null && w > 1)).toBe(true);
    expect(plan.secondsPerUnit).toBeNull();
  });

  it('trains a tiny joint-head run as a job, streaming train events, and records the run', async () => {
    const events: EventPayload<'train.event'>[] = [];
    const off = client.on('train.event', (e) => events.push(e));
    let started: { jobId: string; runId: string } | null = null;
    const result = await runJob(client, 'train', async () => {
      started = await client.call('train.start', {
        caseIds, valCaseIds: [caseIds[2]], head: 'joint', lossWeights: { a: 1, b: 1, c: 1 }, posWeight: [2.5],
        epochs: 2, stepsPerEpoch: 2, batchSize: 2, filters: [4, 8],
      });
      return started;
    });
    off();
    runId = result.runId;
    expect(started!.runId).toBe(runId);
    expect(result.reason).toBe('completed');
    const types = events.map((e) => e.event.type);
    expect(types[0]).toBe('start');
    expect(types.filter((t) => t === 'epoch')).toHaveLength(2);
    expect(types.at(-1)).toBe('done');
    const epoch = events.find((e) => e.event.type === 'epoch')!.event;
    expect(epoch.type === 'epoch' && epoch.validation?.dice).toHaveLength(4);

    const { runs } = await client.call('run.list');
    expect(runs[0]).toMatchObject({ id: runId, status: 'completed', head: 'joint', epochs: 2, epochsDone: 2, posWeight: [2.5] });
    const detail = await client.call('run.get', { runId });
    expect(detail.history.map((h) => h.epoch)).toEqual([1, 2]);
    expect(detail.history[0].loss.bce).toBeTypeOf('number');
    expect(detail.history[1].validation?.dice).toHaveLength(4);
    expect(existsSync(join(tmp, 'project', 'runs', runId, 'checkpoints', 'best.ckpt'))).toBe(true);
    expect((await client.call('train.plan', {})).secondsPerUnit).toBeGreaterThan(0);
    // Once the app knows its backend, the estimate's basis is the runs on that backend.
    const backend = (await client.call('app.backend', {})).name.split(' ')[0];
    expect((await client.call('train.plan', {})).basis).toContain(`runs on the ${backend} backend`);
  }, 120_000);

  it('evaluates the run: one row per validation case, one cell per structure', async () => {
    const ev = await runJob(client, 'run.evaluate', () => client.call('run.evaluate', { runId }));
    expect(ev.structures).toHaveLength(4);
    expect(ev.cases.map((c) => c.caseId)).toEqual([caseIds[2]]);
    const cell = ev.cases[0].metrics[0];
    expect(cell.dice === null || (cell.dice >= 0 && cell.dice <= 1)).toBe(true);
    expect(cell.worstSlice === null || (cell.worstSlice >= 0 && cell.worstSlice < 32)).toBe(true);

    // The prediction, for compare mode from the table: attached to the case in the labels' encoding
    // (the phantom's label map). The joint head's parts are exclusive, so each part decodes exactly:
    // its Dice against the truth is the table's.
    const shown = await client.call('run.showPrediction', { runId, caseId: caseIds[2] });
    expect(shown.file).toBe('prediction.nii.gz');
    const dir = join(tmp, 'project', 'cases', caseIds[2]);
    const schema = loadLabelSchema(join(dir, 'schema.json'));
    const decode = (f: string) => { const v = readVolume(join(dir, f)); return fromLabelMap(schema, v, v.data, f).masks; };
    const pred = decode(shown.file), truth = decode('labels.nii.gz');
    for (const k of [1, 2, 3]) {
      const d = dice(pred[k], truth[k]).dice;
      const want = ev.cases[0].metrics[k].dice;
      if (want === null) expect(Number.isNaN(d)).toBe(true);
      else expect(d).toBeCloseTo(want, 10);
    }
    const meta = await client.call('volume.get', { caseId: caseIds[2], kind: 'prediction' });
    expect(meta.dims).toEqual(readVolume(join(dir, 'labels.nii.gz')).dims);
    await expect(client.call('run.showPrediction', { runId, caseId: caseIds[0] })).rejects.toThrow(/evaluate the run/);
  }, 60_000);

  it('tunes thresholds: only the joint head\'s whole channel is tunable, with its pos_weight', async () => {
    const th = await runJob(client, 'run.thresholds', () => client.call('run.thresholds', { runId }));
    expect(th.curves.map((c) => c.tunable)).toEqual([true, false, false, false]);
    expect(th.curves[0].posWeight).toBe(2.5);
    expect(th.curves[0].thresholds.length).toBe(th.curves[0].dice.length);
    const kept = th.curves.map((c) => (c.tunable ? c.best.threshold : 0.5));
    const { file } = await client.call('run.keepThresholds', { runId, thresholds: kept });
    expect(file).toBe(join(tmp, 'project', 'runs', runId, 'inference.json'));
    expect(keptThresholds(join(tmp, 'project', 'runs', runId))).toEqual(kept);
    await expect(client.call('run.keepThresholds', { runId, thresholds: [0.5] })).rejects.toThrow(/1 values for 4 structures/);
  }, 60_000);

  it('compares two runs and lists the config keys that differ', async () => {
    const second = await runJob(client, 'train', () => client.call('train.start', {
      caseIds, valCaseIds: [caseIds[2]], head: 'joint', lossWeights: { a: 1, b: 1, c: 1 }, posWeight: [5],
      epochs: 1, stepsPerEpoch: 1, batchSize: 2, filters: [4, 8],
    }));
    const cmp = await client.call('run.compare', { runIds: [runId, second.runId] });
    expect(cmp.runs).toHaveLength(2);
    expect(cmp.differences.map((d) => d.key)).toEqual(expect.arrayContaining(['epochs', 'head.posWeight']));
  }, 120_000);
});
