// Calibrated thresholds end to end (wasm where it loads): a sigmoid head trained with
// pos_weight = negatives/positives over-segments at 0.5; calibration on validation brings the
// predicted volume of every structure within 10% of the truth, the thresholds are stored with
// the run (calibration.json) and inference applies them. On seeded phantoms and on the real
// pelvis (resources/sample/pelvis, TotalSegmentator labels; slab split).
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../app/learning/backend.ts';
import { volumeError, type Calibration } from '../../app/learning/calibrate.ts';
import { loadModel, predictCt, releaseModel } from '../../app/learning/infer.ts';
import { loadCase, resolveSchema, findCases } from '../../app/learning/dataset.ts';
import { prepareRun, type RunOptions } from '../../app/learning/run.ts';
import { train } from '../../app/learning/train.ts';
import { writePhantomSet } from '../../app/phantom/write.ts';
import { repoRoot } from '../helpers/env.ts';

const root = mkdtempSync(join(tmpdir(), 'osteon-calibration-'));

beforeAll(async () => {
  await initBackend();
  writePhantomSet(join(root, 'data'), { cases: 3, seed: 31, dims: [40, 40, 20], spacing: 3, noiseHu: 25 });
});

async function calibrated(o: RunOptions): Promise<Calibration> {
  const p = prepareRun(o, null);
  await train(p.config, p.train, p.val, { runDir: o.runDir, onEvent: () => {} });
  const f = join(o.runDir, 'calibration.json');
  expect(existsSync(f)).toBe(true);
  return JSON.parse(readFileSync(f, 'utf8')) as Calibration;
}

describe('threshold calibration', () => {
  it('phantoms: volumes within 10% after calibration where 0.5 over-segments; inference applies the stored thresholds', async () => {
    const runDir = join(root, 'phantom-run');
    const cal = await calibrated({
      dataDir: join(root, 'data'), runDir, head: 'sigmoid', spatialDims: 2, filters: [8, 16, 32], normalization: 'none', context: 0,
      epochs: 5, stepsPerEpoch: 15, batchSize: 4, learningRate: 3e-3, validateEvery: 1, earlyStoppingPatience: 0, seed: 5,
      posWeight: 'ratio', lossWeights: { a: 1, b: 1, c: 0 }, split: { kind: 'cases', ids: ['case-002'] }, flipAxes: [], thresholdRule: 'volume',
    });
    expect(cal.rule).toBe('volume');
    const before = cal.structures.map((s) => volumeError(s.predictedAtHalf, s.truth));
    const after = cal.structures.map((s) => volumeError(s.predicted, s.truth));
    expect(Math.max(...before)).toBeGreaterThan(0.1); // pos_weight = ratio over-segments at 0.5
    for (const e of after) expect(Math.abs(e)).toBeLessThanOrEqual(0.1);
    expect(cal.thresholds.every((t) => t > 0.5)).toBe(true);
    // The sigmoid head's consistency step was decided on the same validation case.
    const plan = JSON.parse(readFileSync(join(runDir, 'postprocessing.json'), 'utf8')) as { consistency?: { apply: boolean; without: number; with: number } };
    expect(plan.consistency).toMatchObject({ apply: expect.any(Boolean), without: expect.any(Number), with: expect.any(Number) });
    expect(plan.consistency!.apply).toBe(plan.consistency!.with > plan.consistency!.without);

    // Inference with the run: the calibrated thresholds, unless others are given.
    const model = loadModel(runDir);
    try {
      const { schema, path } = resolveSchema(join(root, 'data'), undefined);
      const c = loadCase(findCases(join(root, 'data')).find((x) => x.id === 'case-002')!, schema, path);
      // fp32: the calibration's own arithmetic, so the voxel counts are exact (auto may run bf16).
      const pred = await predictCt(model, c.hu, c.geometry, { postprocess: 'none', hierarchy: 'none', precision: 'fp32' });
      const count = (m: Uint8Array) => m.reduce((a, b) => a + b, 0);
      pred.masks.forEach((m, k) => expect(count(m), cal.structures[k].id).toBe(cal.structures[k].predicted));
      const half = await predictCt(model, c.hu, c.geometry, { postprocess: 'none', hierarchy: 'none', thresholds: [0.5, 0.5, 0.5, 0.5], precision: 'fp32' });
      half.masks.forEach((m, k) => expect(count(m)).toBe(cal.structures[k].predictedAtHalf));
    } finally {
      releaseModel(model);
    }
  });

  it('the real pelvis (slab split): calibrated volumes within 10% of the truth', async () => {
    const sample = join(repoRoot, 'resources', 'sample', 'pelvis');
    const cal = await calibrated({
      dataDir: sample, schemaPath: join(repoRoot, 'resources', 'presets', 'pelvis.json'), runDir: join(root, 'pelvis-run'), head: 'sigmoid', spatialDims: 2,
      filters: [8, 16, 32], normalization: 'none', context: 0, epochs: 6, stepsPerEpoch: 15, batchSize: 4, learningRate: 3e-3, validateEvery: 2,
      earlyStoppingPatience: 0, seed: 2, posWeight: 'ratio', lossWeights: { a: 1, b: 1, c: 0 }, split: { kind: 'slab', trainFraction: 0.7 }, flipAxes: [], thresholdRule: 'volume',
    });
    expect(cal.structures.map((s) => s.id)).toEqual(['pelvis', 'hip_left', 'hip_right', 'sacrum']);
    for (const s of cal.structures) expect(Math.abs(volumeError(s.predicted, s.truth)), s.id).toBeLessThanOrEqual(0.1);
  });
});
