// pos_weight's one home (app/labels/pos-weight.ts): estimate, rules, shape per head.
import { describe, expect, it } from 'vitest';
import {
  countChannels, countMultiHot, headPosWeight, posWeightByRule, posWeightForHead, posWeightFromRule, posWeightRatio, sigmoidChannels,
} from '../../app/labels/pos-weight.ts';

describe('pos_weight', () => {
  it('ratio = negatives/positives; Infinity without positives, 0 without negatives', () => {
    expect(posWeightRatio(4, 12)).toBe(3);
    expect(posWeightRatio(0, 5)).toBe(Infinity);
    expect(posWeightRatio(5, 0)).toBe(0);
  });

  it('counts pooled over cases equal the counts of an interleaved multi-hot buffer', () => {
    const a = [Uint8Array.of(1, 0, 0, 0), Uint8Array.of(1, 1, 0, 0)];
    const b = [Uint8Array.of(1, 1, 1, 0), Uint8Array.of(0, 0, 0, 0)];
    const pooled = countChannels([a, b]);
    expect(pooled).toEqual([{ positives: 4, negatives: 4 }, { positives: 2, negatives: 6 }]);
    // the same voxels interleaved [v, S]
    const mh = [...a[0]].flatMap((x, v) => [x, a[1][v]]).concat([...b[0]].flatMap((x, v) => [x, b[1][v]]));
    expect(countMultiHot(mh, 2)).toEqual(pooled);
  });

  it('rules: one, sqrt and ratio (rounded to 2 decimals), 1 for a channel without positives', () => {
    const c = { positives: 10, negatives: 990 }; // ratio 99
    expect(posWeightByRule(c, 'one')).toBe(1);
    expect(posWeightByRule(c, 'sqrt')).toBe(9.95);
    expect(posWeightByRule(c, 'ratio')).toBe(99);
    expect(posWeightByRule({ positives: 0, negatives: 9 }, 'ratio')).toBe(1);
  });

  it('shape per head: every structure for sigmoid, the whole for joint, none for softmax', () => {
    expect(sigmoidChannels('sigmoid', 4, true)).toEqual([0, 1, 2, 3]);
    expect(sigmoidChannels('joint', 4, true)).toEqual([0]);
    expect(sigmoidChannels('joint', 3, false)).toEqual([]);
    expect(sigmoidChannels('softmax', 4, true)).toEqual([]);
    expect(posWeightForHead('joint', [39.7, 104, 105, 234], 4, true)).toEqual([39.7]);
    expect(posWeightForHead('joint', [7], 4, true)).toEqual([7]);
    expect(posWeightForHead('sigmoid', [1, 2, 3, 4], 4, true)).toEqual([1, 2, 3, 4]);
    expect(() => posWeightForHead('sigmoid', [1, 2], 4, true)).toThrow(/2 values; the sigmoid head takes 4/);
    const counts = [{ positives: 1, negatives: 3 }, { positives: 1, negatives: 8 }];
    expect(posWeightFromRule('joint', counts, 'ratio', true)).toEqual([3]);
    expect(posWeightFromRule('sigmoid', counts, 'sqrt', true)).toEqual([1.73, 2.83]);
    expect(headPosWeight({ kind: 'joint', posWeight: 5 })).toEqual([5]);
    expect(headPosWeight({ kind: 'sigmoid', channels: 2, posWeight: null })).toEqual([1, 1]);
    expect(headPosWeight({ kind: 'softmax' })).toEqual([]);
  });
});
