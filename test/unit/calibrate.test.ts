// Threshold calibration (app/learning/calibrate.ts) and the sigmoid head's consistency step
// (app/learning/postprocess.ts) on small hand-checked inputs.
import { describe, expect, it } from 'vitest';
import { calibrate, pickThreshold, volumeError } from '../../app/learning/calibrate.ts';
import { decideConsistency, enforceConsistency } from '../../app/learning/postprocess.ts';
import { probabilityHistogram } from '../../app/metrics/thresholds.ts';

describe('threshold calibration', () => {
  // 10 voxels: 3 foreground with p 0.95, 0.9, 0.8; background 0.85, 0.7, 0.6, 0.55 and three at 0.1.
  const probs = Float32Array.from([0.95, 0.9, 0.8, 0.85, 0.7, 0.6, 0.55, 0.1, 0.1, 0.1]);
  const gt = Uint8Array.from([1, 1, 1, 0, 0, 0, 0, 0, 0, 0]);
  const h = probabilityHistogram(probs, gt);

  it('dice: the highest pooled Dice (above the 0.7 voxel, up to 0.8: TP 3, FP 1 → 6/7), the lowest such threshold', () => {
    // float32(0.7) = 0.69999998 lies in bin 699, so t = 0.700 already leaves it out.
    expect(pickThreshold(h, 'dice')).toBeCloseTo(0.7, 9);
  });
  it('volume: the predicted volume closest to the true one (3 voxels: t in (0.85, 0.9] predicts 2, (0.8, 0.85] predicts 3)', () => {
    const t = pickThreshold(h, 'volume');
    expect(t).toBeGreaterThan(0.8);
    expect(t).toBeLessThanOrEqual(0.85);
  });
  it('fixed: 0.5', () => {
    expect(pickThreshold(h, 'fixed')).toBe(0.5);
  });
  it('calibrates the sigmoid channels of a head only, and reports volumes at 0.5 and calibrated', () => {
    const c = calibrate([[probs, probs]], [[gt, gt]], 'joint', ['whole', 'part'], true, 'volume');
    expect(c.structures.map((s) => s.tunable)).toEqual([true, false]);
    expect(c.structures[1].threshold).toBeNull();
    expect(c.thresholds[1]).toBe(0.5);
    expect(c.structures[0]).toMatchObject({ predictedAtHalf: 7, predicted: 3, truth: 3 });
    expect(volumeError(7, 3)).toBeCloseTo(4 / 3, 12);
    expect(volumeError(1, 0)).toBeNaN();
  });
});

describe('consistency of a sigmoid head (parts exclusive inside the whole, whole ⊇ parts)', () => {
  const m = (...v: number[]) => Uint8Array.from(v);
  const f = (...v: number[]) => Float32Array.from(v);
  it('keeps the most probable part where parts overlap, adds part voxels to the whole, leaves whole-only voxels', () => {
    const whole = m(1, 1, 0, 0, 1), a = m(1, 1, 1, 0, 0), b = m(0, 1, 0, 1, 0);
    const probs = [f(0.9, 0.9, 0.1, 0.1, 0.9), f(0.8, 0.6, 0.7, 0.1, 0.2), f(0.1, 0.7, 0.1, 0.8, 0.1)];
    const out = enforceConsistency([whole, a, b], probs);
    expect([...out[0]]).toEqual([1, 1, 1, 1, 1]);
    expect([...out[1]]).toEqual([1, 0, 1, 0, 0]);
    expect([...out[2]]).toEqual([0, 1, 0, 1, 0]);
    expect([...a]).toEqual([1, 1, 1, 0, 0]); // inputs untouched
  });
  it('is applied only where it raises mean validation Dice', () => {
    const gt = [m(1, 1, 1, 1, 0), m(1, 0, 1, 0, 0), m(0, 1, 0, 1, 0)];
    const pred = [m(1, 1, 0, 0, 0), m(1, 1, 1, 0, 0), m(0, 1, 0, 1, 0)];
    const probs = [f(0.9, 0.9, 0.1, 0.1, 0.1), f(0.8, 0.6, 0.7, 0.1, 0.1), f(0.1, 0.7, 0.1, 0.8, 0.1)];
    const d = decideConsistency([{ pred, gt, probs }]);
    expect(d.apply).toBe(true);
    expect(d.with).toBe(1);
    expect(decideConsistency([{ pred: gt, gt, probs }]).apply).toBe(false);
  });
});
