/**
 * Bench suite `metrics`: Dice, HD95 and mean surface distance for 4 channels (whole bone + 3
 * parts) on a synthetic 512×512×300 CT-sized case, in Osteon (app/metrics) and, on the SAME
 * masks in the same run, in numpy/scipy (bench/reference/metrics_ref.py via /usr/bin/python3).
 * Reports both medians, the ratio, and whether the values agree (relative 1e-9).
 *
 * The case: a smooth, bumpy elliptic cylinder along z (the "whole" channel), cut into 3 parts
 * by two wavy surfaces; the prediction is the same shape shifted by about a voxel, slightly
 * rescaled, with the cuts displaced by 3 slices and a small false-positive blob beside the
 * bone in part 3 (and so in the whole), which is what drives HD95.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchRecord, BenchSuite } from '../app/cli/bench-types.ts';
import { timeStats } from '../app/cli/bench-types.ts';
import type { Vec3 } from '../app/imaging/volume.ts';
import { evaluateCase, type ChannelMetrics } from '../app/metrics/evaluate.ts';
import type { Grid } from '../app/metrics/grid.ts';

const DIMS: Vec3 = [512, 512, 300];
const SPACING: Vec3 = [0.8, 0.8, 1.5];
const CHANNELS = ['whole', 'part 1', 'part 2', 'part 3'];
const PYTHON = '/usr/bin/python3';
const REF_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'reference', 'metrics_ref.py');

interface ShapeParams {
  dx: number;
  dy: number;
  scaleX: number;
  scaleY: number;
  phase: number;
  cut1: number;
  cut2: number;
  wave: number;
  /** A false-positive sphere [x, y, z, r] in voxels, or null. */
  extra: [number, number, number, number] | null;
}

/** Channels [whole, part 1, part 2, part 3] of one synthetic case. */
export function syntheticCase(p: ShapeParams, dims: Vec3 = DIMS): Uint8Array[] {
  const [nx, ny, nz] = dims;
  const n = nx * ny * nz;
  const out = CHANNELS.map(() => new Uint8Array(n));
  const sx = Float64Array.from({ length: nx }, (_, x) => Math.sin(x / 9));
  const cx9 = Float64Array.from({ length: nx }, (_, x) => Math.cos(x / 9));
  const z0 = Math.round(nz * 0.07), z1 = Math.round(nz * 0.93);
  for (let z = z0; z < z1; z++) {
    const cxz = nx / 2 + p.dx + 20 * Math.sin(z / 40), cyz = ny * 0.47 + p.dy + 15 * Math.cos(z / 55);
    const ax = (nx * 0.21 + 15 * Math.sin(z / 30)) * p.scaleX, ay = (ny * 0.16 + 10 * Math.cos(z / 45)) * p.scaleY;
    const sz = Math.sin(z / 17 + p.phase), cz = Math.cos(z / 17 + p.phase);
    for (let y = 0; y < ny; y++) {
      const ty = (y - cyz) / ay;
      const room = 1.06 - ty * ty;
      if (room < 0) continue;
      const xr = ax * Math.sqrt(room);
      const cy11 = Math.cos(y / 11);
      const xa = Math.max(0, Math.floor(cxz - xr)), xb = Math.min(nx - 1, Math.ceil(cxz + xr));
      for (let x = xa; x <= xb; x++) {
        const tx = (x - cxz) / ax;
        const bump = 0.06 * (sx[x] * cz + cx9[x] * sz) * cy11; // 0.06·sin(x/9 + z/17 + phase)·cos(y/11)
        if (tx * tx + ty * ty > 1 + bump) continue;
        const o = x + nx * (y + ny * z);
        out[0][o] = 1;
        const s1 = p.cut1 + p.wave * Math.sin(x / 15) * Math.cos(y / 13);
        const s2 = p.cut2 + p.wave * Math.cos(x / 17) * Math.sin(y / 12);
        out[z < s1 ? 1 : z < s2 ? 2 : 3][o] = 1;
      }
    }
  }
  if (p.extra) {
    const [ex, ey, ez, er] = p.extra;
    for (let z = Math.max(0, ez - er); z <= Math.min(nz - 1, ez + er); z++) {
      for (let y = Math.max(0, ey - er); y <= Math.min(ny - 1, ey + er); y++) {
        for (let x = Math.max(0, ex - er); x <= Math.min(nx - 1, ex + er); x++) {
          if ((x - ex) ** 2 + (y - ey) ** 2 + (z - ez) ** 2 > er * er) continue;
          const o = x + nx * (y + ny * z);
          out[0][o] = 1;
          out[3][o] = 1;
        }
      }
    }
  }
  return out;
}

export const GT_SHAPE: ShapeParams = { dx: 0, dy: 0, scaleX: 1, scaleY: 1, phase: 0, cut1: 100, cut2: 190, wave: 6, extra: null };
export const PRED_SHAPE: ShapeParams = { dx: 1.5, dy: -1, scaleX: 1.02, scaleY: 0.99, phase: 0.7, cut1: 103, cut2: 187, wave: 4, extra: [60, 420, 250, 8] };

/** Bits 0..3 = pred channels, bits 4..7 = gt channels, one byte per voxel. */
function pack(pred: Uint8Array[], gt: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pred[0].length);
  for (let c = 0; c < pred.length; c++) {
    const a = pred[c], b = gt[c], bp = 1 << c, bg = 1 << (4 + c);
    for (let i = 0; i < out.length; i++) out[i] |= (a[i] ? bp : 0) | (b[i] ? bg : 0);
  }
  return out;
}

export interface RefResult {
  reference: string;
  dice_times_s: number[];
  full_times_s: number[];
  cpu_s: number;
  channels: Array<Partial<Record<'dice' | 'hd95' | 'msd' | 'nsd', number | string>>>;
}

/**
 * Runs bench/reference/metrics_ref.py on the same masks (written to a temporary file, deleted
 * afterwards). Up to 4 channels.
 */
export function runReference(pred: Uint8Array[], gt: Uint8Array[], grid: Grid, repeats: number, nsdTolMm?: number): RefResult {
  if (pred.length > 4 || pred.length !== gt.length) throw new RangeError(`metrics reference: 1..4 channels, got ${pred.length} and ${gt.length}`);
  const dir = mkdtempSync(join(tmpdir(), 'osteon-bench-'));
  try {
    const file = join(dir, 'masks.u8');
    writeFileSync(file, pack(pred, gt));
    const args = [REF_SCRIPT, '--input', file, '--dims', ...grid.dims.map(String), '--spacing', ...grid.spacing.map(String),
      '--channels', String(pred.length), '--repeats', String(repeats)];
    if (nsdTolMm !== undefined) args.push('--nsd-tol', String(nsdTolMm));
    const r = spawnSync(PYTHON, args, { encoding: 'utf8', maxBuffer: 16 << 20, timeout: 900_000 });
    if (r.status !== 0) throw new Error(`metrics_ref.py exited ${r.status}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    return JSON.parse(r.stdout) as RefResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function decode(v: number | string | undefined): number {
  return typeof v === 'number' ? v : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : NaN;
}

/** Largest relative difference over channels and metrics (NaN/Infinity must match exactly). */
export function maxRelDiff(ours: ChannelMetrics[], ref: RefResult['channels'], keys: ReadonlyArray<'dice' | 'hd95' | 'msd' | 'nsd'> = ['dice', 'hd95', 'msd']): number {
  let worst = 0;
  ours.forEach((m, c) => {
    for (const k of keys) {
      const a = (k === 'nsd' ? m.nsd?.[0] : m[k]) ?? NaN, b = decode(ref[c][k]);
      if (!Number.isFinite(b) || !Number.isFinite(a)) {
        if (!Object.is(a, b)) worst = Infinity;
        continue;
      }
      worst = Math.max(worst, Math.abs(a - b) / Math.max(1, Math.abs(b)));
    }
  });
  return worst;
}

export function hasScipy(): boolean {
  return spawnSync(PYTHON, ['-c', 'import numpy, scipy'], { stdio: 'ignore' }).status === 0;
}

export const suite: BenchSuite = {
  name: 'metrics',
  description: 'Dice + HD95 + MSD, 4 channels, 512×512×300 (0.8×0.8×1.5 mm), Osteon vs numpy/scipy on the same masks',
  async run(ctx) {
    const grid = { dims: DIMS, spacing: SPACING };
    const gt = syntheticCase(GT_SHAPE), pred = syntheticCase(PRED_SHAPE);
    const diceTimes: number[] = [], fullTimes: number[] = [];
    let ours: ChannelMetrics[] = [];
    const cpu0 = process.cpuUsage();
    for (let r = 0; r < ctx.repeats; r++) {
      let t0 = performance.now();
      evaluateCase(pred, gt, grid, { surface: false });
      diceTimes.push(performance.now() - t0);
      t0 = performance.now();
      ours = evaluateCase(pred, gt, grid, { percentile: 95 });
      fullTimes.push((performance.now() - t0) / 1000);
    }
    const cpu = process.cpuUsage(cpu0);
    const cpuS = (cpu.user + cpu.system) / 1e6;
    const values = ours.map((m, c) => `${CHANNELS[c]} dice ${m.dice.toFixed(4)} hd95 ${m.hd95?.toFixed(3)} msd ${m.msd?.toFixed(3)} mm`).join('; ');
    const dice: BenchRecord = { name: 'dice, 4 channels, 512×512×300', unit: 'ms', ...timeStats(diceTimes) };
    const full: BenchRecord = { name: 'dice+hd95+msd, 4 channels, 512×512×300', unit: 's', ...timeStats(fullTimes), detail: values };
    if (!hasScipy()) {
      ctx.notice(`${PYTHON} with numpy and scipy is not available: Osteon timed alone, no reference ratio`);
      return [dice, full];
    }
    const ref = runReference(pred, gt, grid, ctx.repeats);
    const refDice = timeStats(ref.dice_times_s.map((s) => s * 1000)).median;
    const refFull = timeStats(ref.full_times_s).median;
    const diff = maxRelDiff(ours, ref.channels);
    const ok = diff <= 1e-9;
    return [
      { ...dice, reference: { name: 'numpy', median: refDice }, ratio: dice.median / refDice },
      {
        ...full,
        reference: { name: 'scipy.ndimage', median: refFull },
        ratio: full.median / refFull,
        ok,
        detail: `${values}; max relative difference vs ${ref.reference}: ${diff.toExponential(1)}${ok ? '' : ' (DISAGREES)'}; ` +
          `process CPU for all ${ctx.repeats} repeats (dice and full): Osteon ${cpuS.toFixed(1)} s, reference ${ref.cpu_s.toFixed(1)} s`,
      },
    ];
  },
};
