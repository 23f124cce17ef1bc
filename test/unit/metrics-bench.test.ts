// The bench runner (app/cli/commands/bench.ts) and the numpy/scipy reference of the metrics
// suite (bench/reference/metrics_ref.py). No timings are asserted: the reference is checked for
// the VALUES it gives on small masks, against app/metrics, including the voxel-count NSD.
import { describe, expect, it } from 'vitest';
import type { Vec3 } from '../../app/imaging/volume.ts';
import { renderTable } from '../../app/cli/commands/bench.ts';
import { timeStats } from '../../app/cli/bench-types.ts';
import { evaluateCase } from '../../app/metrics/evaluate.ts';
import { hasScipy, maxRelDiff, runReference } from '../../bench/metrics.ts';
import { runCli } from '../helpers/cli.ts';
import { skipNotice } from '../helpers/env.ts';

/** An ellipsoid (semi-axes in voxels) in a dims volume, as a 0/1 mask. */
function ellipsoid(dims: Vec3, c: Vec3, r: Vec3): Uint8Array {
  const m = new Uint8Array(dims[0] * dims[1] * dims[2]);
  for (let z = 0; z < dims[2]; z++) for (let y = 0; y < dims[1]; y++) for (let x = 0; x < dims[0]; x++) {
    if (((x - c[0]) / r[0]) ** 2 + ((y - c[1]) / r[1]) ** 2 + ((z - c[2]) / r[2]) ** 2 <= 1) m[x + dims[0] * (y + dims[1] * z)] = 1;
  }
  return m;
}

describe('bench runner', () => {
  it('timeStats: median of odd and even counts, min, max', () => {
    expect(timeStats([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, n: 3 });
    expect(timeStats([4, 1, 2, 3])).toEqual({ median: 2.5, min: 1, max: 4, n: 4 });
  });

  it('renders an aligned table with the reference and ratio columns', () => {
    const t = renderTable([
      { suite: 'metrics', name: 'a', unit: 's', median: 1.5, min: 1, max: 2, n: 3, reference: { name: 'scipy', median: 3 }, ratio: 0.5, ok: true },
      { suite: 'metrics', name: 'longer name', unit: 'ms', median: 120, min: 100, max: 150, n: 3 },
    ]).split('\n');
    expect(t[0]).toMatch(/^suite\s+measurement\s+median\s+min\s+max\s+unit\s+n\s+reference\s+ref median\s+ratio\s+check$/);
    expect(t[1]).toMatch(/^metrics\s+a\s+1\.50\s+1\.00\s+2\.00\s+s\s+3\s+scipy\s+3\.00\s+0\.500\s+ok$/);
    expect(t[1].indexOf('1.50') + 4).toBe(t[2].indexOf('120') + 3); // right-aligned numbers
  });

  it('an unknown suite is a usage error that lists the suites', () => {
    const r = runCli(['bench', '--suite', 'no-such-suite']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no such suite \(have: .*metrics/);
  });

  it('--repeats must be a positive integer', () => {
    expect(runCli(['bench', '--repeats', '0']).code).toBe(2);
  });
});

describe('metrics suite reference (numpy/scipy)', () => {
  const ready = hasScipy();
  if (!ready) skipNotice('bench/reference/metrics_ref.py', '/usr/bin/python3 with numpy and scipy');
  it.skipIf(!ready)('gives the same Dice, HD95, MSD and NSD as app/metrics on small anisotropic masks', () => {
    const dims: Vec3 = [40, 28, 20], spacing: Vec3 = [0.7, 0.9, 2.5];
    const gt = [ellipsoid(dims, [18, 14, 9], [12, 9, 6]), ellipsoid(dims, [10, 10, 5], [4, 4, 3]), new Uint8Array(dims[0] * dims[1] * dims[2]), ellipsoid(dims, [30, 20, 12], [6, 5, 4])];
    const pred = [ellipsoid(dims, [19, 13, 9], [11, 10, 6]), ellipsoid(dims, [11, 10, 6], [4, 3, 3]), new Uint8Array(gt[2].length), new Uint8Array(gt[2].length)];
    pred[0][0] = 1; // a stray voxel in a corner: a long tail for HD95
    const grid = { dims, spacing };
    const ref = runReference(pred, gt, grid, 1, 1.5);
    const ours = evaluateCase(pred, gt, grid, { nsdToleranceMm: [1.5] });
    expect(ours[2].dice).toBeNaN(); // both empty
    expect(ours[3].hd95).toBe(Infinity); // one empty
    expect(ref.channels[2]).toEqual({ dice: 'NaN', hd95: 'NaN', msd: 'NaN', nsd: 'NaN' });
    expect(ref.channels[3]).toMatchObject({ hd95: 'Infinity', msd: 'Infinity', nsd: 0 });
    expect(maxRelDiff(ours, ref.channels, ['dice', 'hd95', 'msd', 'nsd'])).toBeLessThanOrEqual(1e-12);
    expect(ours[0].hd95).toBeGreaterThan(1);
  });
});
