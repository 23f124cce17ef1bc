// Boundary Dice, hierarchy consistency, the channel-collapse detector and the loss-weight
// recommendations (app/metrics), on tiny grids whose values are worked out in the comments.
import { describe, expect, it } from 'vitest';
import type { Vec3 } from '../../app/imaging/volume.ts';
import { boundaryDice, boundaryDiceAll } from '../../app/metrics/boundary.ts';
import { detectChannelCollapse, pairwiseAgreement } from '../../app/metrics/collapse.ts';
import { hierarchyConsistency, hierarchyStats } from '../../app/metrics/hierarchy.ts';
import { caseReport } from '../../app/metrics/report.ts';
import { classWeights, labelCounts } from '../../app/metrics/weights.ts';
import { countChannels, posWeightRatio } from '../../app/labels/pos-weight.ts';

/** A 1D row of n voxels (dims [n,1,1]) with ones on [from, to]. */
const row = (n: number, from: number, to: number) => Uint8Array.from({ length: n }, (_, i) => (i >= from && i <= to ? 1 : 0));
const line = (n: number) => ({ dims: [n, 1, 1] as Vec3, spacing: [1, 1, 1] as Vec3 });

describe('boundary Dice', () => {
  // parts G_i = x 0..4 and G_j = x 5..9 touch between x=4 and x=5; r = 1 mm:
  // band = {v : d(v,G_i) ≤ 1 and d(v,G_j) ≤ 1} = {4, 5}
  const gi = row(10, 0, 4), gj = row(10, 5, 9);
  it('perfect prediction → 1 for both parts', () => {
    expect(boundaryDice([gi, gj], [gi, gj], line(10), 1)).toEqual({ parts: [0, 1], radiusMm: 1, bandVoxels: 2, dice: [1, 1] });
  });
  it('a split one voxel too far: part i gets {4,5} (Dice 2·1/(2+1)), part j none of {5} (0)', () => {
    const r = boundaryDice([row(10, 0, 5), row(10, 6, 9)], [gi, gj], line(10), 1);
    expect(r.bandVoxels).toBe(2);
    expect(r.dice[0]).toBeCloseTo(2 / 3, 15);
    expect(r.dice[1]).toBe(0);
  });
  it('the band scales with spacing: r = 2 mm at 0.5 mm voxels covers 4 voxels each side', () => {
    const r = boundaryDice([gi, gj], [gi, gj], { dims: [10, 1, 1], spacing: [0.5, 1, 1] }, 2);
    expect(r.bandVoxels).toBe(8); // x 1..4 are within 2 mm of x=5, x 5..8 within 2 mm of x=4
  });
  it('parts farther apart than 2r → empty band, NaN', () => {
    const r = boundaryDice([row(10, 0, 1), row(10, 8, 9)], [row(10, 0, 1), row(10, 8, 9)], line(10), 1);
    expect(r.bandVoxels).toBe(0);
    expect(r.dice.every(Number.isNaN)).toBe(true);
  });
  it('boundaryDiceAll lists only adjacent pairs', () => {
    const parts = [row(12, 0, 3), row(12, 4, 7), row(12, 8, 11)];
    expect(boundaryDiceAll(parts, parts, line(12), 1).map((b) => b.parts)).toEqual([[0, 1], [1, 2]]);
  });
  it('does not mutate its inputs', () => {
    const p = [row(10, 0, 5), row(10, 6, 9)] as [Uint8Array, Uint8Array];
    const copies = p.map((m) => m.slice());
    boundaryDice(p, [gi, gj], line(10), 1);
    expect(p).toEqual(copies);
  });
});

describe('hierarchy consistency', () => {
  it('counts voxels outside, uncovered and overlapping', () => {
    // whole x 0..5; parts x 0..2, 2..4, 7: union {0..4, 7} (6), whole∩union 5 → Dice 10/12;
    // part voxel 7 outside the whole, whole voxel 5 in no part, voxel 2 in two parts
    const s = hierarchyStats(row(10, 0, 5), [row(10, 0, 2), row(10, 2, 4), row(10, 7, 7)]);
    expect(s).toEqual({ wholeVsUnionDice: 10 / 12, wholeVoxels: 6, unionVoxels: 6, partsOutsideWhole: 1, wholeOutsideParts: 1, overlapVoxels: 1 });
  });
  it('reports prediction and ground truth separately; empty whole and parts → NaN', () => {
    const parts = [row(6, 0, 2), row(6, 3, 5)];
    const r = hierarchyConsistency({ whole: new Uint8Array(6), parts: [new Uint8Array(6), new Uint8Array(6)] }, { whole: row(6, 0, 5), parts });
    expect(r.pred.wholeVsUnionDice).toBeNaN();
    expect(r.gt).toMatchObject({ wholeVsUnionDice: 1, partsOutsideWhole: 0, wholeOutsideParts: 0, overlapVoxels: 0 });
  });
});

describe('channel-collapse detector', () => {
  // 12 voxels: whole = x 0..8, parts x 0..2, 3..5, 6..8 (target pairwise Dice: whole-part 0.5, part-part 0)
  const whole = row(12, 0, 8), parts = [row(12, 0, 2), row(12, 3, 5), row(12, 6, 8)];
  const target = [[whole, ...parts]];
  const names = ['whole', 'part 1', 'part 2', 'part 3'];

  it('target agreement of a whole and its three parts', () => {
    const pairs = pairwiseAgreement(target, target);
    expect(pairs.find((p) => p.a === 0 && p.b === 1)?.target).toBeCloseTo(0.5, 15); // 2·3/(9+3)
    expect(pairs.find((p) => p.a === 1 && p.b === 2)?.target).toBe(0);
  });

  it('all channels predicting the whole → a finding naming the channels and what to check', () => {
    const f = detectChannelCollapse([[whole, whole, whole, whole]], target, { channelNames: names, posWeight: [2, 3, 3, 0] });
    expect(f).not.toBeNull();
    expect(f?.channels).toEqual([0, 1, 2, 3]);
    expect(f?.pairs).toHaveLength(6);
    expect(f?.pairs.every((p) => p.pred === 1 && p.target <= 0.5)).toBe(true);
    expect(f?.message).toMatch(/whole, part 1, part 2, part 3/);
    expect(f?.likelyCauses.map((c) => c.id)).toEqual(['activation-before-bce', 'one-hot-targets', 'zero-pos-weight']);
    expect(f?.likelyCauses[2].evidence).toBe('this run has pos_weight 0 on part 3');
  });

  it('a healthy prediction (one voxel off per channel) → no finding', () => {
    const pred = [[row(12, 0, 9), row(12, 0, 3), row(12, 4, 5), row(12, 6, 8)]];
    expect(detectChannelCollapse(pred, target)).toBeNull();
  });

  it('pairs where both predictions are empty say nothing (not "full agreement")', () => {
    const z = new Uint8Array(12);
    expect(pairwiseAgreement([[whole, z, z, z]], target)).toHaveLength(3); // only the whole's pairs
    expect(detectChannelCollapse([[whole, z, z, z]], target)).toBeNull();
  });

  it('a soft collapse (every part ≈ the whole, pairs agree ~0.6, targets 0) is found', () => {
    // each part predicted as its own third plus most of the rest of the whole
    const pred = [[whole, row(12, 0, 6), row(12, 1, 7), row(12, 2, 8)]];
    const f = detectChannelCollapse(pred, target, { channels: [1, 2, 3] });
    expect(f?.channels).toEqual([1, 2, 3]);
    expect(Math.min(...f!.pairs.map((p) => p.pred))).toBeGreaterThan(0.5);
  });

  it('only the given (sigmoid) channels are compared', () => {
    expect(detectChannelCollapse([[whole, whole, whole, whole]], target, { channels: [0] })).toBeNull();
  });

  it('warns once a collapse is found twice in a row (or at the last validation), then counts; a clean validation ends the episode', async () => {
    const { CollapseMonitor } = await import('../../app/metrics/collapse.ts');
    const m = new CollapseMonitor();
    const f = detectChannelCollapse([[whole, whole, whole, whole]], target)!;
    expect([m.observe(f), m.observe(f), m.observe(f), m.observe(null), m.observe(f), m.observe(null), m.observe(f, true)]).toEqual([
      null, { episode: 1, count: 2, first: true }, { episode: 1, count: 3, first: false }, null, null, null, { episode: 2, count: 1, first: true },
    ]);
  });

  it('targets that really agree are not flagged', () => {
    const same = [[whole, whole]];
    expect(detectChannelCollapse(same, same)).toBeNull();
  });
});

describe('loss weights', () => {
  it('pos_weight = negatives/positives, Infinity without positives, 0 without negatives', () => {
    expect(posWeightRatio(4, 12)).toBe(3);
    expect(posWeightRatio(0, 12)).toBe(Infinity);
    expect(posWeightRatio(12, 0)).toBe(0);
    // two cases: channel 0 has 1+3 ones of 8 voxels → 4/4; channel 1 none → Infinity; channel 2 all → 0
    const cases = [
      [Uint8Array.of(1, 0, 0, 0), new Uint8Array(4), Uint8Array.of(1, 1, 1, 1)],
      [Uint8Array.of(1, 1, 0, 1), new Uint8Array(4), Uint8Array.of(1, 1, 1, 1)],
    ];
    const counts = countChannels(cases);
    expect(counts).toEqual([{ positives: 4, negatives: 4 }, { positives: 0, negatives: 8 }, { positives: 8, negatives: 0 }]);
    expect(counts.map((c) => posWeightRatio(c.positives, c.negatives))).toEqual([1, Infinity, 0]);
  });
  it('class weights: inverse frequency, mean 1 over present classes, 0 for absent ones', () => {
    // counts 10, 30, 0, 60: 1/n = 0.1, 0.0333, -, 0.01667 (sum 0.15) → ×3/0.15 = 2, 2/3, 0, 1/3
    const w = classWeights([10, 30, 0, 60]);
    [2, 2 / 3, 0, 1 / 3].forEach((v, i) => expect(w[i]).toBeCloseTo(v, 14));
    const sq = classWeights([1, 4], 0.5); // 1, 0.5 → ×2/1.5
    expect(sq[0]).toBeCloseTo(4 / 3, 14);
    expect(sq[1]).toBeCloseTo(2 / 3, 14);
  });
  it('label counts reject labels outside the range', () => {
    expect(labelCounts([Uint8Array.of(0, 1, 1, 3)], 4)).toEqual([1, 2, 0, 1]);
    expect(() => labelCounts([Uint8Array.of(0, 4)], 4)).toThrow(/label 4 outside 0..3/);
  });
});

describe('case report (whole + parts)', () => {
  const whole = row(12, 0, 8), parts = [row(12, 0, 2), row(12, 3, 5), row(12, 6, 8)];
  it('gathers channel metrics, boundary Dice, hierarchy and collapse', () => {
    // the prediction moves the first cut one voxel right: part 1 x 0..3, part 2 x 4..5
    const predParts = [row(12, 0, 3), row(12, 4, 5), row(12, 6, 8)];
    const r = caseReport({ whole, parts: predParts }, { whole, parts }, line(12), { boundaryRadiusMm: 1 });
    expect(r.channelNames).toEqual(['whole', 'part 1', 'part 2', 'part 3']);
    expect(r.channels.map((c) => c.dice)).toEqual([1, 2 * 3 / 7, 2 * 2 / 5, 1]);
    expect(r.channels[0].nsd).toEqual([1, 1]);
    // band between parts 1 and 2 = {2, 3}: part 1 pred {2,3} vs gt {2} → 2/3; part 2 pred {} vs gt {3} → 0
    expect(r.boundary.map((b) => b.parts)).toEqual([[1, 2], [2, 3]]);
    expect(r.boundary[0].dice[0]).toBeCloseTo(2 / 3, 15);
    expect(r.boundary[0].dice[1]).toBe(0);
    expect(r.boundary[1].dice).toEqual([1, 1]);
    expect(r.hierarchy.pred).toMatchObject({ wholeVsUnionDice: 1, overlapVoxels: 0 });
    expect(r.collapse).toBeNull();
  });
  it('flags a collapsed prediction', () => {
    const r = caseReport({ whole, parts: [whole, whole, whole] }, { whole, parts }, line(12));
    expect(r.collapse?.channels).toEqual([0, 1, 2, 3]);
    expect(r.hierarchy.pred.overlapVoxels).toBe(9);
  });
});
