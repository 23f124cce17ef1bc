/**
 * Per-channel evaluation of one case: Dice plus, on request, the surface metrics of ./surface.ts,
 * and NaN-aware summaries over cases. Channels are separate binary masks on one grid
 * (x fastest, ./grid.ts); channel c of pred is scored against channel c of gt.
 */
import { dice, nanMean, type NanMean } from './dice.ts';
import { checkMask, type Grid, type Mask } from './grid.ts';
import { surfaceMetrics, type SurfaceOptions } from './surface.ts';

export interface ChannelMetrics {
  dice: number;
  intersection: number;
  predCount: number;
  gtCount: number;
  /** Present when surface metrics were asked for. */
  hd95?: number;
  hd?: number;
  msd?: number;
  nsd?: number[];
  surfaceVoxels?: [number, number];
}

export interface EvaluateOptions extends SurfaceOptions {
  /** Compute HD95/HD/MSD/NSD as well as Dice (default true). */
  surface?: boolean;
}

export function evaluateCase(pred: readonly Mask[], gt: readonly Mask[], grid: Grid, opts: EvaluateOptions = {}): ChannelMetrics[] {
  if (pred.length !== gt.length) throw new RangeError(`evaluate: ${pred.length} predicted channels, ${gt.length} target channels`);
  return pred.map((p, c) => {
    checkMask(p, grid.dims, `pred channel ${c}`);
    checkMask(gt[c], grid.dims, `gt channel ${c}`);
    const d: ChannelMetrics = dice(p, gt[c]);
    if (opts.surface === false) return d;
    return { ...d, ...surfaceMetrics(p, gt[c], grid, opts) };
  });
}

export interface ChannelSummary {
  dice: NanMean;
  hd95: NanMean;
  msd: NanMean;
}

/**
 * Mean over cases per channel, skipping NaN (both masks empty) and counting the skipped ones.
 * An Infinity (exactly one mask empty) makes the HD95/MSD mean Infinity, on purpose: a missed
 * structure must not vanish from the average.
 */
export function summarize(cases: readonly ChannelMetrics[][]): ChannelSummary[] {
  const channels = cases.length ? cases[0].length : 0;
  const out: ChannelSummary[] = [];
  for (let c = 0; c < channels; c++) {
    const col = (k: 'dice' | 'hd95' | 'msd') => cases.map((m) => m[c][k] ?? NaN);
    out.push({ dice: nanMean(col('dice')), hd95: nanMean(col('hd95')), msd: nanMean(col('msd')) });
  }
  return out;
}
