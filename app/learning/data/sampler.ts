/**
 * Cuts training batches from cases: 2D (2.5D) slices across the axial axis or 3D patches, at
 * least `foregroundFraction` (≥ 1/3) of them centred on a structure voxel, with optional flips
 * and intensity jitter; every choice comes from the seeded Rng, so a run is repeatable.
 *
 * Batch layouts (channels-last, as the model and the losses take them):
 *   x        float32 [N, ...patch, Cin]     Cin = 2·context+1 (2D) or 1 (3D)
 *   whole    float32 [N, ...patch]          joint head: the whole-structure mask
 *   labels   int32   [N, ...patch]          joint/softmax: 0 background, 1..K parts
 *   multiHot float32 [N, ...patch, S]       sigmoid head: one channel per structure (may overlap)
 */
import type { Vec3 } from '../../imaging/volume.ts';
import type { HeadKind } from '../heads.ts';
import { extractTransformed } from './affine2d.ts';
import { extractBlock, type BlockSpec } from './block.ts';
import { axialAxis, unflatten, type TrainingCase } from './case.ts';
import type { Rng } from './rng.ts';

export interface SamplingConfig {
  spatialDims: 2 | 3;
  /** 2D [H, W]; 3D [D, H, W]. */
  patch: number[];
  /** 2.5D: neighbouring slices on each side fed as extra channels (2D only). */
  context: number;
  foregroundFraction: number;
  /** Volume index axes that may be mirrored (never the left–right axis of lateralised parts). */
  flipAxes: number[];
  /** Multiplicative and additive jitter of the normalised intensities, uniform ±. */
  jitterScale: number;
  jitterShift: number;
  /**
   * 2D only: in-plane rotation up to ±rotationDeg and scaling in [1/scaleMax, scaleMax], each
   * sample with probability spatialProbability (0 turns spatial augmentation off).
   */
  rotationDeg: number;
  scaleMax: number;
  spatialProbability: number;
}

export interface Batch {
  n: number;
  /** Spatial shape of one sample. */
  shape: number[];
  inChannels: number;
  x: Float32Array;
  whole: Float32Array | null;
  labels: Int32Array | null;
  multiHot: Float32Array | null;
  structures: number;
}

export function inChannels(cfg: Pick<SamplingConfig, 'spatialDims' | 'context'>): number {
  return cfg.spatialDims === 2 ? 2 * cfg.context + 1 : 1;
}

/** Block axes: 2D → [row, col, slice] around the axial axis; 3D → [k, j, i]. */
export function blockAxes(c: TrainingCase, spatialDims: 2 | 3): [number, number, number] {
  if (spatialDims === 3) return [2, 1, 0];
  const s = axialAxis(c.geometry);
  const others = [0, 1, 2].filter((a) => a !== s);
  return [others[1], others[0], s];
}

/** Where a block centred on voxel `centre` starts, per block axis. */
function startAround(centre: Vec3, axes: number[], size: number[], dims: Vec3): [number, number, number] {
  return axes.map((a, b) => {
    if (size[b] >= dims[a]) return Math.floor((dims[a] - size[b]) / 2);
    const s = centre[a] - Math.floor(size[b] / 2);
    return Math.max(0, Math.min(dims[a] - size[b], s));
  }) as [number, number, number];
}

function randomCentre(c: TrainingCase, rng: Rng, foreground: boolean): Vec3 {
  const d = c.geometry.dims;
  if (foreground && c.foreground.length > 0) return unflatten(c.foreground[rng.int(c.foreground.length)], d);
  return [rng.int(d[0]), rng.int(d[1]), rng.int(d[2])];
}

export interface SampleOptions {
  head: HeadKind;
  fill: number;
}

export function sampleBatch(cases: readonly TrainingCase[], cfg: SamplingConfig, opts: SampleOptions, rng: Rng, n: number): Batch {
  const spatial = cfg.patch.reduce((a, b) => a * b, 1);
  const cin = inChannels(cfg);
  const S = cases[0].masks.length;
  const batch: Batch = {
    n, shape: [...cfg.patch], inChannels: cin, structures: S,
    x: new Float32Array(n * spatial * cin),
    whole: opts.head === 'joint' ? new Float32Array(n * spatial) : null,
    labels: opts.head === 'sigmoid' ? null : new Int32Array(n * spatial),
    multiHot: opts.head === 'sigmoid' ? new Float32Array(n * spatial * S) : null,
  };
  const tmp = new Float32Array(spatial);
  // At least a third of samples are centred on foreground, spread evenly through the batch.
  const fgEvery = Math.max(1, Math.floor(1 / Math.max(cfg.foregroundFraction, 1 / 3)));
  for (let s = 0; s < n; s++) {
    const c = cases[rng.int(cases.length)];
    const fg = s % fgEvery === 0 || rng.next() < cfg.foregroundFraction;
    const centre = randomCentre(c, rng, fg);
    const axes = blockAxes(c, cfg.spatialDims);
    const imgSize: [number, number, number] = cfg.spatialDims === 2 ? [cfg.patch[0], cfg.patch[1], cin] : [cfg.patch[0], cfg.patch[1], cfg.patch[2]];
    const start = startAround(centre, axes, imgSize, c.geometry.dims);
    if (cfg.spatialDims === 2) start[2] = centre[axes[2]] - cfg.context;
    const flip: [boolean, boolean, boolean] = [false, false, false];
    for (let b = 0; b < 3; b++) if (cfg.flipAxes.includes(axes[b]) && !(cfg.spatialDims === 2 && b === 2) && rng.next() < 0.5) flip[b] = true;
    const spatialAug = cfg.spatialDims === 2 && cfg.spatialProbability > 0 && rng.next() < cfg.spatialProbability;
    if (spatialAug) {
      // Rotated/scaled sample around the same centre; targets follow by nearest neighbour.
      const t = {
        axes, centre: [start[0] + (cfg.patch[0] - 1) / 2, start[1] + (cfg.patch[1] - 1) / 2] as [number, number],
        angleRad: rng.uniform(-cfg.rotationDeg, cfg.rotationDeg) * (Math.PI / 180),
        scale: Math.exp(rng.uniform(-Math.log(cfg.scaleMax), Math.log(cfg.scaleMax))), flip: [flip[0], flip[1]] as [boolean, boolean],
      };
      const size: [number, number] = [cfg.patch[0], cfg.patch[1]];
      const mid = centre[axes[2]];
      extractTransformed(c.image, c.geometry.dims, t, Array.from({ length: cin }, (_, k) => mid - cfg.context + k), size, opts.fill, true, batch.x, s * spatial * cin);
      jitter(batch.x, s * spatial * cin, (s + 1) * spatial * cin, cfg, rng);
      const tgt = (src: ArrayLike<number>, out: Float32Array | Int32Array, off: number) => extractTransformed(src, c.geometry.dims, t, [mid], size, 0, false, out, off);
      fillTargets(batch, c, opts.head, s, spatial, S, tmp, tgt);
      continue;
    }
    extractBlock(c.image, c.geometry.dims, { axes, start, size: imgSize, flip }, opts.fill, batch.x, s * spatial * cin);
    jitter(batch.x, s * spatial * cin, (s + 1) * spatial * cin, cfg, rng);
    const tSpec: BlockSpec = cfg.spatialDims === 2
      ? { axes, start: [start[0], start[1], centre[axes[2]]], size: [cfg.patch[0], cfg.patch[1], 1], flip }
      : { axes, start, size: imgSize, flip };
    const tgt = (src: ArrayLike<number>, out: Float32Array | Int32Array, off: number) => extractBlock(src, c.geometry.dims, tSpec, 0, out, off);
    fillTargets(batch, c, opts.head, s, spatial, S, tmp, tgt);
  }
  return batch;
}

function jitter(x: Float32Array, from: number, to: number, cfg: SamplingConfig, rng: Rng): void {
  if (cfg.jitterScale <= 0 && cfg.jitterShift <= 0) return;
  const a = 1 + rng.uniform(-cfg.jitterScale, cfg.jitterScale), b = rng.uniform(-cfg.jitterShift, cfg.jitterShift);
  for (let q = from; q < to; q++) x[q] = x[q] * a + b;
}

type TargetReader = (src: ArrayLike<number>, out: Float32Array | Int32Array, off: number) => void;

function fillTargets(batch: Batch, c: TrainingCase, head: HeadKind, s: number, spatial: number, S: number, tmp: Float32Array, tgt: TargetReader): void {
  if (batch.whole) tgt(c.masks[0], batch.whole, s * spatial);
  if (batch.labels) {
    if (!c.classMap) throw new Error(`case ${c.id}: parts overlap, so the ${head} head cannot train on it (use the sigmoid head)`);
    tgt(c.classMap, batch.labels, s * spatial);
  }
  if (batch.multiHot) {
    for (let k = 0; k < S; k++) {
      tgt(c.masks[k], tmp, 0);
      for (let v = 0; v < spatial; v++) batch.multiHot[(s * spatial + v) * S + k] = tmp[v];
    }
  }
}
