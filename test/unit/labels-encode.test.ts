import { describe, expect, it } from 'vitest';
import { partOverlaps, toClassMap, toJointTarget, toMultiHot } from '../../app/labels/encode.ts';
import { binaryMask, fromChannels, fromLabelMap, fromMasks } from '../../app/labels/labelset.ts';
import { validateLabelSchema } from '../../app/labels/schema.ts';
import { analyzeLabels } from '../../app/labels/analysis.ts';
import { OsteonError } from '../../app/util/errors.ts';
import { line, schemaOf, setOf } from '../fixtures/labels/tiny.ts';

function caught(f: () => unknown): OsteonError {
  try {
    f();
  } catch (e) {
    if (e instanceof OsteonError) return e;
    throw e;
  }
  throw new Error('expected an OsteonError');
}

describe('toClassMap (CrossEntropy target: 0 background, parts 1..K)', () => {
  const cases: [string, number[][], number[]][] = [
    // rows: a, b, c over 6 voxels → expected class per voxel
    ['disjoint parts', [[1, 1, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0], [0, 0, 0, 1, 1, 0]], [1, 1, 2, 3, 3, 0]],
    ['a part absent', [[0, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0], [1, 0, 0, 0, 0, 1]], [3, 2, 0, 0, 0, 3]],
    ['all background', [[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]], [0, 0, 0, 0, 0, 0]],
  ];
  it.each(cases)('%s', (_n, rows, want) => {
    const set = setOf(rows, ['a', 'b', 'c'], false);
    expect(Array.from(toClassMap(set))).toEqual(want);
  });

  it('ignores the whole and numbers parts in schema order', () => {
    const set = setOf([[1, 1, 1, 1], [0, 0, 1, 1], [1, 0, 0, 0]], ['a', 'b'], true);
    expect(Array.from(toClassMap(set))).toEqual([2, 0, 1, 1]);
  });

  it('refuses overlapping parts, naming them and the voxel count', () => {
    const set = setOf([[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 0, 1]], ['a', 'b', 'c'], false);
    const e = caught(() => toClassMap(set));
    expect(e.code).toBe('unsupported');
    // voxel 1 is in a and b; voxel 2 in a, b and c: 2 voxels hold more than one part.
    expect(e.message).toMatch(/parts overlap in 2 voxels/);
    expect(e.message).toContain('a ∩ b: 2');
    expect(e.message).toContain('a ∩ c: 1');
    expect(e.message).toContain('b ∩ c: 1');
    expect(e.message).toMatch(/multi-hot/);
    expect(partOverlaps(set)).toEqual([{ a: 'a', b: 'b', voxels: 2 }, { a: 'a', b: 'c', voxels: 1 }, { a: 'b', b: 'c', voxels: 1 }]);
  });
});

describe('toMultiHot (BCE target: channels-last [voxels, C], overlaps kept)', () => {
  const rows = [[1, 1, 1, 0], [1, 1, 0, 0], [0, 1, 1, 0]];
  it('lays out voxel-major, channel-minor, with overlaps and no background channel', () => {
    const set = setOf(rows, ['a', 'b'], true);
    expect(Array.from(toMultiHot(set))).toEqual([
      1, 1, 0, // voxel 0: w, a
      1, 1, 1, // voxel 1: w, a, b (a and b overlap)
      1, 0, 1, // voxel 2: w, b
      0, 0, 0, // voxel 3: background is all zero
    ]);
  });

  it('takes a channel subset in the order given', () => {
    const set = setOf(rows, ['a', 'b'], true);
    expect(Array.from(toMultiHot(set, ['b', 'w']))).toEqual([0, 1, 1, 1, 1, 1, 0, 0]);
    expect(() => toMultiHot(set, ['x'])).toThrow(/no structure "x"/);
  });

  it('is not one-hot: a voxel may have several ones, and background has none', () => {
    const set = setOf(rows, ['a', 'b'], true);
    const mh = toMultiHot(set);
    const perVoxel = [0, 1, 2, 3].map((v) => mh[v * 3] + mh[v * 3 + 1] + mh[v * 3 + 2]);
    expect(perVoxel).toEqual([2, 3, 2, 0]);
  });
});

describe('toJointTarget (binary whole + parts class map)', () => {
  it('returns the whole and the class map', () => {
    const set = setOf([[1, 1, 1, 1, 0], [1, 1, 0, 0, 0], [0, 0, 1, 0, 0]], ['a', 'b'], true);
    const t = toJointTarget(set);
    expect(Array.from(t.whole)).toEqual([1, 1, 1, 1, 0]);
    expect(Array.from(t.parts)).toEqual([1, 1, 2, 0, 0]);
    expect(t.whole).not.toBe(set.masks[0]);
  });

  it('needs a whole and disjoint parts', () => {
    expect(() => toJointTarget(setOf([[1, 0], [0, 1]], ['a', 'b'], false))).toThrow(/no structure with role "whole"/);
    expect(() => toJointTarget(setOf([[1, 1], [1, 0], [1, 0]], ['a', 'b'], true))).toThrow(/parts overlap in 1 voxel \(a ∩ b: 1\)/);
  });
});

describe('encodings and analysis do not mutate the label set', () => {
  it('leaves masks untouched', () => {
    const set = setOf([[1, 1, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]], ['a', 'b'], true);
    const before = set.masks.map((m) => Array.from(m));
    toClassMap(set);
    toMultiHot(set)[0] = 9;
    const j = toJointTarget(set);
    j.whole[0] = 7;
    j.parts[0] = 7;
    analyzeLabels(set);
    expect(set.masks.map((m) => Array.from(m))).toEqual(before);
  });
});

describe('building a LabelSet from sources', () => {
  it('label map: a structure is the set of voxels whose value it lists', () => {
    const schema = validateLabelSchema({
      schema: 'osteon-labels/1', name: 'tm', structures: [
        { id: 'w', name: 'W', colour: '#FFFFFF', role: 'whole', source: { kind: 'labelmap', values: [25, 26, 77] } },
        { id: 'a', name: 'A', colour: '#FF0000', role: 'part', source: { kind: 'labelmap', values: [77] } },
        { id: 'b', name: 'B', colour: '#00FF00', role: 'part', source: { kind: 'labelmap', values: [25] } },
      ],
    });
    const set = fromLabelMap(schema, line(6), Int16Array.from([0, 25, 26, 77, 300, -1]), 'seg.nii.gz');
    expect(set.masks.map((m) => Array.from(m))).toEqual([[0, 1, 1, 1, 0, 0], [0, 0, 0, 1, 0, 0], [0, 1, 0, 0, 0, 0]]);
    expect(() => fromLabelMap(schema, line(2), Float32Array.from([0, 2.5]), '/d/seg.nii.gz')).toThrow(/^\/d\/seg\.nii\.gz: data: value 2\.5 at voxel 1 is not an integer/);
  });

  it('masks: one binary file per structure; a non-binary mask is refused naming its file', () => {
    const schema = schemaOf(['a', 'b'], false);
    const set = fromMasks(schema, line(3), [Uint8Array.from([1, 0, 1]), Float32Array.from([1, 1, 0])], ['a.nii', 'b.nii']);
    expect(set.masks.map((m) => Array.from(m))).toEqual([[1, 0, 1], [1, 1, 0]]);
    const e = caught(() => fromMasks(schema, line(3), [Uint8Array.from([1, 0, 1]), Uint8Array.from([0, 255, 0])], ['/p/a.nii', '/p/b.nii']));
    expect(e.message).toBe('/p/b.nii: data: not a binary mask: value 255 at voxel 1; expected only 0 and 1');
    expect(e.file).toBe('/p/b.nii');
    expect(() => binaryMask(Float32Array.from([0, 0.5]), 'm.nii')).toThrow(/value 0\.5 at voxel 1/);
  });

  it('channels: channel c of a multi-channel volume (channel slowest)', () => {
    const schema = schemaOf(['a', 'b'], true, 'channel'); // w → channel 0, a → 1, b → 2
    const data = Uint8Array.from([1, 1, 0, /* ch1 */ 1, 0, 0, /* ch2 */ 0, 1, 1]);
    const set = fromChannels(schema, line(3), data, 3, 'multi.nii.gz');
    expect(set.masks.map((m) => Array.from(m))).toEqual([[1, 1, 0], [1, 0, 0], [0, 1, 1]]);
    expect(() => fromChannels(schema, line(3), data.subarray(0, 6), 2, 'multi.nii.gz')).toThrow(/reads channel 2, but the file has 2 channels/);
    const bad = data.slice();
    bad[7] = 2;
    expect(() => fromChannels(schema, line(3), bad, 3, 'multi.nii.gz')).toThrow(/^multi\.nii\.gz: channel 2: not a binary mask: value 2 at voxel 1/);
  });
});
