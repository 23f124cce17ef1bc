/**
 * Adapter from the oracle's case format (test/fixtures/oracle/README.md, kinds `seg_metrics` and
 * `pos_weight`) to the volume-level metrics.
 *
 * Inputs are channels-last, row-major: 2D [N,H,W,C], 3D [N,D,H,W,C], int32 0/1. Each (n, c)
 * becomes one binary volume with W fastest, so x = W, y = H, z = D, and the oracle's spacing
 * [sd, sh, sw] becomes [sw, sh, sd]. The oracle reads reals as float32, so spacing is rounded
 * to float32 first. 2D cases (spacing null) get Dice only. The oracle's surface rule is applied
 * literally (flatAxes 'outside'), even to a volume with an axis of length 1.
 *
 * Outputs (per the README): dice [N,C] (NaN when both empty); dice_mean_per_channel [C];
 * dice_mean; 3D only hd95 and msd [N,C] (NaN both empty, Infinity exactly one empty);
 * pos_weight [C] = zeros/ones per channel (Infinity without ones, 0 without zeros).
 */
import type { Vec3 } from '../imaging/volume.ts';
import { badInput } from '../util/errors.ts';
import { dice, nanMean } from './dice.ts';
import { surfaceMetrics } from './surface.ts';
import { posWeightRatio } from '../labels/pos-weight.ts';

export interface TensorInput {
  dtype: string;
  shape: readonly number[];
  data: ArrayLike<number>;
}

export type MetricOutput = number | { shape: number[]; data: number[] };

export type MetricCaseKind = 'seg_metrics' | 'pos_weight';

const SOURCE = 'case';

export function runMetricCase(kind: MetricCaseKind, inputs: Record<string, TensorInput>, params: Record<string, unknown>): Record<string, MetricOutput> {
  switch (kind) {
    case 'seg_metrics':
      return segMetrics(need(inputs, 'pred'), need(inputs, 'target'), params);
    case 'pos_weight':
      return { pos_weight: tensor([channelCount(need(inputs, 'masks'), 'masks')], posWeights(need(inputs, 'masks'))) };
    default: {
      const never: never = kind;
      throw badInput(SOURCE, 'kind', `unknown metric kind ${String(never)}`, 'unsupported');
    }
  }
}

function need(inputs: Record<string, TensorInput>, name: string): TensorInput {
  const t = inputs[name];
  if (!t) throw badInput(SOURCE, `inputs.${name}`, 'missing');
  const size = t.shape.reduce((a, b) => a * b, 1);
  if (t.shape.some((d) => !Number.isInteger(d) || d < 1)) throw badInput(SOURCE, `inputs.${name}.shape`, `[${t.shape.join(',')}] must be positive integers`);
  if (t.data.length !== size) throw badInput(SOURCE, `inputs.${name}.data`, `${t.data.length} values for shape [${t.shape.join(',')}] (${size})`);
  for (let i = 0; i < t.data.length; i++) {
    const v = t.data[i];
    if (v !== 0 && v !== 1) throw badInput(SOURCE, `inputs.${name}.data[${i}]`, `${String(v)} is not 0 or 1`);
  }
  return t;
}

function channelCount(t: TensorInput, name: string): number {
  if (t.shape.length < 2) throw badInput(SOURCE, `inputs.${name}.shape`, `[${t.shape.join(',')}] needs at least [N,...,C]`);
  return t.shape[t.shape.length - 1];
}

function tensor(shape: number[], data: ArrayLike<number>): { shape: number[]; data: number[] } {
  return { shape, data: Array.from(data) };
}

/** One (n, c) slice of a channels-last tensor as a W-fastest Uint8Array. */
function slice(t: TensorInput, n: number, c: number, spatial: number): Uint8Array {
  const C = t.shape[t.shape.length - 1];
  const out = new Uint8Array(spatial);
  const base = n * spatial * C + c;
  for (let v = 0; v < spatial; v++) out[v] = t.data[base + v * C];
  return out;
}

function segMetrics(pred: TensorInput, target: TensorInput, params: Record<string, unknown>): Record<string, MetricOutput> {
  if (pred.shape.join(',') !== target.shape.join(',')) {
    throw badInput(SOURCE, 'inputs.target.shape', `[${target.shape.join(',')}] differs from pred [${pred.shape.join(',')}]`, 'mismatch');
  }
  const rank = pred.shape.length;
  if (rank !== 4 && rank !== 5) throw badInput(SOURCE, 'inputs.pred.shape', `[${pred.shape.join(',')}] must be [N,H,W,C] or [N,D,H,W,C]`);
  const is3d = rank === 5;
  const [N, C] = [pred.shape[0], pred.shape[rank - 1]];
  const sp = pred.shape.slice(1, rank - 1);
  const dims: Vec3 = is3d ? [sp[2], sp[1], sp[0]] : [sp[1], sp[0], 1];
  const spatial = dims[0] * dims[1] * dims[2];
  let spacing: Vec3 = [1, 1, 1];
  if (is3d) {
    const s = params.spacing;
    if (!Array.isArray(s) || s.length !== 3 || s.some((v) => typeof v !== 'number' || !(v > 0))) {
      throw badInput(SOURCE, 'params.spacing', 'a 3D case needs [sd, sh, sw] in mm');
    }
    spacing = [Math.fround(s[2]), Math.fround(s[1]), Math.fround(s[0])];
  }
  const percentile = typeof params.percentile === 'number' ? params.percentile : 95;
  const d = new Float64Array(N * C), hd = new Float64Array(N * C), msd = new Float64Array(N * C);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const a = slice(pred, n, c, spatial), b = slice(target, n, c, spatial);
      d[n * C + c] = dice(a, b).dice;
      if (!is3d) continue;
      const s = surfaceMetrics(a, b, { dims, spacing }, { percentile, flatAxes: 'outside' });
      hd[n * C + c] = s.hd95;
      msd[n * C + c] = s.msd;
    }
  }
  const perChannel = new Float64Array(C);
  for (let c = 0; c < C; c++) perChannel[c] = nanMean(Array.from({ length: N }, (_, n) => d[n * C + c])).mean;
  const out: Record<string, MetricOutput> = {
    dice: tensor([N, C], d),
    dice_mean_per_channel: tensor([C], perChannel),
    dice_mean: nanMean(d).mean,
  };
  if (is3d) {
    out.hd95 = tensor([N, C], hd);
    out.msd = tensor([N, C], msd);
  }
  return out;
}

function posWeights(masks: TensorInput): Float64Array {
  const C = channelCount(masks, 'masks');
  const pos = new Float64Array(C), neg = new Float64Array(C);
  for (let i = 0; i < masks.data.length; i++) {
    if (masks.data[i] !== 0) pos[i % C]++;
    else neg[i % C]++;
  }
  return Float64Array.from({ length: C }, (_, c) => posWeightRatio(pos[c], neg[c]));
}
