/**
 * Bench suite `wholect`: whole-CT inference of a synthetic 512×512×300 int16 CT with the
 * reference 2D U-Net (16-32-64-128, joint head, 3 parts) through predictCt: HU normalised per
 * slab, windows streamed, blended in the addon (or JS), thresholded masks kept. Each repetition
 * runs in its own process (bench/wholect-run.ts) so its peak RSS is the inference's alone.
 * Rows: wall time (s) and peak RSS (MiB), with the issue-18 targets (≤ 12 s, ≤ 1.5 GB) as the check
 * on RSS only (time depends on the machine's load: read it with the load average in the detail).
 * OSTEON_BENCH_WHOLECT_DIMS=512,512,60 runs a smaller volume. Rows for the default precision
 * (auto: bf16 where the CPU has it natively) and, when that resolved to bf16, for fp32 in the same run.
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchRecord, BenchSuite } from '../app/cli/bench-types.ts';
import { timeStats } from '../app/cli/bench-types.ts';
import type { WholeCtResult } from './wholect-run.ts';

const here = dirname(fileURLToPath(import.meta.url));

export const suite: BenchSuite = {
  name: 'wholect',
  description: 'whole-CT inference 512×512×300 (2D U-Net, streamed slabs): time and peak RSS, one process per run',
  async run(ctx) {
    const dims = process.env.OSTEON_BENCH_WHOLECT_DIMS ?? '512,512,300';
    const records: BenchRecord[] = [];
    for (const precision of ['auto', 'fp32']) {
      const runs: WholeCtResult[] = [];
      const repeats = Math.min(ctx.repeats, 3);
      const load0 = loadavg()[0];
      for (let r = 0; r < repeats; r++) {
        const p = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'wholect-run.ts'), '--dims', dims, '--precision', precision], { encoding: 'utf8', timeout: 1_800_000, cwd: join(here, '..') });
        const line = (p.stdout ?? '').trim().split('\n').pop() ?? '';
        if (p.status !== 0 || !line.startsWith('{')) {
          ctx.notice(`wholect: the inference process failed (exit ${p.status}): ${(p.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
          return [{ name: `whole-CT inference ${dims.replaceAll(',', '×')}`, unit: 's', median: NaN, min: NaN, max: NaN, n: 0, ok: false, detail: 'failed, see the notice' }];
        }
        runs.push(JSON.parse(line) as WholeCtResult);
      }
      const first = runs[0];
      const label = `${first.dims.join('×')} (${first.rung}, ${first.precision.replace(/^(auto: )?(\w+).*$/, '$1$2')}${first.nativeAccumulate ? ', native blending' : ', JS blending'})`;
      const rss = timeStats(runs.map((x) => x.maxRssMiB));
      const load = `load average ${load0.toFixed(2)} → ${loadavg()[0].toFixed(2)}`;
      records.push(
        { name: `whole-CT inference ${label}`, unit: 's', ...timeStats(runs.map((x) => x.seconds)), detail: `target ≤ 12 s on 2 quiet cores; precision ${first.precision}; ${load}` },
        { name: `whole-CT inference peak RSS ${label}`, unit: 'MiB', ...rss, ok: rss.max <= 1536, detail: `target ≤ 1536 MiB (process peak, CT and masks included); ${load}` },
      );
      // auto gave fp32 already (no bf16 here): no second row.
      if (precision === 'auto' && !/bf16/.test(first.precision)) break;
    }
    return records;
  },
};
