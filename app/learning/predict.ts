/**
 * Whole-volume prediction: every axial slice through a 2D model, or a 3D sliding window with
 * overlap and Gaussian blending (nnU-Net's σ = patch/8), optionally averaged over mirrored
 * copies (flip TTA). Output: one probability volume per structure in channel order
 * ([whole?, ...parts], data/case.ts), voxel order of volume.ts.
 *
 * From logits to structure probabilities, per head:
 *   joint    whole = σ(x₀);            part k = softmax(x₁..x_{K+1})[k]
 *   sigmoid  structure c = σ(x_c)
 *   softmax  part k = softmax(x)[k];   whole (if the schema has one) = 1 − softmax(x)[0]
 */
import * as tf from '@tensorflow/tfjs';
import type { Geometry, Vec3 } from '../imaging/volume.ts';
import type { HeadConfig } from './heads.ts';
import { accumulateBlock, extractBlock, type BlockSpec } from './data/block.ts';
import { axialAxis } from './data/case.ts';
import { forward, sizeMultiple, type Params, type UNetConfig } from './model/unet.ts';
import { activeBindingLimit } from './webgpu/device.ts';
import { inferenceBatch, largestTensorBytes } from './webgpu/memory.ts';
import { OsteonError } from '../util/errors.ts';

export interface PredictOptions {
  /** Context slices each side (2.5D); 0 for plain 2D; ignored in 3D. */
  context: number;
  /** 3D patch [D,H,W]; ignored in 2D. */
  patch?: number[];
  /** 3D window overlap as a fraction of the patch (default 0.5). */
  overlap?: number;
  /** Volume index axes to mirror for test-time augmentation (each axis separately, plus none). */
  ttaFlipAxes?: number[];
  batchSize?: number;
  /** Normalised value of air, used outside the volume. */
  fill: number;
  hasWhole: boolean;
  onProgress?: (done: number, total: number) => void;
  /**
   * maxStorageBufferBindingSize of the device that runs the windows, when it is not this
   * process's (the GPU host).
   */
  bindingLimit?: number;
  /** A forced budget in bytes for the largest tensor of one window batch (the CLI's --window-budget, tests). */
  windowBudget?: number;
  /** Checked before each window batch: an aborted signal stops the prediction (code 'cancelled'). */
  signal?: AbortSignal;
  /** Told once, before the first window batch: how the volume is streamed. */
  onPlan?: (plan: InferencePlan) => void;
}

/**
 * How a volume streams through the device: `windows` windows (2D slices with their context, or
 * 3D patches), `batch` at a time, so `calls` forward passes; the largest tensor of one pass, and
 * the limit it was fitted to (null on a backend without one). The volume itself stays on the host.
 */
export interface InferencePlan {
  windows: number;
  batch: number;
  calls: number;
  /** One window's input size, [H, W, context channels] (2D) or [D, H, W] (3D). */
  window: number[];
  largestTensorBytes: number;
  limitBytes: number | null;
  /** The normalised input volume's float32 bytes, for comparison: what is never on the device at once. */
  volumeBytes: number;
  text: string;
}

function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

/** Logits [N,...,C] → structure probabilities [N,...,S] (see header). */
export function structureProbs(logits: tf.Tensor, head: HeadConfig, hasWhole: boolean): tf.Tensor {
  return tf.tidy(() => {
    const C = logits.shape[logits.rank - 1];
    switch (head.kind) {
      case 'sigmoid': return tf.sigmoid(logits);
      case 'joint': {
        const [x0, z] = tf.split(logits, [1, C - 1], -1);
        const p = tf.softmax(z);
        const parts = tf.slice(p, Array(logits.rank).fill(0).map((_, i) => (i === logits.rank - 1 ? 1 : 0)), Array(logits.rank).fill(-1));
        return tf.concat([tf.sigmoid(x0), parts], -1);
      }
      case 'softmax': {
        const p = tf.softmax(logits);
        const [bg, parts] = tf.split(p, [1, C - 1], -1);
        return hasWhole ? tf.concat([tf.sub(1, bg), parts], -1) : parts;
      }
      default: {
        const never: never = head;
        throw new Error(`unknown head ${JSON.stringify(never)}`);
      }
    }
  });
}

/** Mirrors a dense channels-last block [s0,s1,s2,ch] along the flagged axes (in place is unsafe: returns new). */
function flipBlock(src: Float32Array, size: number[], ch: number, flip: boolean[]): Float32Array {
  if (!flip.some(Boolean)) return src;
  const out = new Float32Array(src.length);
  const [s0, s1, s2] = size;
  for (let a = 0; a < s0; a++) for (let b = 0; b < s1; b++) for (let c = 0; c < s2; c++) {
    const fa = flip[0] ? s0 - 1 - a : a, fb = flip[1] ? s1 - 1 - b : b, fc = flip[2] ? s2 - 1 - c : c;
    const from = ((a * s1 + b) * s2 + c) * ch, to = ((fa * s1 + fb) * s2 + fc) * ch;
    for (let k = 0; k < ch; k++) out[to + k] = src[from + k];
  }
  return out;
}

function gaussianWeights(size: number[]): Float32Array {
  const w = new Float32Array(size[0] * size[1] * size[2]);
  const g = size.map((n) => {
    const sigma = n / 8, c = (n - 1) / 2;
    return Float32Array.from({ length: n }, (_, i) => Math.exp(-((i - c) ** 2) / (2 * sigma * sigma)));
  });
  let q = 0;
  for (let a = 0; a < size[0]; a++) for (let b = 0; b < size[1]; b++) for (let c = 0; c < size[2]; c++) w[q++] = Math.max(g[0][a] * g[1][b] * g[2][c], 1e-3);
  return w;
}

function windowStarts(dim: number, size: number, step: number): number[] {
  if (size >= dim) return [Math.floor((dim - size) / 2)];
  const n = Math.ceil((dim - size) / step) + 1;
  return Array.from({ length: n }, (_, i) => Math.round((i * (dim - size)) / (n - 1)));
}

/** A window batch to run: input x [N, ...window, Cin] in, structure probabilities [N, ...window, S] back. */
export interface WindowBatch { x: Float32Array; shape: number[] }

/**
 * Where window batches run: this process's tfjs backend (localWindows) or the GPU host page
 * (learning/gpu-host-infer.ts). `bindingLimit` is the device's maxStorageBufferBindingSize when
 * the windows run on another device; `peakGpuBytes` the most device memory seen allocated.
 */
export interface WindowRunner {
  run(b: WindowBatch): Promise<Float32Array>;
  bindingLimit?: number;
  peakGpuBytes(): number | null;
}

/** Device bytes the active backend has allocated (webgpu: its buffer pool), or null where it has no such figure. */
function gpuBytesNow(): number | null {
  const m = tf.memory() as tf.MemoryInfo & { numBytesAllocatedInGPU?: number; numBytesInGPUAllocated?: number };
  const v = m.numBytesAllocatedInGPU ?? m.numBytesInGPUAllocated;
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Window batches on this process's tfjs backend, with the device memory's high-water mark. */
export function localWindows(params: Params, model: UNetConfig, head: HeadConfig, hasWhole: boolean): WindowRunner {
  let peak: number | null = null;
  return {
    async run({ x, shape }) {
      const probs = tf.tidy(() => structureProbs(forward(params, model, tf.tensor(x, shape)), head, hasWhole));
      // An async read: webgpu has no synchronous read-back in Node, and it lets the host breathe.
      const p = (await probs.data()) as Float32Array;
      const g = gpuBytesNow();
      if (g !== null) peak = Math.max(peak ?? 0, g);
      probs.dispose();
      return p;
    },
    peakGpuBytes: () => peak,
  };
}

export function predictVolume(params: Params, model: UNetConfig, head: HeadConfig, image: Float32Array, geometry: Geometry, opts: PredictOptions): Promise<Float32Array[]> {
  return predictVolumeWith(localWindows(params, model, head, opts.hasWhole).run, model, head, image, geometry, opts);
}

/** predictVolume with the windows run elsewhere (the GPU host): `run` answers each window batch. */
export async function predictVolumeWith(run: (b: WindowBatch) => Promise<Float32Array>, model: UNetConfig, head: HeadConfig, image: Float32Array, geometry: Geometry, opts: PredictOptions): Promise<Float32Array[]> {
  const steps = predictionSteps(model, head, image, geometry, opts);
  let r = steps.next();
  while (!r.done) {
    if (opts.signal?.aborted) throw new OsteonError({ code: 'cancelled', message: 'prediction cancelled' });
    r = steps.next(await run(r.value));
  }
  return r.value;
}

const mib = (b: number) => (b < 2 ** 20 ? `${(b / 1024).toFixed(1)} KiB` : `${(b / 2 ** 20).toFixed(b < 10 * 2 ** 20 ? 1 : 0)} MiB`);

/**
 * The prediction as steps: yields each window batch, takes its probabilities back, and returns
 * the blended structure volumes. One plan for both ways of running the windows.
 */
function* predictionSteps(model: UNetConfig, head: HeadConfig, image: Float32Array, geometry: Geometry, opts: PredictOptions): Generator<WindowBatch, Float32Array[], Float32Array> {
  const dims = geometry.dims as Vec3;
  const nvox = dims[0] * dims[1] * dims[2];
  const S = (head.kind === 'softmax' ? head.classes - 1 + (opts.hasWhole ? 1 : 0) : head.kind === 'joint' ? head.parts + 1 : head.channels);
  const acc = Array.from({ length: S }, () => new Float32Array(nvox));
  const wsum = new Float32Array(nvox);
  const m = sizeMultiple(model);
  let batchSize = opts.batchSize ?? 4;

  // Blocks to run: image spec (with flips) + where the output goes.
  interface Job { spec: BlockSpec; out: BlockSpec; flip: boolean[] }
  const jobs: Job[] = [];
  let inSize: [number, number, number], outSize: [number, number, number], weights: Float32Array | null = null;
  const flips: boolean[][] = [[false, false, false]];
  if (model.spatialDims === 2) {
    const s = axialAxis(geometry);
    const others = [0, 1, 2].filter((a) => a !== s);
    const axes: [number, number, number] = [others[1], others[0], s];
    const H = roundUp(dims[axes[0]], m), W = roundUp(dims[axes[1]], m);
    const cin = 2 * opts.context + 1;
    inSize = [H, W, cin];
    outSize = [H, W, 1];
    const r0 = Math.floor((dims[axes[0]] - H) / 2), c0 = Math.floor((dims[axes[1]] - W) / 2);
    for (const a of opts.ttaFlipAxes ?? []) { const b = axes.indexOf(a); if (b === 0 || b === 1) { const f = [false, false, false]; f[b] = true; flips.push(f); } }
    for (let t = 0; t < dims[s]; t++) for (const f of flips) {
      jobs.push({ spec: { axes, start: [r0, c0, t - opts.context], size: inSize, flip: [f[0], f[1], false] }, out: { axes, start: [r0, c0, t], size: outSize }, flip: f });
    }
  } else {
    const axes: [number, number, number] = [2, 1, 0];
    const patch = opts.patch ?? [64, 64, 64];
    inSize = [patch[0], patch[1], patch[2]];
    outSize = inSize;
    weights = gaussianWeights(inSize);
    const overlap = opts.overlap ?? 0.5;
    const starts = axes.map((a, b) => windowStarts(dims[a], inSize[b], Math.max(1, Math.round(inSize[b] * (1 - overlap)))));
    for (const a of opts.ttaFlipAxes ?? []) { const b = axes.indexOf(a); const f = [false, false, false]; f[b] = true; flips.push(f); }
    for (const z of starts[0]) for (const y of starts[1]) for (const x of starts[2]) for (const f of flips) {
      const start: [number, number, number] = [z, y, x];
      jobs.push({ spec: { axes, start, size: inSize, flip: f as [boolean, boolean, boolean] }, out: { axes, start, size: outSize }, flip: f });
    }
  }
  // Windows stream through the device a batch at a time (the volume stays on the host); on
  // webgpu the batch also shrinks until its largest tensor fits one storage binding.
  const limit = opts.bindingLimit ?? activeBindingLimit();
  const net = { spatialDims: model.spatialDims, patch: model.spatialDims === 2 ? [inSize[0], inSize[1]] : inSize, filters: model.filters, inChannels: model.inChannels, outChannels: model.outChannels };
  if (limit !== null) batchSize = inferenceBatch(net, batchSize, limit);
  const budget = opts.windowBudget;
  if (budget !== undefined) while (batchSize > 1 && largestTensorBytes({ ...net, batch: batchSize }) > budget) batchSize = Math.max(1, Math.floor(batchSize / 2));
  batchSize = Math.max(1, Math.min(batchSize, jobs.length));
  const calls = Math.ceil(jobs.length / batchSize);
  const largest = largestTensorBytes({ ...net, batch: batchSize });
  opts.onPlan?.({
    windows: jobs.length, batch: batchSize, calls, window: [...inSize], largestTensorBytes: largest, limitBytes: limit, volumeBytes: nvox * 4,
    text: `inference plan: ${jobs.length} windows of ${inSize.join('×')}, ${batchSize} per pass (${calls} passes); largest tensor ${mib(largest)}`
      + (limit !== null ? ` of the device's maxStorageBufferBindingSize ${mib(limit)}` : '') + (budget !== undefined ? `, window budget ${mib(budget)}` : '') + `; the ${dims.join('×')} volume (${mib(nvox * 4)}) stays on the host`,
  });
  const inVol = inSize[0] * inSize[1] * inSize[2];
  const outVol = outSize[0] * outSize[1] * outSize[2];
  for (let j0 = 0; j0 < jobs.length; j0 += batchSize) {
    const batch = jobs.slice(j0, j0 + batchSize);
    const x = new Float32Array(batch.length * inVol);
    batch.forEach((job, b) => extractBlock(image, dims, job.spec, opts.fill, x, b * inVol));
    const shape = model.spatialDims === 2 ? [batch.length, inSize[0], inSize[1], inSize[2]] : [batch.length, ...inSize, 1];
    const p = yield { x, shape };
    batch.forEach((job, b) => {
      const block = flipBlock(p.subarray(b * outVol * S, (b + 1) * outVol * S), outSize, S, job.flip);
      for (let k = 0; k < S; k++) accumulateBlock(block, dims, job.out, acc[k], weights, k === 0 ? wsum : null, S, k);
    });
    opts.onProgress?.(Math.min(j0 + batchSize, jobs.length), jobs.length);
  }
  for (let v = 0; v < nvox; v++) {
    const w = wsum[v];
    if (w > 0 && w !== 1) for (let k = 0; k < S; k++) acc[k][v] /= w;
  }
  return acc;
}

/**
 * Probabilities → binary structure masks. Sigmoid channels (the joint head's whole, every sigmoid
 * channel) use their threshold (default 0.5); softmax parts take the arg-max over background and
 * parts, so parts never overlap; a softmax head's whole is the union of its parts.
 */
export function binarize(probs: Float32Array[], head: HeadConfig, hasWhole: boolean, thresholds?: number[]): Uint8Array[] {
  const n = probs[0].length;
  const th = (k: number) => thresholds?.[k] ?? 0.5;
  if (head.kind === 'sigmoid') return probs.map((p, k) => { const t = th(k); const m = new Uint8Array(n); for (let v = 0; v < n; v++) m[v] = p[v] >= t ? 1 : 0; return m; });
  const first = hasWhole ? 1 : 0;
  const K = probs.length - first;
  const out = probs.map(() => new Uint8Array(n));
  for (let v = 0; v < n; v++) {
    let bg = 1, best = -1, bestP = -1;
    for (let k = 0; k < K; k++) { const q = probs[first + k][v]; bg -= q; if (q > bestP) { bestP = q; best = k; } }
    if (bestP > bg) out[first + best][v] = 1;
  }
  if (hasWhole) {
    if (head.kind === 'joint') { const t = th(0); for (let v = 0; v < n; v++) out[0][v] = probs[0][v] >= t ? 1 : 0; }
    else for (let v = 0; v < n; v++) for (let k = 1; k < probs.length; k++) if (out[k][v]) { out[0][v] = 1; break; }
  }
  return out;
}
