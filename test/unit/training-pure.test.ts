// The pure parts of the training workflow: threshold curves (app/metrics/thresholds.ts), config
// differences and the worst slice (app/services), and the renderer's sweep grid, time estimate,
// sorting, CSV and box-plot quartiles (renderer/src/training/lib).
import { describe, expect, it } from 'vitest';
import { thresholdCurve, thresholdGrid } from '../../app/metrics/thresholds.ts';
import { configDifferences } from '../../app/services/training-runs.ts';
import { worstSlice } from '../../app/learning/evaluate.ts';
import { estimateSeconds, formatDuration, parseFilters } from '../../renderer/src/training/lib/estimate.ts';
import { parseFactors, sigmoidChannels, sweepGrid } from '../../renderer/src/training/lib/sweep.ts';
import { fiveNumbers, sortRows, toCsv } from '../../renderer/src/training/lib/table.ts';
import { collapseCauses, lossCurves } from '../../renderer/src/training/lib/series.ts';
import { detectChannelCollapse } from '../../app/metrics/collapse.ts';

describe('thresholdCurve', () => {
  // Reference: numpy, p >= t against g, pooled:
  //   p=[0.1,0.4,0.35,0.8,0.9,0.55], g=[0,0,1,1,1,0] → t=0.3: P 0.6 R 1 D 0.75; t=0.5: 2/3 2/3 2/3; t=0.85: 1 1/3 0.5
  it('matches numpy precision, recall and Dice, pooled over two cases', () => {
    const c = thresholdCurve([[0.1, 0.4, 0.35], [0.8, 0.9, 0.55]], [[0, 0, 1], [1, 1, 0]], [0.3, 0.5, 0.85]);
    expect(c.precision).toEqual([0.6, 2 / 3, 1].map((x) => expect.closeTo(x, 12)));
    expect(c.recall).toEqual([1, 2 / 3, 1 / 3].map((x) => expect.closeTo(x, 12)));
    expect(c.dice).toEqual([0.75, 2 / 3, 0.5].map((x) => expect.closeTo(x, 12)));
    expect(c.best).toEqual({ threshold: 0.3, dice: 0.75 });
  });

  it('counts a probability exactly at the threshold as positive (p >= t)', () => {
    expect(thresholdCurve([[0.5]], [[1]], [0.5]).recall).toEqual([1]);
  });

  it('gives NaN where undefined: no positives → recall NaN; nothing predicted → precision NaN', () => {
    const c = thresholdCurve([[0.1, 0.2]], [[0, 0]], [0.5]);
    expect(c.recall[0]).toBeNaN();
    expect(c.precision[0]).toBeNaN();
    expect(c.dice[0]).toBeNaN();
    expect(c.best.dice).toBeNaN();
  });

  it('builds the default grid 0.05..0.95 and refuses mismatched inputs', () => {
    expect(thresholdGrid()).toHaveLength(19);
    expect(thresholdGrid()[0]).toBe(0.05);
    expect(() => thresholdCurve([[0.1]], [])).toThrow(RangeError);
    expect(() => thresholdCurve([[0.1, 0.2]], [[1]])).toThrow(RangeError);
  });
});

describe('configDifferences', () => {
  it('lists dotted keys whose values differ, skipping the case lists', () => {
    const a = { epochs: 2, head: { kind: 'joint', posWeight: 3 }, model: { filters: [4, 8] }, trainCases: ['a'] };
    const b = { epochs: 2, head: { kind: 'joint', posWeight: 6 }, model: { filters: [4, 8, 16] }, trainCases: ['b'] };
    expect(configDifferences([a, b])).toEqual([
      { key: 'head.posWeight', values: ['3', '6'] },
      { key: 'model.filters', values: ['[4,8]', '[4,8,16]'] },
    ]);
  });
  it('marks a key missing from one config', () => {
    expect(configDifferences([{ x: 1 }, {}])).toEqual([{ key: 'x', values: ['1', '—'] }]);
  });
});

describe('worstSlice', () => {
  it('finds the slice with the most disagreeing voxels along the axis', () => {
    // dims [2,1,3]: voxel v = i + 2k; slice k=2 has two wrong voxels, k=0 one.
    const pred = [1, 0, 0, 0, 1, 1], gt = [0, 0, 0, 0, 0, 0];
    expect(worstSlice(pred, gt, [2, 1, 3], 2)).toBe(2);
    expect(worstSlice(pred, gt, [2, 1, 3], 0)).toBe(0);
    expect(worstSlice(gt, gt, [2, 1, 3], 2)).toBeNull();
  });
});

describe('sweep grid', () => {
  it('gives pos_weight only to sigmoid channels', () => {
    const plan = { posWeightChannels: { sigmoid: [0, 1, 2, 3], joint: [0], softmax: [] } };
    expect(sigmoidChannels('sigmoid', plan)).toEqual([0, 1, 2, 3]);
    expect(sigmoidChannels('joint', plan)).toEqual([0]);
    expect(sigmoidChannels('softmax', plan)).toEqual([]);
  });
  it('scales every channel together, or crosses per-channel values', () => {
    expect(sweepGrid([3, 10], [0.5, 1, 2], 'scale-all')).toEqual([[1.5, 5], [3, 10], [6, 20]]);
    expect(sweepGrid([3, 10], [1, 2], 'grid')).toEqual([[3, 10], [3, 20], [6, 10], [6, 20]]);
    expect(() => sweepGrid([1, 1, 1, 1], [1, 2, 3], 'grid')).toThrow(/81 runs/);
    expect(() => sweepGrid([], [1], 'scale-all')).toThrow(/softmax/);
  });
  it('parses factor lists', () => {
    expect(parseFactors('0.25, 1 4')).toEqual([0.25, 1, 4]);
    expect(parseFactors('1, -2')).toBeNull();
    expect(parseFactors('')).toBeNull();
  });
});

describe('estimate', () => {
  it('is a startup plus steps × batch × Σ filters × the unit cost', () => {
    expect(estimateSeconds({ epochs: 2, stepsPerEpoch: 5, batchSize: 2, filters: [4, 8] }, 0.01)).toEqual({ seconds: 5 + 2.4, measured: true });
    expect(estimateSeconds({ epochs: 1, stepsPerEpoch: 1, batchSize: 1, filters: [1, 1] }, null).measured).toBe(false);
  });
  it('formats durations and parses filters', () => {
    expect([12, 75, 120, 4000].map(formatDuration)).toEqual(['12 s', '1 min 15 s', '2 min', '1 h 7 min']);
    expect(parseFilters('4, 8')).toEqual([4, 8]);
    expect(parseFilters('4')).toBeNull();
    expect(parseFilters('4, 8.5')).toBeNull();
  });
});

describe('table helpers', () => {
  it('sorts with nulls last in both directions, stably', () => {
    const rows = [{ id: 'a', v: 0.5 }, { id: 'b', v: null }, { id: 'c', v: 0.9 }, { id: 'd', v: 0.5 }];
    expect(sortRows(rows, (r) => r.v, 'desc').map((r) => r.id)).toEqual(['c', 'a', 'd', 'b']);
    expect(sortRows(rows, (r) => r.v, 'asc').map((r) => r.id)).toEqual(['a', 'd', 'c', 'b']);
    expect(rows[0].id).toBe('a');
  });
  it('writes RFC 4180 CSV', () => {
    expect(toCsv(['a', 'b'], [['x,y', null], [1, 'q"']])).toBe('a,b\n"x,y",\n1,"q"""\n');
  });
  it('computes quartiles as numpy does (linear)', () => {
    // numpy.quantile([3,1,4,1,5,9,2,6], [0,.25,.5,.75,1]) = [1, 1.75, 3.5, 5.25, 9]
    expect(fiveNumbers([3, 1, 4, 1, 5, 9, 2, 6, null])).toEqual({ min: 1, q1: 1.75, median: 3.5, q3: 5.25, max: 9, n: 8 });
    expect(fiveNumbers([null])).toBeNull();
  });
});

describe('collapse warning text', () => {
  it('reads what to check from a real finding, as it crosses the wire', () => {
    // Two target channels that do not overlap, predicted as the same mask: a collapse.
    const gt = [[1, 1, 0, 0, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0, 0, 0]];
    const pred = [[1, 1, 1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 0, 0, 0, 0]];
    const finding = JSON.parse(JSON.stringify(detectChannelCollapse([pred], [gt], { channelNames: ['a', 'b'] }))) as unknown;
    expect(collapseCauses(finding).length).toBeGreaterThan(0);
    expect(collapseCauses(finding)[0].text).toMatch(/\w/);
    expect(collapseCauses(null)).toEqual([]);
  });
});

describe('loss chart series', () => {
  it('gives train and validation curves per component, validation null where not validated', () => {
    const v = (loss: { total: number; ce: number; dice: number }) => ({ dice: [0.5], meanDice: 0.5, perCase: [], loss });
    const history = [
      { epoch: 1, loss: { total: 3, ce: 2, dice: 1 }, seconds: 1, samplesPerSec: 10 },
      { epoch: 2, loss: { total: 2, ce: 1.5, dice: 0.5 }, seconds: 1, samplesPerSec: 10, validation: v({ total: 2.5, ce: 1.8, dice: 0.7 }) },
    ];
    const curves = lossCurves(history);
    expect(curves.map((c) => c.label)).toEqual(['train total', 'train CE', 'train Dice loss', 'val total', 'val CE', 'val Dice loss']);
    expect(curves.find((c) => c.label === 'val CE')?.values).toEqual([null, 1.8]);
    expect(curves.find((c) => c.label === 'train total')?.values).toEqual([3, 2]);
    // A run recorded before validation loss existed: training curves only.
    expect(lossCurves(history.slice(0, 1)).every((c) => c.split === 'train')).toBe(true);
  });
});
