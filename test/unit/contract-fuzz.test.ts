// Payload fuzzing: every call, fed wrong types, extra fields, huge strings, out-of-range numbers
// and random JSON, must answer a Result (never throw, never reach the handler with bad data);
// schema failures come back as `bad-request` naming the call and the field. Twice: straight at
// the services, and through Electron main's real handlers (main/ipc.ts: grants, path guard,
// forwarding; a fake `electron` module), which must survive it too. Paths outside the grants on
// every path channel: test/hostile/ipc-paths.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { callNames, contract, createDispatcher, errorCodes, type CallName, type Dispatch, type Invoker } from '../../app/contract/index.ts';
import { PathGuard } from '../../app/services/path-guard.ts';
import { createServices, type Services } from '../../app/services/services.ts';

vi.mock('electron', () => ({ ipcMain: { handle: () => {}, removeHandler: () => {} } }));

/** A valid request per call: the fuzzer breaks one field at a time. */
const valid: Record<CallName, Record<string, unknown>> = {
  'app.info': {},
  'app.backend': {},
  'app.capabilities': {},
  'project.create': { dir: '/tmp/x', name: 'x' },
  'project.open': { dir: '/tmp/x' },
  'project.recent': {},
  'project.get': {},
  'case.list': {},
  'case.import': { ct: '/tmp/ct.nii.gz', labels: '/tmp/l.nii.gz', schema: '/tmp/s.json', name: 'c' },
  'case.get': { caseId: 'c1' },
  'case.approve': { caseId: 'c1', note: 'ok' },
  'case.export': { caseId: 'c1', dir: '/tmp/out' },
  'case.exportAs': { caseId: 'c1', source: 'labels', format: 'seg-nrrd', out: '/tmp/out.seg.nrrd', run: 'run-1' },
  'dicom.series': { path: '/tmp/dicom' },
  'case.attachPrediction': { caseId: 'c1', labels: '/data/pred.nii.gz' },
  'case.importSeg': { caseId: 'c1', seg: '/data/seg.dcm', as: 'prediction', map: { 'Segment 1': 'femur' } },
  'volume.get': { caseId: 'c1', kind: 'ct' },
  'job.list': {},
  'job.cancel': { jobId: 'job-1' },
  'job.sleep': { ms: 10, steps: 2 },
  'dialog.open': { purpose: 'save', title: 't', defaultName: 'seg.dcm' },
  'dialog.dropped': { paths: ['/tmp/ct.nii.gz'] },
  'schema.presets': {},
  'files.list': { dir: '/tmp' },
  'labels.scan': { labels: '/tmp/l.nii.gz' },
  'labels.preview': { ct: '/tmp/ct.nii.gz', labels: '/tmp/l.nii.gz', schema: { schema: 'osteon-labels/1', name: 'p', structures: [{ id: 'a' }] } },
  'train.plan': { caseIds: ['c1'] },
  'train.start': {
    caseIds: ['c1', 'c2'], valCaseIds: ['c2'], valFraction: 0.25, head: 'joint', lossWeights: { a: 1, b: 1, c: 1 }, posWeight: [3],
    epochs: 2, stepsPerEpoch: 3, batchSize: 2, filters: [4, 8], spatialDims: 2, learningRate: 0.001, seed: 1, note: 'n', sweep: { id: 's1', value: 3 },
  },
  'train.resume': { runId: 'run-1' },
  'train.control': { jobId: 'job-1', action: 'pause' },
  'run.list': {},
  'run.get': { runId: 'run-1' },
  'run.evaluate': { runId: 'run-1', checkpoint: 'best' },
  'run.thresholds': { runId: 'run-1' },
  'run.compare': { runIds: ['run-1', 'run-2'] },
  'run.keepThresholds': { runId: 'run-1', thresholds: [0.5, 0.4] },
  'run.showPrediction': { runId: 'run-1', caseId: 'c1' },
  'version.list': { caseId: 'c1' },
  'version.restore': { caseId: 'c1', version: 1, message: 'm' },
  'version.compare': { caseId: 'c1', a: 1, b: 2 },
  'review.get': { caseId: 'c1' },
  'review.set': { caseId: 'c1', structure: 'hip_left', state: 'rejected', comment: 'c', reason: 'leak' },
  'review.summary': {},
  'case.audit': { caseId: 'c1' },
  'edit.begin': { caseId: 'c1', base: 1 },
  'edit.apply': { caseId: 'c1', op: { kind: 'brush', structure: 'hip_left', axis: 2, slice: 3, points: [[1, 2, 3]], radiusMm: 4 }, hierarchy: { paintWhole: true } },
  'edit.undo': { caseId: 'c1' },
  'edit.redo': { caseId: 'c1' },
  'edit.save': { caseId: 'c1', message: 'm' },
  'edit.end': { caseId: 'c1' },
  'predict.batch': { runId: 'run-1', caseIds: ['c1'], checkpoint: 'best' },
  'report.build': { caseIds: ['c1'], pdf: false },
};

const HUGE = 'x'.repeat(1_000_000);

/** Values of another JSON type than `v`, and for strings and numbers, out-of-range ones. */
function wrongFor(field: string, v: unknown): unknown[] {
  const kinds: unknown[] = [null, 42, true, [], ['a'], { a: 1 }, 'x'];
  const kindOf = (x: unknown) => (Array.isArray(x) ? 'array' : x === null ? 'null' : typeof x);
  const out = kinds.filter((x) => kindOf(x) !== kindOf(v));
  if (typeof v === 'string') out.push(HUGE, '');
  if (typeof v === 'number') out.push(1e15, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY);
  if (field === 'caseId' || field === 'jobId') out.push('Not An Id!', '../etc');
  if (field === 'kind' || field === 'purpose') out.push('other');
  return out;
}
/** Deterministic PRNG (mulberry32) so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomJson(r: () => number, depth = 0): unknown {
  const k = Math.floor(r() * (depth > 2 ? 5 : 7));
  switch (k) {
    case 0: return null;
    case 1: return r() < 0.5;
    case 2: return (r() - 0.5) * 1e12;
    case 3: return 'é\u0000'.repeat(Math.floor(r() * 10));
    case 4: return r() < 0.1 ? HUGE : 'abc';
    case 5: return Array.from({ length: Math.floor(r() * 4) }, () => randomJson(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = 0; i < r() * 4; i++) o[['dir', 'name', 'caseId', 'kind', '__proto__', 'ms', 'x'][Math.floor(r() * 7)]] = randomJson(r, depth + 1);
      return o;
    }
  }
}

let tmp: string;
let services: Services;
const dispatchers: Record<string, Dispatch> = {};
let dispatch: Dispatch;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'osteon-fuzz-'));
  services = createServices({ host: 'test', home: join(tmp, 'home'), volumeUrl: () => '/v' });
  dispatchers.services = createDispatcher(contract, services.handlers);
  // Electron main in front of the same services: dialogs answer nothing (cancelled).
  const { mainHandlers } = await import('../../main/ipc.ts');
  const toServices: Invoker = { call: (n, r) => dispatchers.services(n, structuredClone(r), undefined), on: () => () => {} };
  const dialogs = { open: async () => [], save: async () => null, confirmDrop: async () => false };
  dispatchers['electron main'] = createDispatcher(contract, mainHandlers(toServices, new PathGuard([], 'fuzz'), dialogs, () => null));
});
afterAll(() => {
  services.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

async function expectBadRequest(name: string, payload: unknown, field?: string) {
  const r = await dispatch(name, payload);
  expect(r.ok, `${name} ${JSON.stringify(payload)?.slice(0, 80)}`).toBe(false);
  if (r.ok) return;
  expect(r.error.code).toBe('bad-request');
  expect(r.error.message.length).toBeLessThan(4000);
  if (field) expect(r.error.message).toContain(`${name}: ${field}`);
}

it('covers every call', () => {
  expect(Object.keys(valid).sort()).toEqual([...callNames].sort());
});

describe.each(['services', 'electron main'])('payload fuzzing: %s', (host) => {
  beforeAll(() => { dispatch = dispatchers[host]; });
  afterAll(async () => {
    // The host survives: a plain call still answers.
    expect(await dispatch('app.info', {}, undefined)).toMatchObject({ ok: true });
  });

  it.each(callNames)('%s: wrong top-level types', async (name) => {
    for (const p of [null, 0, 'x', [], true, HUGE]) await expectBadRequest(name, p);
  });

  it.each(callNames)('%s: an extra field is refused (strict objects)', async (name) => {
    await expectBadRequest(name, { ...valid[name], extra: 1 });
    await expectBadRequest(name, { ...valid[name], ['x'.repeat(10_000)]: 'y' });
  });

  it.each(callNames)('%s: each field with a wrong type or a huge string', async (name) => {
    for (const field of Object.keys(valid[name])) {
      for (const w of wrongFor(field, valid[name][field])) {
        if (['note', 'title', 'message', 'comment'].includes(field) && w === '') continue; // an empty note is fine
        await expectBadRequest(name, { ...valid[name], [field]: w }, field);
      }
    }
  });

  it('unknown and prototype call names are refused', async () => {
    for (const n of ['nope', '__proto__', 'constructor', 'toString', '', 'x'.repeat(100_000)]) {
      const r = await dispatch(n, {});
      expect(r).toMatchObject({ ok: false, error: { code: 'bad-request' } });
      if (!r.ok) expect(r.error.message.length).toBeLessThan(200);
    }
  });

  it('random JSON never throws and always answers a Result with a known code', async () => {
    const r = rng(20261129);
    for (let i = 0; i < 400; i++) {
      const name = callNames[Math.floor(r() * callNames.length)];
      if (name === 'app.backend') continue; // a valid {} starts tfjs: not what this test is about
      const payload = randomJson(r);
      const res = await dispatch(name, payload);
      expect(typeof res.ok).toBe('boolean');
      if (!res.ok) expect(errorCodes).toContain(res.error.code);
    }
  });
});
