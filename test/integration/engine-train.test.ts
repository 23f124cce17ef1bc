// Training end to end on tiny phantom cases with the real backend (wasm where it loads):
// checkpoints, exact resume, NaN stop, the worker's cancel, inference writing NIfTI masks.
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../app/learning/backend.ts';
import { readCheckpoint } from '../../app/learning/checkpoint.ts';
import { inferFile, loadModel, releaseModel } from '../../app/learning/infer.ts';
import { resumeRun } from '../../app/learning/resume.ts';
import { prepareRun, type RunOptions } from '../../app/learning/run.ts';
import { TrainControl, train, type TrainEvent } from '../../app/learning/train.ts';
import { startTraining } from '../../app/learning/worker/host.ts';
import { readVolume } from '../../app/imaging/io.ts';
import { writePhantomSet } from '../../app/phantom/write.ts';

const root = mkdtempSync(join(tmpdir(), 'osteon-engine-'));
const data = join(root, 'data');

function options(runDir: string, over: Partial<RunOptions> = {}): RunOptions {
  return {
    dataDir: data, runDir, head: 'joint', spatialDims: 2, filters: [4, 8], normalization: 'none', context: 0,
    epochs: 2, stepsPerEpoch: 2, batchSize: 2, learningRate: 1e-3, validateEvery: 1, earlyStoppingPatience: 0, seed: 3,
    posWeight: 'auto', lossWeights: { a: 1, b: 1, c: 0 }, split: { kind: 'cases', ids: ['case-002'] }, flipAxes: [], ...over,
  };
}

beforeAll(async () => {
  await initBackend();
  writePhantomSet(data, { cases: 3, seed: 2, dims: [24, 24, 12], spacing: 3, noiseHu: 25 });
});

describe('training', () => {
  it('writes config, metrics, checkpoints and status, and resumes exactly', async () => {
    const events: TrainEvent[] = [];
    const a = prepareRun(options(join(root, 'full')), null);
    const done = await train(a.config, a.train, a.val, { runDir: join(root, 'full'), onEvent: (e) => events.push(e) });
    expect(done.reason).toBe('completed');
    expect(events.filter((e) => e.type === 'step')).toHaveLength(4);
    const epochs = events.filter((e) => e.type === 'epoch');
    expect(epochs.map((e) => e.type === 'epoch' && e.validation?.dice.length)).toEqual([4, 4]);
    for (const f of ['config.json', 'schema.json', 'run.json', 'metrics.jsonl', 'status.json', 'postprocessing.json', 'checkpoints/last.ckpt', 'checkpoints/best.ckpt']) {
      expect(existsSync(join(root, 'full', f)), f).toBe(true);
    }
    expect(readdirSync(join(root, 'full')).some((f) => f.endsWith('.tmp'))).toBe(false);
    expect(readFileSync(join(root, 'full', 'metrics.jsonl'), 'utf8').trim().split('\n').length).toBeGreaterThan(4);

    // The same run stopped after epoch 1 and resumed continues the same trajectory. Not bit for
    // bit: tfjs's Adam.setWeights recomputes its bias correction as β^t where the uninterrupted
    // run multiplied β step by step, a float32 rounding difference (~1e-8 here).
    const half = prepareRun(options(join(root, 'half'), { epochs: 1 }), null);
    await train(half.config, half.train, half.val, { runDir: join(root, 'half'), onEvent: () => {} });
    const r = resumeRun(join(root, 'half'), 2);
    await train(r.config, r.train, r.val, { runDir: join(root, 'half'), resumeFrom: join(root, 'half', 'checkpoints', 'last.ckpt'), onEvent: () => {} });
    const x = readCheckpoint(join(root, 'full', 'checkpoints', 'last.ckpt'));
    const y = readCheckpoint(join(root, 'half', 'checkpoints', 'last.ckpt'));
    expect(y.epoch).toBe(2);
    let worst = 0;
    for (const [name, t] of x.tensors) {
      if (!name.startsWith('param:')) continue;
      const other = y.tensors.get(name)!.data;
      t.data.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - other[i]) / (1e-3 + Math.abs(v))); });
    }
    expect(worst).toBeLessThan(1e-4);
  });

  it('reports the head\'s loss components on validation, without leaking tensors', async () => {
    const events: TrainEvent[] = [];
    const tensors: number[] = [];
    const a = prepareRun(options(join(root, 'val-loss'), { epochs: 3 }), null);
    await train(a.config, a.train, a.val, {
      runDir: join(root, 'val-loss'),
      onEvent: (e) => { events.push(e); if (e.type === 'epoch') tensors.push(tf.memory().numTensors); },
    });
    const epochs = events.flatMap((e) => (e.type === 'epoch' ? [e] : []));
    expect(epochs).toHaveLength(3);
    for (const e of epochs) {
      const vl = e.validation?.loss;
      expect(vl, `epoch ${e.epoch}`).toBeDefined();
      expect(Number.isFinite(vl!.total)).toBe(true);
      // The same components as the training loss of the joint head (BCE on the whole, CE and Dice on the parts).
      expect(Object.keys(vl!).sort()).toEqual(Object.keys(e.loss).sort());
      for (const v of Object.values(vl!)) expect(Number.isFinite(v)).toBe(true);
    }
    // Validation after validation, the tensor count stays put (params and Adam's moments only).
    expect(tensors, JSON.stringify(tensors)).toEqual([tensors[0], tensors[0], tensors[0]]);
    // metrics.jsonl carries it too.
    const line = readFileSync(join(root, 'val-loss', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; validation?: { loss?: { total: number } } }).find((l) => l.type === 'epoch');
    expect(typeof line?.validation?.loss?.total).toBe('number');
  });

  it('stops on a non-finite loss and keeps no checkpoint of the bad epoch', async () => {
    const p = prepareRun(options(join(root, 'nan'), { epochs: 1 }), null);
    p.train[0].image.fill(Infinity);
    const done = await train(p.config, p.train, p.val, { runDir: join(root, 'nan'), onEvent: () => {} });
    expect(done.reason).toBe('non-finite-loss');
    expect(done.message).toMatch(/last good checkpoint/);
    // Only the epoch-0 checkpoint (the initial weights, written so a kill in epoch 1 resumes).
    expect(readCheckpoint(join(root, 'nan', 'checkpoints', 'last.ckpt')).epoch).toBe(0);
  });

  it.each<[string, Partial<RunOptions>]>([
    ['sigmoid head, 2.5D', { head: 'sigmoid', context: 1 }],
    ['softmax head', { head: 'softmax' }],
    ['3D joint head', { spatialDims: 3, patch: [8, 16, 16] }],
  ])('trains a %s', async (_name, over) => {
    const dir = join(root, `variant-${_name.replace(/\W+/g, '-')}`);
    const p = prepareRun(options(dir, { epochs: 1, stepsPerEpoch: 1, ...over }), null);
    const done = await train(p.config, p.train, p.val, { runDir: dir, onEvent: () => {} });
    expect(done.reason).toBe('completed');
    expect(p.config.model.outChannels).toBe(over.head === 'sigmoid' ? 4 : over.head === 'softmax' ? 4 : 5);
    if (over.head === 'sigmoid') expect(p.config.head.kind === 'sigmoid' && p.config.head.posWeight!.length).toBe(4);
    // The phantom's whole holds a rim in no part: a softmax head cannot learn it, and is told so before training.
    if (over.head === 'softmax') expect(p.notices.map((n) => n.code)).toEqual(['whole-not-union']);
    else expect(p.notices).toEqual([]);
  });

  it('computes the normalisation after a slab split, on the training slab only', () => {
    const dir = join(root, 'slab-norm');
    const cases = [{ id: 'case-001', dir: join(data, 'case-001'), ct: join(data, 'case-001', 'ct.nii.gz'), labels: [join(data, 'case-001', 'labels.nii.gz')] }];
    const p = prepareRun(options(dir, { cases, split: { kind: 'slab', trainFraction: 0.5 } }), null);
    // The mean of the clipped HU over the training slab's voxels, recomputed here from the file.
    const ct = readVolume(join(data, 'case-001', 'ct.nii.gz'));
    const [nx, ny] = ct.dims;
    const nz = p.train[0].geometry.dims[2];
    const [lo, hi] = p.config.normalization.windowHu;
    let sum = 0, n = 0, all = 0;
    for (let v = 0; v < ct.data.length; v++) {
      const x = Math.min(hi, Math.max(lo, ct.data[v]));
      all += x;
      if (Math.floor(v / (nx * ny)) < nz) { sum += x; n++; }
    }
    expect(p.val[0].id).toMatch(/:slab/);
    expect(p.config.normalization.mean).toBeCloseTo(sum / n, 6);
    expect(Math.abs(p.config.normalization.mean - all / ct.data.length)).toBeGreaterThan(1e-3);
  });

  it('pauses and resumes between steps', async () => {
    const control = new TrainControl();
    const events: string[] = [];
    const p = prepareRun(options(join(root, 'pause'), { epochs: 1, stepsPerEpoch: 3 }), null);
    const done = await train(p.config, p.train, p.val, {
      runDir: join(root, 'pause'), control,
      onEvent: (e) => { events.push(e.type); if (e.type === 'step' && e.step === 1) { control.pause(); setTimeout(() => control.resume(), 50); } },
    });
    expect(done.reason).toBe('completed');
    expect(events.slice(0, 5)).toEqual(['start', 'step', 'paused', 'resumed', 'step']);
  });

  it('runs in a worker thread and can be cancelled', async () => {
    const events: TrainEvent[] = [];
    const job = startTraining({ run: { kind: 'new', options: options(join(root, 'worker'), { epochs: 50 }) }, backend: 'auto' }, {
      onEvent: (e) => { events.push(e); if (e.type === 'step') job.cancel(); },
    });
    const done = await job.done;
    expect(done.reason).toBe('cancelled');
    expect(events[0].type).toBe('start');
  });

  it('infers masks on the CT grid, one file per structure', async () => {
    const model = loadModel(join(root, 'full'));
    const out = join(root, 'pred');
    try {
      const r = await inferFile(model, join(data, 'case-002', 'ct.nii.gz'), out, { postprocess: 'auto', hierarchy: 'none', probabilities: true });
      expect(Object.keys(r.voxels)).toEqual(['bone', 'left', 'centre', 'right']);
      const ct = readVolume(join(data, 'case-002', 'ct.nii.gz'));
      const m = readVolume(join(out, 'bone.nii.gz'));
      expect(m.dims).toEqual(ct.dims);
      expect(m.origin).toEqual(ct.origin);
      expect(existsSync(join(out, 'bone.prob.nii.gz'))).toBe(true);
      expect(JSON.parse(readFileSync(join(out, 'prediction.json'), 'utf8')).structures).toEqual(['bone', 'left', 'centre', 'right']);
    } finally {
      releaseModel(model);
    }
  });
});
