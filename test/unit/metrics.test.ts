// Dice, EDT and surface distances (app/metrics) on tiny grids. Expected values are worked out by
// hand in the comments, or come from brute force over all voxel pairs (the definition itself).
// Layout: x fastest, offset = x + nx·(y + ny·z); spacing [sx, sy, sz] in mm.
import { describe, expect, it } from 'vitest';
import type { Vec3 } from '../../app/imaging/volume.ts';
import { dice, nanMean } from '../../app/metrics/dice.ts';
import { distanceToFeatures, squaredDistanceToFeatures } from '../../app/shared/edt.ts';
import { evaluateCase, summarize } from '../../app/metrics/evaluate.ts';
import { boundingBox } from '../../app/metrics/grid.ts';
import { percentileSorted, surfaceMetrics, surfaceOf } from '../../app/metrics/surface.ts';

/** Deterministic pseudo-random numbers (mulberry32), so failures reproduce. */
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

function mask(dims: Vec3, on: Array<[number, number, number]>): Uint8Array {
  const m = new Uint8Array(dims[0] * dims[1] * dims[2]);
  for (const [x, y, z] of on) m[x + dims[0] * (y + dims[1] * z)] = 1;
  return m;
}

function randomMask(dims: Vec3, p: number, r: () => number): Uint8Array {
  return Uint8Array.from({ length: dims[0] * dims[1] * dims[2] }, () => (r() < p ? 1 : 0));
}

/** Brute-force squared distance from every voxel to the nearest feature: the definition. */
function bruteSquared(f: Uint8Array, dims: Vec3, s: Vec3): Float64Array {
  const [nx, ny, nz] = dims;
  const feats: Vec3[] = [];
  for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) if (f[x + nx * (y + ny * z)]) feats.push([x, y, z]);
  const out = new Float64Array(f.length).fill(Infinity);
  for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) {
    let best = Infinity;
    for (const [a, b, c] of feats) best = Math.min(best, (s[0] * (x - a)) ** 2 + (s[1] * (y - b)) ** 2 + (s[2] * (z - c)) ** 2);
    out[x + nx * (y + ny * z)] = best;
  }
  return out;
}

describe('dice', () => {
  // pred {0,1,2}, gt {1,2,3}: 2·2/(3+3)
  it.each([
    ['overlap', [1, 1, 1, 0], [0, 1, 1, 1], 2 / 3],
    ['identical', [0, 1, 0, 1], [0, 1, 0, 1], 1],
    ['pred empty', [0, 0, 0, 0], [0, 1, 0, 0], 0],
    ['gt empty', [1, 0, 0, 0], [0, 0, 0, 0], 0],
    ['both empty → NaN', [0, 0, 0, 0], [0, 0, 0, 0], NaN],
    ['non-zero values count as foreground', [255, 7, 0, 0], [1, 0, 0, 0], 2 / 3],
  ])('%s', (_name, p, g, want) => {
    const r = dice(Uint8Array.from(p), Uint8Array.from(g));
    if (Number.isNaN(want)) expect(r.dice).toBeNaN();
    else expect(r.dice).toBeCloseTo(want, 15);
  });

  it('the word-at-a-time path equals the plain loop on random masks', () => {
    const r = rng(7);
    for (let t = 0; t < 20; t++) {
      const n = 4 * (1 + Math.floor(r() * 50));
      const a = randomMask([n, 1, 1], r(), r), b = randomMask([n, 1, 1], r(), r);
      if (t % 3 === 0) a[0] = 9; // a non-0/1 value forces the per-voxel fallback for that word
      const fast = dice(a, b), slow = dice(Array.from(a), Array.from(b));
      expect(fast).toEqual(slow);
    }
  });

  it('nanMean skips NaN and counts it', () => {
    expect(nanMean([0.5, NaN, 1])).toEqual({ mean: 0.75, count: 2, nanCount: 1 });
    const none = nanMean([NaN, NaN]);
    expect(none.mean).toBeNaN();
    expect(none.nanCount).toBe(2);
  });
});

describe('exact EDT', () => {
  it('equals brute force exactly with integer spacing', () => {
    const r = rng(1);
    for (let t = 0; t < 12; t++) {
      const dims: Vec3 = [1 + Math.floor(r() * 9), 1 + Math.floor(r() * 7), 1 + Math.floor(r() * 6)];
      const s: Vec3 = [1 + Math.floor(r() * 3), 1 + Math.floor(r() * 3), 1 + Math.floor(r() * 3)];
      const f = randomMask(dims, [0.02, 0.1, 0.4][t % 3], r);
      expect(Array.from(squaredDistanceToFeatures(f, dims, s))).toEqual(Array.from(bruteSquared(f, dims, s)));
    }
  });

  it('agrees with brute force to rounding on random anisotropic volumes', () => {
    const r = rng(2);
    for (let t = 0; t < 12; t++) {
      const dims: Vec3 = [2 + Math.floor(r() * 9), 2 + Math.floor(r() * 8), 2 + Math.floor(r() * 7)];
      const s: Vec3 = [0.3 + 2 * r(), 0.3 + 2 * r(), 0.3 + 3 * r()];
      const f = randomMask(dims, 0.05 + 0.2 * r(), r);
      const got = squaredDistanceToFeatures(f, dims, s), want = bruteSquared(f, dims, s);
      for (let i = 0; i < got.length; i++) {
        if (want[i] === Infinity) expect(got[i]).toBe(Infinity);
        else expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(1e-12 * Math.max(1, want[i]));
      }
    }
  });

  it('no feature → Infinity everywhere; one feature → its distance', () => {
    expect(Array.from(squaredDistanceToFeatures(new Uint8Array(6), [3, 2, 1], [1, 1, 1]))).toEqual(new Array(6).fill(Infinity));
    // feature at (0,0,0), spacing 0.5 × 2 × 3: voxel (2,1,1) is at sqrt(1² + 2² + 3²)
    const d = distanceToFeatures(mask([3, 2, 2], [[0, 0, 0]]), [3, 2, 2], [0.5, 2, 3]);
    expect(d[2 + 3 * (1 + 2 * 1)]).toBeCloseTo(Math.sqrt(14), 14);
  });

  it('does not mutate its input', () => {
    const f = randomMask([6, 5, 4], 0.2, rng(3));
    const copy = f.slice();
    squaredDistanceToFeatures(f, [6, 5, 4], [0.7, 1, 2]);
    expect(f).toEqual(copy);
  });
});

describe('surface and distances', () => {
  it('surface = mask voxels with a face neighbour outside; the volume edge counts as outside', () => {
    // a full 3×3×3 volume: only the centre voxel has all 6 neighbours inside
    const full = new Uint8Array(27).fill(1);
    const s = surfaceOf(full, [3, 3, 3]);
    expect(s.reduce((a, b) => a + b, 0)).toBe(26);
    expect(s[13]).toBe(0);
    // a 1×1×1 volume with its voxel set is all surface
    expect(Array.from(surfaceOf(Uint8Array.of(1), [1, 1, 1]))).toEqual([1]);
    // a plate one voxel thick inside a 3D volume is all surface, though its crop has nz = 1
    const dims: Vec3 = [4, 4, 3];
    const plate = mask(dims, [0, 1, 2, 3].flatMap((x) => [0, 1, 2, 3].map((y) => [x, y, 1] as [number, number, number])));
    const r = surfaceMetrics(plate, plate, { dims, spacing: [1, 1, 1] });
    expect(r.surfaceVoxels).toEqual([16, 16]);
  });

  it('numpy linear percentile', () => {
    // numpy.percentile([1,2,3,4], 95) = 3.85; ([5], 95) = 5; 0 → min, 100 → max
    expect(percentileSorted([1, 2, 3, 4], 95)).toBeCloseTo(3.85, 14);
    expect(percentileSorted([5], 95)).toBe(5);
    expect(percentileSorted([1, 2, 9], 0)).toBe(1);
    expect(percentileSorted([1, 2, 9], 100)).toBe(9);
  });

  it('two single voxels 3 voxels apart along x at 2 mm → 6 mm everywhere', () => {
    const dims: Vec3 = [5, 2, 2];
    const r = surfaceMetrics(mask(dims, [[0, 1, 1]]), mask(dims, [[3, 1, 1]]), { dims, spacing: [2, 1, 1] }, { nsdToleranceMm: [5.9, 6] });
    expect(r).toEqual({ hd95: 6, hd: 6, msd: 6, nsd: [0, 1], surfaceVoxels: [1, 1] });
  });

  it('a slab against a shifted slab: hand-computed HD95, MSD and NSD', () => {
    // 6×1×2 volume, spacing 1; pred x 0..3, gt x 1..4 on both rows z = 0, 1: every voxel is
    // surface (z has length 2, so each voxel has a neighbour outside the volume).
    // d(pred→gt) = [1,0,0,0] per row, d(gt→pred) = [0,0,0,1]; P95 of [0,0,0,0,0,0,1,1] = 1;
    // msd = 4/16; nsd(0.5) = 12/16
    const dims: Vec3 = [6, 1, 2];
    const bar = (from: number) => mask(dims, [0, 1, 2, 3].flatMap((i) => [[from + i, 0, 0], [from + i, 0, 1]] as Array<[number, number, number]>));
    const r = surfaceMetrics(bar(0), bar(1), { dims, spacing: [1, 1, 1] }, { nsdToleranceMm: [0.5] });
    expect(r.hd95).toBe(1);
    expect(r.hd).toBe(1);
    expect(r.msd).toBeCloseTo(0.25, 15);
    expect(r.nsd).toEqual([0.75]);
    expect(r.surfaceVoxels).toEqual([8, 8]);
  });

  it('a [nx, ny, 1] grid is 2D: the in-plane interior is not surface', () => {
    // a 3×3 square in a 5×5 image: 8 surface pixels, the centre is interior
    const dims: Vec3 = [5, 5, 1];
    const sq = mask(dims, [1, 2, 3].flatMap((x) => [1, 2, 3].map((y) => [x, y, 0] as [number, number, number])));
    const s = surfaceOf(sq, dims);
    expect(s.reduce((a, b) => a + b, 0)).toBe(8);
    expect(s[2 + 5 * 2]).toBe(0);
    // a bar x 0..3 in a [6,1,1] row has two ends: d = 1 everywhere against x 1..4
    const row: Vec3 = [6, 1, 1];
    const r = surfaceMetrics(mask(row, [[0, 0, 0], [1, 0, 0], [2, 0, 0], [3, 0, 0]]), mask(row, [[1, 0, 0], [2, 0, 0], [3, 0, 0], [4, 0, 0]]), { dims: row, spacing: [1, 1, 1] });
    expect(r).toMatchObject({ hd95: 1, msd: 1, surfaceVoxels: [2, 2] });
    // flatAxes 'outside' (the oracle's literal rule): every voxel is surface, d = [1,0,0,0] both ways
    const lit = surfaceMetrics(mask(row, [[0, 0, 0], [1, 0, 0], [2, 0, 0], [3, 0, 0]]), mask(row, [[1, 0, 0], [2, 0, 0], [3, 0, 0], [4, 0, 0]]), { dims: row, spacing: [1, 1, 1] }, { flatAxes: 'outside' });
    expect(lit).toMatchObject({ hd: 1, msd: 0.25, surfaceVoxels: [4, 4] });
  });

  it('empty rules: both empty → NaN; one empty → Infinity and NSD 0', () => {
    const dims: Vec3 = [4, 3, 2];
    const grid = { dims, spacing: [1, 1, 1] as Vec3 };
    const z = new Uint8Array(24), one = mask(dims, [[1, 1, 1]]);
    const both = surfaceMetrics(z, z, grid, { nsdToleranceMm: [1] });
    expect([both.hd95, both.hd, both.msd, both.nsd[0]].every(Number.isNaN)).toBe(true);
    for (const [a, b] of [[z, one], [one, z]]) {
      const r = surfaceMetrics(a, b, grid, { nsdToleranceMm: [1] });
      expect([r.hd95, r.hd, r.msd]).toEqual([Infinity, Infinity, Infinity]);
      expect(r.nsd).toEqual([0]);
    }
  });

  it('surface distances equal brute force over surface voxels on random blobs', () => {
    const r = rng(5);
    const dims: Vec3 = [9, 7, 6], spacing: Vec3 = [0.8, 1.1, 2.5];
    for (let t = 0; t < 6; t++) {
      const a = randomMask(dims, 0.5, r), b = randomMask(dims, 0.5, r);
      const got = surfaceMetrics(a, b, { dims, spacing });
      // brute force: every surface voxel of A to every surface voxel of B (sqrt of summed squares)
      const sa = surfaceOf(a, dims), sb = surfaceOf(b, dims);
      const pts = (m: Uint8Array) => Array.from(m.entries()).filter(([, v]) => v).map(([i]) =>
        [(i % dims[0]) * spacing[0], (Math.floor(i / dims[0]) % dims[1]) * spacing[1], Math.floor(i / (dims[0] * dims[1])) * spacing[2]]);
      const pa = pts(sa), pb = pts(sb);
      const near = (p: number[], qs: number[][]) => Math.min(...qs.map((q) => Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2])));
      const dab = pa.map((p) => near(p, pb)).sort((x, y) => x - y), dba = pb.map((p) => near(p, pa)).sort((x, y) => x - y);
      const msd = [...dab, ...dba].reduce((x, y) => x + y, 0) / (dab.length + dba.length);
      expect(got.hd95).toBeCloseTo(Math.max(percentileSorted(dab, 95), percentileSorted(dba, 95)), 12);
      expect(got.msd).toBeCloseTo(msd, 12);
      expect(got.hd).toBeCloseTo(Math.max(dab[dab.length - 1], dba[dba.length - 1]), 12);
    }
  });

  it('cropping to the joint bounding box does not change the result', () => {
    // the same pair placed in a small and in a large, offset volume
    const small: Vec3 = [4, 3, 3], big: Vec3 = [12, 9, 7];
    const a = [[0, 0, 0], [1, 0, 0], [1, 1, 0], [2, 1, 1]] as Array<[number, number, number]>;
    const b = [[1, 0, 0], [2, 0, 0], [3, 2, 2]] as Array<[number, number, number]>;
    const shift = (v: Array<[number, number, number]>) => v.map(([x, y, z]) => [x + 5, y + 4, z + 2] as [number, number, number]);
    const s: Vec3 = [0.9, 1.7, 2.2];
    const r1 = surfaceMetrics(mask(small, a), mask(small, b), { dims: small, spacing: s });
    const r2 = surfaceMetrics(mask(big, shift(a)), mask(big, shift(b)), { dims: big, spacing: s });
    expect(r2).toEqual(r1);
    expect(boundingBox([mask(big, shift(a))], big)).toEqual({ lo: [5, 4, 2], hi: [8, 6, 4] });
  });

  it('evaluateCase and summarize: per channel, NaN skipped and counted, Infinity kept', () => {
    const dims: Vec3 = [4, 4, 2];
    const grid = { dims, spacing: [1, 1, 1] as Vec3 };
    const z = new Uint8Array(32), m = mask(dims, [[1, 1, 0], [2, 1, 0]]);
    const case1 = evaluateCase([m, z], [m, z], grid);
    const case2 = evaluateCase([m, z], [m, m], grid);
    expect(case1[0]).toMatchObject({ dice: 1, hd95: 0, msd: 0 });
    expect(case1[1].dice).toBeNaN();
    expect(case2[1]).toMatchObject({ dice: 0, hd95: Infinity, msd: Infinity });
    const s = summarize([case1, case2]);
    expect(s[0].dice).toEqual({ mean: 1, count: 2, nanCount: 0 });
    expect(s[1].dice).toEqual({ mean: 0, count: 1, nanCount: 1 });
    expect(s[1].hd95.mean).toBe(Infinity);
  });

  it('does not mutate its inputs', () => {
    const r = rng(9);
    const dims: Vec3 = [8, 6, 5];
    const a = randomMask(dims, 0.4, r), b = randomMask(dims, 0.4, r);
    const ca = a.slice(), cb = b.slice();
    evaluateCase([a], [b], { dims, spacing: [1, 2, 3] }, { nsdToleranceMm: [1] });
    expect(a).toEqual(ca);
    expect(b).toEqual(cb);
  });
});
