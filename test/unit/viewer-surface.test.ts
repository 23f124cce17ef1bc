/**
 * The viewer's surface extraction (renderer/src/viewer/lib/surface.ts) on a digital sphere.
 * Golden values are analytic: a sphere of radius r has area 4πr²; every vertex of its surface
 * lies within about half a voxel of radius r. Anisotropic spacing and a mirrored direction must
 * give the same world-space sphere with outward normals.
 */
import { describe, expect, it } from 'vitest';
import { extractSurface, type Geometry } from '../../renderer/src/viewer/lib/surface.ts';

function sphere(n: number, r: number, value: number, spacing: number[]): Uint8Array {
  const d = new Uint8Array(n * n * n);
  const c = (n - 1) / 2;
  for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) {
    const x = (i - c) * spacing[0], y = (j - c) * spacing[1], z = (k - c) * spacing[2];
    if (x * x + y * y + z * z <= r * r) d[i + n * (j + n * k)] = value;
  }
  return d;
}

function area(p: Float32Array, t: Uint32Array): number {
  let a = 0;
  for (let q = 0; q < t.length; q += 3) {
    const [A, B, C] = [3 * t[q], 3 * t[q + 1], 3 * t[q + 2]];
    const u = [p[B] - p[A], p[B + 1] - p[A + 1], p[B + 2] - p[A + 2]];
    const v = [p[C] - p[A], p[C + 1] - p[A + 1], p[C + 2] - p[A + 2]];
    a += Math.hypot(u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]) / 2;
  }
  return a;
}

describe('surface extraction', () => {
  const cases: { name: string; spacing: [number, number, number]; direction: number[] }[] = [
    { name: 'identity', spacing: [1, 1, 1], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] },
    { name: 'anisotropic, mirrored (PIR-like)', spacing: [0.8, 1, 1.25], direction: [0, 0, -1, -1, 0, 0, 0, -1, 0] },
  ];
  it.each(cases)('sphere r=10 mm, $name', ({ spacing, direction }) => {
    const n = 40, r = 10;
    const data = sphere(n, r, 7, spacing);
    const g: Geometry = { dims: [n, n, n], spacing, origin: [5, -3, 2], direction };
    const mesh = extractSurface(data, g, { base: 0, values: [7] });
    expect(mesh).not.toBeNull();
    if (!mesh) return;
    // The centre in world: origin + D·S·c.
    const c = (n - 1) / 2;
    const centre = [0, 1, 2].map((row) => g.origin[row] + [0, 1, 2].reduce((s, col) => s + direction[3 * row + col] * spacing[col] * c, 0));
    let worst = 0, outward = 0;
    const nv = mesh.points.length / 3;
    for (let p = 0; p < nv; p++) {
      const d = [0, 1, 2].map((a) => mesh.points[3 * p + a] - centre[a]);
      const rad = Math.hypot(d[0], d[1], d[2]);
      worst = Math.max(worst, Math.abs(rad - r));
      if (d[0] * mesh.normals[3 * p] + d[1] * mesh.normals[3 * p + 1] + d[2] * mesh.normals[3 * p + 2] > 0) outward++;
    }
    expect(worst).toBeLessThan(0.75 * Math.max(...spacing));
    expect(outward / nv).toBeGreaterThan(0.99);
    expect(area(mesh.points, mesh.triangles) / (4 * Math.PI * r * r)).toBeGreaterThan(0.93);
    expect(area(mesh.points, mesh.triangles) / (4 * Math.PI * r * r)).toBeLessThan(1.07);
  });

  it('returns null for an absent structure and decimates a large mesh', () => {
    const n = 40;
    const data = sphere(n, 15, 1, [1, 1, 1]);
    const g: Geometry = { dims: [n, n, n], spacing: [1, 1, 1], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };
    expect(extractSurface(data, g, { base: 0, values: [2] })).toBeNull();
    const full = extractSurface(data, g, { base: 0, values: null });
    const small = extractSurface(data, g, { base: 0, values: null }, { smooth: true, maxTriangles: 100, clusterVoxels: 3 });
    expect(full && small).toBeTruthy();
    if (!full || !small) return;
    expect(small.triangles.length).toBeLessThan(full.triangles.length / 4);
    expect(area(small.points, small.triangles) / (4 * Math.PI * 225)).toBeGreaterThan(0.85);
  });
});

describe('shared EDT as compare mode uses it (app/shared/edt.ts)', () => {
  it('matches brute force on a random 9×7×5 mask with spacing 0.7, 1.3, 2', async () => {
    const { distanceToFeatures, signedDistance } = await import('../../app/shared/edt.ts');
    const distanceTo = (m: Uint8Array, dims: readonly [number, number, number], sp: readonly [number, number, number], _f: 1) => distanceToFeatures(m, dims, sp);
    const dims = [9, 7, 5] as const, sp = [0.7, 1.3, 2] as const;
    let seed = 7;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const mask = Uint8Array.from({ length: 9 * 7 * 5 }, () => (rnd() < 0.15 ? 1 : 0));
    const d = distanceTo(mask, dims, sp, 1);
    const sd = signedDistance(mask, dims, sp);
    const at = (o: number) => [o % 9, Math.floor(o / 9) % 7, Math.floor(o / 63)];
    for (let o = 0; o < mask.length; o++) {
      let best = Infinity, bestIn = Infinity;
      for (let q = 0; q < mask.length; q++) {
        const [a, b] = [at(o), at(q)];
        const dist = Math.hypot((a[0] - b[0]) * sp[0], (a[1] - b[1]) * sp[1], (a[2] - b[2]) * sp[2]);
        if (mask[q]) best = Math.min(best, dist);
        else bestIn = Math.min(bestIn, dist);
      }
      expect(d[o]).toBeCloseTo(best, 4);
      expect(sd[o]).toBeCloseTo(mask[o] ? -bestIn : best, 4);
    }
  });
});

describe('compare surface (renderer/src/viewer/lib/compare.ts)', () => {
  it('a prediction sphere 2 mm larger than the truth is +2 mm from it everywhere (analytic)', async () => {
    const { compareSurface } = await import('../../renderer/src/viewer/lib/compare.ts');
    const n = 40, sp: [number, number, number] = [1, 1, 1];
    const truth = sphere(n, 10, 1, sp), pred = sphere(n, 12, 1, sp);
    const g: Geometry = { dims: [n, n, n], spacing: sp, origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };
    const bigger = compareSurface(truth, pred, g, { base: 0, values: null });
    const smaller = compareSurface(pred, truth, g, { base: 0, values: null });
    expect(bigger && smaller).toBeTruthy();
    if (!bigger || !smaller) return;
    const mean = (a: Float32Array) => a.reduce((s, x) => s + x, 0) / a.length;
    expect(mean(bigger.distance)).toBeGreaterThan(1.5);
    expect(mean(bigger.distance)).toBeLessThan(2.5);
    expect(mean(smaller.distance)).toBeLessThan(-1.5);
    expect(mean(smaller.distance)).toBeGreaterThan(-2.5);
    expect(Math.abs(bigger.worst?.distance ?? 0)).toBeLessThan(3);
  });
});

describe('compare codes and jumping (renderer/src/viewer)', () => {
  it('codes TP/FP/FN per voxel, first structure wins', async () => {
    const { confusionCodes } = await import('../../renderer/src/viewer/lib/compare.ts');
    const truth = Uint8Array.from([0, 1, 1, 0, 2, 2]);
    const pred = Uint8Array.from([1, 1, 0, 0, 2, 1]);
    expect([...confusionCodes(truth, pred, [{ base: 0, values: [1] }, { base: 0, values: [2] }], 6)]).toEqual([2, 1, 3, 0, 1, 2]);
  });

  it('finds the slice holding a voxel in every view, also for a PIR direction', async () => {
    const { planSlice } = await import('../../renderer/src/lib/slices.ts');
    const { sliceOfVoxel } = await import('../../renderer/src/viewer/lib/jump.ts');
    const dims: [number, number, number] = [7, 5, 6];
    for (const direction of [[1, 0, 0, 0, 1, 0, 0, 0, 1], [0, 0, -1, 1, 0, 0, 0, -1, 0]]) {
      for (const view of ['axial', 'coronal', 'sagittal'] as const) {
        const plan = planSlice({ dims, spacing: [1, 1, 1], direction }, view);
        const index: [number, number, number] = [4, 2, 3];
        const target = index[0] + dims[0] * (index[1] + dims[1] * index[2]);
        const s = sliceOfVoxel(plan, dims, index);
        let found = false;
        for (let u = 0; u < plan.width; u++) for (let v = 0; v < plan.height; v++) if (plan.offset(u, v, s) === target) found = true;
        expect(found, `${view} ${direction.join(',')}`).toBe(true);
      }
    }
  });
});
