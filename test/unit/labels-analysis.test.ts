import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Formulation } from '../../app/labels/analysis.ts';
import { WEIGHTING_NOTE, analyzeLabels, posWeights, wholeVsUnion } from '../../app/labels/analysis.ts';
import { makeLabelSet } from '../../app/labels/labelset.ts';
import { fixtures } from '../helpers/env.ts';
import { line, schemaOf, setOf } from '../fixtures/labels/tiny.ts';

describe('analyzeLabels', () => {
  // Rows: whole first, then parts a, b over 8 voxels.
  const rows = [
    [1, 1, 1, 1, 1, 0, 0, 0],
    [1, 1, 0, 0, 0, 0, 0, 0],
    [0, 0, 1, 1, 0, 0, 0, 1],
  ];

  it('counts voxels, the overlap matrix and whole vs union', () => {
    const a = analyzeLabels(setOf(rows, ['a', 'b'], true));
    expect(a.structures.map((s) => [s.id, s.role, s.classId, s.voxels])).toEqual([['w', 'whole', null, 5], ['a', 'part', 1, 2], ['b', 'part', 2, 3]]);
    expect(a.overlap).toEqual({ ids: ['w', 'a', 'b'], voxels: [[5, 2, 2], [2, 2, 0], [2, 0, 3]] });
    // union = voxels {0,1,2,3,7} (5); whole ∩ union = {0,1,2,3} (4); Dice = 2·4 / (5 + 5).
    expect(a.wholeVsUnion).toEqual({ whole: 'w', wholeVoxels: 5, unionVoxels: 5, intersection: 4, dice: 0.8, wholeNotUnion: 1, unionNotWhole: 1, equal: false });
    expect(a.structures[0].volumeMl).toBeCloseTo(5 / 1000, 12);
    expect(a.warnings).toEqual([]);
  });

  const recs: [string, number[][], string[], boolean, Formulation, RegExp][] = [
    ['disjoint parts, whole == union', [[1, 1, 1, 0], [1, 0, 0, 0], [0, 1, 1, 0]], ['a', 'b'], true, 'softmax', /whole equals their union \(3 voxels\)/],
    ['disjoint parts, no whole', [[1, 0, 0, 0], [0, 1, 1, 0]], ['a', 'b'], false, 'softmax', /no whole/],
    ['disjoint parts, whole has a rim', [[1, 1, 1, 1], [1, 0, 0, 0], [0, 1, 1, 0]], ['a', 'b'], true, 'joint', /1 voxels of the whole are in no part, 0 part voxels are outside the whole/],
    ['disjoint parts, a part leaks out of the whole', [[1, 1, 0, 0], [1, 0, 0, 0], [0, 1, 1, 0]], ['a', 'b'], true, 'joint', /0 voxels of the whole are in no part, 1 part voxels/],
    ['overlapping parts', [[1, 1, 1, 0], [1, 1, 0, 0], [0, 1, 1, 0]], ['a', 'b'], true, 'sigmoid', /a ∩ b = 1 voxels/],
    ['overlapping parts, no whole', [[1, 1, 0, 0], [0, 1, 1, 0]], ['a', 'b'], false, 'sigmoid', /multi-hot/],
  ];
  it.each(recs)('recommends per case: %s', (_n, r, parts, whole, formulation, reason) => {
    const a = analyzeLabels(setOf(r, parts, whole));
    expect(a.recommendation.formulation).toBe(formulation);
    expect(a.recommendation.reason).toMatch(reason);
    expect(a.partsDisjoint).toBe(formulation !== 'sigmoid');
    expect(a.classWeights === null).toBe(formulation === 'sigmoid');
  });

  it('CE class weights: median-frequency balancing over background + parts', () => {
    // 10 voxels: a = 3, b = 1, background = 6 → f = [0.6, 0.3, 0.1], median 0.3,
    // w = 0.3 / f = [0.5, 1, 3] (by hand; numpy: np.median(f) / f).
    const a = analyzeLabels(setOf([[1, 1, 1, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]], ['a', 'b'], false));
    const cw = a.classWeights;
    expect(cw?.method).toBe('median-frequency');
    expect(cw?.classes.map((c) => [c.id, c.voxels])).toEqual([['background', 6], ['a', 3], ['b', 1]]);
    cw?.classes.forEach((c, i) => expect(c.weight).toBeCloseTo([0.5, 1, 3][i], 12));
  });

  it('CE class weights: an absent class gets 0, even class counts use the middle pair', () => {
    // 8 voxels: a = 2, b = 0, c = 2, background = 4 → present f = [0.25, 0.25, 0.5], median 0.25.
    const a = analyzeLabels(setOf([[1, 1, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0, 0, 0]], ['a', 'b', 'c'], false));
    expect(a.classWeights?.classes.map((c) => c.weight)).toEqual([0.5, 1, 0, 1]);
    expect(a.warnings).toEqual(['structure "b" is empty (0 voxels)']);
  });

  it('empty cases: Dice NaN when whole and union are both empty, pos_weight Infinity without positives', () => {
    const set = setOf([[0, 0, 0], [0, 0, 0], [0, 0, 0]], ['a', 'b'], true);
    const wu = wholeVsUnion(set);
    expect(wu?.dice).toBeNaN();
    expect(wu?.equal).toBe(true);
    expect(posWeights(set).map((c) => c.posWeight)).toEqual([Infinity, Infinity, Infinity]);
    const full = setOf([[1, 1], [1, 1]], ['a'], true);
    expect(posWeights(full).map((c) => c.posWeight)).toEqual([0, 0]);
  });
});

describe('BCE pos_weight = negatives / positives per channel', () => {
  it('forum-thread example: counts [2, 6, 5] are not the weights', () => {
    // The three 3×3 multi-hot channels from the PyTorch-forum thread (docs: seed/forum-thread).
    // Their foreground counts [2, 6, 5] were proposed as weights; the right pos_weight is
    // negatives/positives = [7/2, 3/6, 4/5]: the rarest channel weighs most, not least.
    const ch = [
      [1, 0, 0, 1, 0, 0, 0, 0, 0],
      [0, 1, 1, 0, 1, 0, 1, 1, 1],
      [0, 0, 1, 0, 1, 1, 1, 0, 1],
    ];
    const pw = posWeights(setOf(ch, ['c0', 'c1', 'c2'], false));
    expect(pw.map((c) => c.positives)).toEqual([2, 6, 5]);
    expect(pw.map((c) => c.posWeight)).toEqual([3.5, 0.5, 0.8]);
    expect(WEIGHTING_NOTE).toMatch(/negatives\/positives/);
  });

  interface OracleTensor { shape: number[]; data: number[] }
  interface OracleCase { id: string; inputs: { masks: OracleTensor }; expected: { pos_weight: { data: (number | string)[] } } }
  const oracle = JSON.parse(readFileSync(join(fixtures, 'labels', 'oracle-pos-weight.json'), 'utf8')) as { cases: OracleCase[] };

  it.each(oracle.cases.map((c) => [c.id, c] as const))('matches the PyTorch oracle: %s', (_id, c) => {
    // masks [N, ..., C] channels-last; every sample and position is one voxel of the set.
    const { shape, data } = c.inputs.masks;
    const C = shape[shape.length - 1];
    const n = data.length / C;
    const ids = Array.from({ length: C }, (_, i) => `c${i}`);
    const masks = ids.map((_, ch) => Uint8Array.from({ length: n }, (_, v) => data[v * C + ch]));
    const got = posWeights(makeLabelSet(schemaOf(ids, false), line(n), masks)).map((w) => w.posWeight);
    const want = c.expected.pos_weight.data.map((x) => (x === 'Infinity' ? Infinity : Number(x)));
    got.forEach((g, i) => (Number.isFinite(want[i]) ? expect(g).toBeCloseTo(want[i], 12) : expect(g).toBe(want[i])));
  });
});
