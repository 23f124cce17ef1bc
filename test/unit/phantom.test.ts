import { describe, expect, it } from 'vitest';
import { analyzeLabels } from '../../app/labels/analysis.ts';
import { fromLabelMap } from '../../app/labels/labelset.ts';
import type { PhantomOptions } from '../../app/phantom/generate.ts';
import { HU, LABEL, generatePhantom } from '../../app/phantom/generate.ts';
import { caseSeed, mulberry32 } from '../../app/phantom/prng.ts';
import { PHANTOM_SCHEMA } from '../../app/phantom/schema.ts';

function sameBytes(x: ArrayBufferView, y: ArrayBufferView): boolean {
  return Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength));
}

// Small grid: the default anatomy scales with the field of view (here 40 × 1.6 = 64 mm).
const small: PhantomOptions = { dims: [40, 40, 28], spacing: 1.6, noiseHu: 25 };

describe('mulberry32', () => {
  it('matches an independent Python port', () => {
    // Python reference (uint32 arithmetic, `imul(a, b) = (a * b) & 0xffffffff`), seed 42:
    // [0.6011037519201636, 0.44829055899754167, 0.8524657934904099, 0.6697340414393693]
    const r = mulberry32(42);
    expect([r.next(), r.next(), r.next(), r.next()]).toEqual([0.6011037519201636, 0.44829055899754167, 0.8524657934904099, 0.6697340414393693]);
  });

  it('gives standard normals (mean ≈ 0, sd ≈ 1 over 20000 draws)', () => {
    const r = mulberry32(3);
    let s = 0, s2 = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const x = r.normal();
      s += x;
      s2 += x * x;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.03);
    expect(Math.abs(Math.sqrt(s2 / n - (s / n) ** 2) - 1)).toBeLessThan(0.03);
  });

  it('derives distinct per-case seeds', () => {
    const seeds = new Set(Array.from({ length: 100 }, (_, i) => caseSeed(7, i)));
    expect(seeds.size).toBe(100);
    expect(caseSeed(7, 0)).not.toBe(caseSeed(8, 0));
  });
});

describe('generatePhantom', () => {
  const a = generatePhantom(11, small);

  it('is deterministic per seed and varies between seeds', () => {
    const again = generatePhantom(11, small);
    expect(sameBytes(again.ct.data, a.ct.data)).toBe(true);
    expect(sameBytes(again.labels.data, a.labels.data)).toBe(true);
    expect(again.pose).toEqual(a.pose);
    const other = generatePhantom(12, small);
    expect(other.pose).not.toEqual(a.pose);
    expect(sameBytes(other.labels.data, a.labels.data)).toBe(false);
  });

  it('has the stated grid and dtypes', () => {
    expect(a.ct.dims).toEqual([40, 40, 28]);
    expect(a.ct.spacing).toEqual([1.6, 1.6, 1.6]);
    expect(a.ct.data).toBeInstanceOf(Int16Array);
    expect(a.labels.data).toBeInstanceOf(Uint8Array);
    expect(new Set(a.labels.data)).toEqual(new Set([0, LABEL.left, LABEL.centre, LABEL.right, LABEL.rim]));
  });

  it('makes three touching parts and a rim, so the whole differs from the union: joint', () => {
    const set = fromLabelMap(PHANTOM_SCHEMA, a.labels, a.labels.data, 'labels');
    const an = analyzeLabels(set);
    expect(an.partsDisjoint).toBe(true);
    expect(an.wholeVsUnion?.wholeNotUnion).toBe(a.counts.rim);
    expect(an.wholeVsUnion?.unionNotWhole).toBe(0);
    expect(a.counts.rim).toBeGreaterThan(0);
    expect(a.counts.rim).toBeLessThan(0.2 * (a.counts.left + a.counts.centre + a.counts.right));
    expect(an.recommendation.formulation).toBe('joint');
    // Touching: left–centre and centre–right share faces; left and right do not.
    const [nx, ny] = a.labels.dims;
    const d = a.labels.data;
    const touch = new Set<string>();
    for (let v = 0; v < d.length; v++) {
      for (const st of [1, nx, nx * ny]) {
        const w = v + st;
        if (w < d.length && d[v] && d[w] && d[v] !== d[w] && d[v] !== LABEL.rim && d[w] !== LABEL.rim) touch.add([d[v], d[w]].sort().join('-'));
      }
    }
    expect([...touch].sort()).toEqual(['1-2', '2-3']);
  });

  it('puts the left arm on patient left (+x in LPS)', () => {
    const [nx] = a.labels.dims;
    const meanI = (lab: number) => {
      let s = 0, c = 0;
      a.labels.data.forEach((x, v) => { if (x === lab) { s += v % nx; c++; } });
      return s / c;
    };
    expect(meanI(LABEL.left)).toBeGreaterThan(meanI(LABEL.right));
  });

  it('has CT-like intensities: air, soft tissue, bone', () => {
    const ct = a.ct.data, lab = a.labels.data;
    const [nx, ny, nz] = a.ct.dims;
    const mean = (pick: (v: number) => boolean) => {
      let s = 0, c = 0;
      for (let v = 0; v < ct.length; v++) if (pick(v)) { s += ct[v]; c++; }
      return s / c;
    };
    // Corner voxels are air; the body centre (inside the horseshoe's opening) is soft tissue.
    expect(mean((v) => v % nx < 3 && Math.floor(v / nx) % ny < 3)).toBeLessThan(HU.air + 60);
    const c = (nx >> 1) + nx * ((ny >> 1) + ny * (nz >> 1));
    expect(Math.abs(mean((v) => Math.abs(v - c) <= 1) - HU.soft)).toBeLessThan(60);
    const bone = mean((v) => lab[v] > 0);
    expect(bone).toBeGreaterThan(HU.trabecular);
    expect(bone).toBeLessThan(HU.cortical);
    let max = -Infinity;
    for (const x of ct) max = Math.max(max, x);
    expect(max).toBeGreaterThan(900);
  });
});
