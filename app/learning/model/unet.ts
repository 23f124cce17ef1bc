/**
 * U-Net in raw tfjs ops (2D slices or 3D patches), channels-last: input [N,H,W,Cin] or
 * [N,D,H,W,Cin], output logits [N,H,W,Cout] / [N,D,H,W,Cout] for the head (heads.ts).
 *
 * Architecture (the reference spec of bench/reference/unet_ref.py when filters = 16-32-64-128):
 * per level two 3×3(×3) 'same' convs + bias + ReLU (optionally instance-normalised before the
 * ReLU), 2×2(×2) max-pool between levels, a 2×2(×2) stride-2 transposed conv up to the level's
 * filters, skip concat, two convs, and a 1×1(×1) conv to the head's channels.
 *
 * Raw ops rather than tfjs-layers: the same code serves 2D and 3D, the parameters are a plain
 * name → variable map that checkpoints write and read directly, and every conv goes through the
 * kernels Osteon registers (kernels/) on wasm.
 */
import * as tf from '@tensorflow/tfjs';
import { convBias, convBiasRelu } from './fused.ts';
import { maxPoolSkip } from './poolskip.ts';
import { convTransposeBias } from './upconv.ts';

export type Normalization = 'none' | 'instance';

export interface UNetConfig {
  /** 2: slices [N,H,W,C]; 3: patches [N,D,H,W,C]. */
  spatialDims: 2 | 3;
  inChannels: number;
  outChannels: number;
  /** Filters per level, e.g. [16, 32, 64, 128]: levels = filters.length, poolings = levels − 1. */
  filters: number[];
  normalization: Normalization;
  /** Seed of the He-normal initialisation. */
  seed: number;
}

export type Params = Map<string, tf.Variable>;

/** Spatial sizes must be divisible by this (one halving per pooling). */
export function sizeMultiple(cfg: Pick<UNetConfig, 'filters'>): number {
  return 2 ** (cfg.filters.length - 1);
}

function heNormal(shape: number[], fanIn: number, seed: number): tf.Tensor {
  return tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn), 'float32', seed);
}

/** Creates the parameters, deterministically for a seed. Names are stable: checkpoints use them. */
let instances = 0;

export function createParams(cfg: UNetConfig): Params {
  const p: Params = new Map();
  // tfjs variable names are global to the engine; a per-instance prefix lets several models live
  // in one process (tests, comparisons). Checkpoints key by the plain name.
  const prefix = `unet${instances++}/`;
  const k = cfg.spatialDims === 2 ? [3, 3] : [3, 3, 3];
  const up = cfg.spatialDims === 2 ? [2, 2] : [2, 2, 2];
  const kVol = k.reduce((a, b) => a * b, 1);
  let seed = cfg.seed * 1000 + 1;
  const add = (name: string, t: tf.Tensor) => p.set(name, tf.variable(t, true, prefix + name));
  const conv = (name: string, cin: number, cout: number) => {
    add(`${name}.w`, heNormal([...k, cin, cout], kVol * cin, seed++));
    add(`${name}.b`, tf.zeros([cout]));
    if (cfg.normalization === 'instance') {
      add(`${name}.gamma`, tf.ones([cout]));
      add(`${name}.beta`, tf.zeros([cout]));
    }
  };
  const f = cfg.filters;
  let cin = cfg.inChannels;
  for (let l = 0; l < f.length; l++) {
    conv(`enc${l}.conv0`, cin, f[l]);
    conv(`enc${l}.conv1`, f[l], f[l]);
    cin = f[l];
  }
  for (let l = f.length - 2; l >= 0; l--) {
    // Transposed-conv filter layout: [...k, outChannels, inChannels].
    add(`dec${l}.up.w`, heNormal([...up, f[l], f[l + 1]], f[l + 1], seed++));
    add(`dec${l}.up.b`, tf.zeros([f[l]]));
    conv(`dec${l}.conv0`, 2 * f[l], f[l]);
    conv(`dec${l}.conv1`, f[l], f[l]);
  }
  add('head.w', heNormal([...(cfg.spatialDims === 2 ? [1, 1] : [1, 1, 1]), f[0], cfg.outChannels], f[0], seed++));
  add('head.b', tf.zeros([cfg.outChannels]));
  return p;
}

function get(p: Params, name: string): tf.Variable {
  const v = p.get(name);
  if (!v) throw new Error(`U-Net parameter ${name} is missing`);
  return v;
}

function instanceNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, spatialDims: number): tf.Tensor {
  const axes = spatialDims === 2 ? [1, 2] : [1, 2, 3];
  const { mean, variance } = tf.moments(x, axes, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), gamma), beta);
}

function convBlock(p: Params, cfg: UNetConfig, name: string, x: tf.Tensor): tf.Tensor {
  const w = get(p, `${name}.w`), b = get(p, `${name}.b`);
  if (cfg.normalization === 'none') {
    return convBiasRelu(x, w, b, 1, 'same');
  }
  const y = cfg.spatialDims === 2 ? tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same') : tf.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, 1, 'same');
  return tf.relu(instanceNorm(tf.add(y, b), get(p, `${name}.gamma`), get(p, `${name}.beta`), cfg.spatialDims));
}

function upsample(p: Params, cfg: UNetConfig, name: string, x: tf.Tensor, like: tf.Tensor): tf.Tensor {
  const w = get(p, `${name}.w`), b = get(p, `${name}.b`);
  const outC = w.shape[w.rank - 2];
  // convTranspose + bias as one op (model/upconv.ts: one native call each way on wasm+dnnl).
  return convTransposeBias(x, w, b, [...like.shape.slice(0, -1), outC], 2, 'valid');
}

/** Forward pass: logits. Call inside tf.tidy or an optimizer closure. */
export function forward(p: Params, cfg: UNetConfig, x: tf.Tensor): tf.Tensor {
  const expectRank = cfg.spatialDims + 2;
  if (x.rank !== expectRank || x.shape[expectRank - 1] !== cfg.inChannels) {
    throw new Error(`U-Net input shape [${x.shape.join(',')}], expected rank ${expectRank} with ${cfg.inChannels} channels`);
  }
  const m = sizeMultiple(cfg);
  for (let a = 1; a <= cfg.spatialDims; a++) {
    if (x.shape[a] % m !== 0) throw new Error(`U-Net input spatial size ${x.shape[a]} is not a multiple of ${m}`);
  }
  const skips: tf.Tensor[] = [];
  let h = x;
  const L = cfg.filters.length;
  for (let l = 0; l < L; l++) {
    h = convBlock(p, cfg, `enc${l}.conv0`, h);
    h = convBlock(p, cfg, `enc${l}.conv1`, h);
    if (l === L - 1) break;
    // Pool and keep as one op (model/poolskip.ts: the two gradients summed in one native pass).
    const [down, skip] = maxPoolSkip(h);
    skips.push(skip);
    h = down;
  }
  for (let l = L - 2; l >= 0; l--) {
    const up = upsample(p, cfg, `dec${l}.up`, h, skips[l]);
    h = tf.concat([skips[l], up], -1);
    h = convBlock(p, cfg, `dec${l}.conv0`, h);
    h = convBlock(p, cfg, `dec${l}.conv1`, h);
  }
  return convBias(h, get(p, 'head.w'), get(p, 'head.b'), 1, 'valid');
}

export function countParams(p: Params): number {
  let n = 0;
  for (const v of p.values()) n += v.size;
  return n;
}

export function disposeParams(p: Params): void {
  for (const v of p.values()) v.dispose();
  p.clear();
}
