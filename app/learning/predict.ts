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
import { extractBlock, type BlockSpec } from './data/block.ts';
import { axialAxis } from './data/case.ts';
import { forward, sizeMultiple, type Params, type UNetConfig } from './model/unet.ts';
import { activeBindingLimit } from './webgpu/device.ts';
import { inferenceBatch, largestTensorBytes } from './webgpu/memory.ts';
import { OsteonError } from '../util/errors.ts';
import { accumulateWindows, headMode, HEAD_MODE, nativeAccumulateActive, normalizeWeights, type AccumulateSpec } from './window-accumulate.ts';
import { profileSpan } from './profile.ts';

export interface PredictOptions {
  /** Context slices each side (2.5D); 0 for plain 2D; ignored in 3D. */
  context: number;
  /** 3D patch [D,H,W]; ignored in 2D. */
  patch?: number[];
  /** 3D window overlap as a fraction of the patch (default 0.5). */
  overlap?: number;
  /** Volume index axes to mirror for test-time augmentation (each axis separately, plus none). */
  ttaFlipAxes?: number[];
  /** Windows per forward pass; default up to 4, fewer for large windows (defaultBatch). */
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

/**
 * Windows per forward pass unless the caller says: up to 4, fewer when a window is large, so
 * that the first level's activations of a batch stay near 4 M floats (16 MiB). The wasm heap
 * grows to the largest forward pass and never shrinks: whole 512×512 slices 4 at a time grew it
 * past 1 GB, one at a time to about 0.3 GB, at the same speed (measured, bench/wholect.ts).
 */
function defaultBatch(model: UNetConfig, window: number[]): number {
  const floats = window[0] * window[1] * window[2] * (model.filters[0] ?? 1);
  return Math.max(1, Math.min(4, Math.floor((1 << 22) / floats)));
}

/** A window batch to run: input x [N, ...window, Cin] in, structure probabilities [N, ...window, S] back. */
export interface WindowBatch { x: Float32Array; shape: number[] }

/**
 * Where window batches run: this process's tfjs backend (localWindows, or the logits runner that
 * predictSlabs uses) or the GPU host page (learning/gpu-host-infer.ts). `logits`: run gives the
 * model's logits and the head's activation runs in the blend (window-accumulate.ts); otherwise
 * structure probabilities. `bindingLimit` is the device's maxStorageBufferBindingSize when the
 * windows run on another device; `peakGpuBytes` the most device memory seen allocated.
 */
export interface WindowRunner {
  run(b: WindowBatch): Promise<Float32Array>;
  logits?: boolean;
  bindingLimit?: number;
  peakGpuBytes(): number | null;
}

/** Device bytes the active backend has allocated (webgpu: its buffer pool), or null where it has no such figure. */
function gpuBytesNow(): number | null {
  const m = tf.memory() as tf.MemoryInfo & { numBytesAllocatedInGPU?: number; numBytesInGPUAllocated?: number };
  const v = m.numBytesAllocatedInGPU ?? m.numBytesInGPUAllocated;
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** A runner on this process's tfjs backend: `out` maps the logits tensor to what run gives back. */
function localRunner(params: Params, model: UNetConfig, out: ((logits: tf.Tensor) => tf.Tensor) | null): WindowRunner {
  let peak: number | null = null;
  return {
    logits: out === null,
    async run({ x, shape }) {
      const y = tf.tidy(() => { const logits = forward(params, model, tf.tensor(x, shape)); return out ? out(logits) : logits; });
      // An async read: webgpu has no synchronous read-back in Node, and it lets the host breathe.
      const v = (await y.data()) as Float32Array;
      const g = gpuBytesNow();
      if (g !== null) peak = Math.max(peak ?? 0, g);
      y.dispose();
      return v;
    },
    peakGpuBytes: () => peak,
  };
}

/** Window batches on this process's tfjs backend giving structure probabilities, with the device memory's high-water mark. */
export function localWindows(params: Params, model: UNetConfig, head: HeadConfig, hasWhole: boolean): WindowRunner {
  return localRunner(params, model, (logits) => structureProbs(logits, head, hasWhole));
}

/** Window batches on this process's tfjs backend giving logits (the activation then runs in the blend). */
export function localLogitWindows(params: Params, model: UNetConfig): WindowRunner {
  return localRunner(params, model, null);
}

/** What a batch gives back: structure probabilities, or the model's logits (the head's activation then runs in the blend). */
interface WindowResult { values: Float32Array; logits: boolean }

/**
 * The image a prediction reads: normalised float32 voxels, or the raw voxels (e.g. int16 HU) and
 * the mapping to apply, which then runs one slab at a time (no full float32 copy of the CT).
 */
export type ImageSource = Float32Array | { raw: ArrayLike<number>; map: (raw: ArrayLike<number>, from: number, to: number, out: Float32Array, at: number) => void };

/**
 * Receives finished planes [z0, z1) of volume axis 2 (the slowest), in order, as one
 * probability array per structure ((z1 − z0)·dims[0]·dims[1] values, voxel order of volume.ts).
 * The arrays are reused after the call returns: copy what you keep.
 */
export type SlabSink = (z0: number, z1: number, probs: Float32Array[]) => void;

/** Probability volumes per structure (see the header), blended whole in memory. */
export async function predictVolume(params: Params, model: UNetConfig, head: HeadConfig, image: Float32Array, geometry: Geometry, opts: PredictOptions): Promise<Float32Array[]> {
  return collect(geometry, (sink) => predictSlabs(params, model, head, image, geometry, opts, sink));
}

/**
 * The prediction streamed: `sink` gets each slab of finished planes as soon as no later window
 * touches it, so only a slab of probabilities (and of normalised input, for an `ImageSource` with
 * a mapping) is ever held. Runs the windows here on the active tfjs backend and blends the logits
 * (the head's activation fused into the blend: window-accumulate.ts, native when the addon is on).
 */
export async function predictSlabs(params: Params, model: UNetConfig, head: HeadConfig, image: ImageSource, geometry: Geometry, opts: PredictOptions, sink: SlabSink): Promise<void> {
  return predictSlabsWith(localLogitWindows(params, model), model, head, image, geometry, opts, sink);
}

/** predictSlabs with the windows run by `runner` (here or on the GPU host); checks `opts.signal` before each batch. */
export async function predictSlabsWith(runner: WindowRunner, model: UNetConfig, head: HeadConfig, image: ImageSource, geometry: Geometry, opts: PredictOptions, sink: SlabSink): Promise<void> {
  const steps = predictionSteps(model, head, image, geometry, { ...opts, bindingLimit: opts.bindingLimit ?? runner.bindingLimit }, sink);
  let r = steps.next();
  while (!r.done) {
    if (opts.signal?.aborted) throw new OsteonError({ code: 'cancelled', message: 'prediction cancelled' });
    r = steps.next({ values: await runner.run(r.value), logits: runner.logits === true });
  }
}

/** predictVolume with the windows run elsewhere (the GPU host): `run` answers each window batch. */
export async function predictVolumeWith(run: (b: WindowBatch) => Promise<Float32Array>, model: UNetConfig, head: HeadConfig, image: Float32Array, geometry: Geometry, opts: PredictOptions): Promise<Float32Array[]> {
  return collect(geometry, (sink) => predictSlabsWith({ run, peakGpuBytes: () => null }, model, head, image, geometry, opts, sink));
}

/** Gathers a streamed prediction into whole volumes. */
async function collect(geometry: Geometry, predict: (sink: SlabSink) => Promise<void>): Promise<Float32Array[]> {
  const [d0, d1, d2] = geometry.dims;
  const plane = d0 * d1;
  let out: Float32Array[] = [];
  await predict((z0, _z1, probs) => {
    if (out.length === 0) out = probs.map(() => new Float32Array(plane * d2));
    probs.forEach((p, k) => out[k].set(p, z0 * plane));
  });
  return out;
}

/** Planes [lo, hi) of volume axis 2 that a block touches (clipped to the volume). */
function zRange(spec: BlockSpec, depth: number): [number, number] {
  const b = spec.axes.indexOf(2);
  return [Math.max(0, spec.start[b]), Math.min(depth, spec.start[b] + spec.size[b])];
}

/** spec with its axis-2 start moved into a slab that begins at plane z0. */
function shifted<T extends BlockSpec>(spec: T, z0: number): T {
  const b = spec.axes.indexOf(2);
  const start = [...spec.start] as [number, number, number];
  start[b] -= z0;
  return { ...spec, start };
}

const mib = (b: number) => (b < 2 ** 20 ? `${(b / 1024).toFixed(1)} KiB` : `${(b / 2 ** 20).toFixed(b < 10 * 2 ** 20 ? 1 : 0)} MiB`);

/**
 * Planes [c0, c1) of the image, normalised (a sliding cache over volume axis 2); the image itself
 * when it is already float32.
 */
class InputSlab {
  private c0 = 0;
  private c1 = 0;
  private buf = new Float32Array(0);
  constructor(private readonly image: ImageSource, private readonly dims: Vec3) {}

  /** The slab holding planes [lo, hi) (and its first plane), valid until the next call. */
  cover(lo: number, hi: number): { data: Float32Array; z0: number; depth: number } {
    const img = this.image;
    if (img instanceof Float32Array) return { data: img, z0: 0, depth: this.dims[2] };
    const plane = this.dims[0] * this.dims[1];
    if (lo < this.c0 || hi > this.c1) {
      const keep0 = Math.max(lo, this.c0), keep1 = Math.min(hi, this.c1);
      const need = (hi - lo) * plane;
      if (this.buf.length < need) {
        const next = new Float32Array(need);
        if (keep1 > keep0) next.set(this.buf.subarray((keep0 - this.c0) * plane, (keep1 - this.c0) * plane), (keep0 - lo) * plane);
        this.buf = next;
      } else if (keep1 > keep0) {
        this.buf.copyWithin((keep0 - lo) * plane, (keep0 - this.c0) * plane, (keep1 - this.c0) * plane);
      }
      for (let z = lo; z < hi; z++) if (z < keep0 || z >= keep1) img.map(img.raw, z * plane, (z + 1) * plane, this.buf, (z - lo) * plane);
      this.c0 = lo;
      this.c1 = hi;
    }
    return { data: this.buf, z0: this.c0, depth: this.c1 - this.c0 };
  }
}

/**
 * Planes [z0, z0 + depth) of every structure's weighted sum and the summed weight. Grows when a
 * batch reaches further; `flush` hands finished planes to the sink and slides the rest down.
 */
class OutputSlab {
  z0 = 0;
  depth = 0;
  acc: Float32Array[];
  wsum = new Float32Array(0);
  constructor(private readonly S: number, private readonly plane: number, private readonly total: number) {
    this.acc = Array.from({ length: S }, () => new Float32Array(0));
  }

  /** Makes room up to plane `hi` (exclusive). */
  reach(hi: number): void {
    const want = Math.min(this.total, hi) - this.z0;
    if (want <= this.depth) return;
    const depth = want;
    const grow = (a: Float32Array) => { const b = new Float32Array(depth * this.plane); b.set(a); return b; };
    this.acc = this.acc.map(grow);
    this.wsum = grow(this.wsum);
    this.depth = depth;
  }

  /** Normalises planes [z0, upTo), gives them to the sink, and slides the slab to start at upTo. */
  flush(upTo: number, sink: SlabSink): void {
    const n = Math.min(upTo, this.z0 + this.depth) - this.z0;
    if (n <= 0) return;
    const len = n * this.plane, all = this.depth * this.plane;
    const views = this.acc.map((a) => a.subarray(0, len));
    profileSpan('(predict) divide by the blend weights', nativeAccumulateActive() ? 'native' : 'js', () => normalizeWeights(len, views, this.wsum.subarray(0, len)));
    sink(this.z0, this.z0 + n, views);
    profileSpan('(predict) slide the output slab', 'js', () => {
      for (const a of [...this.acc, this.wsum]) {
        a.copyWithin(0, len, all);
        a.fill(0, all - len);
      }
    });
    this.z0 += n;
  }
}

/**
 * The prediction as steps: yields each window batch, takes its outputs back, and streams the
 * blended structure probabilities to `sink`. One plan for both ways of running the windows.
 */
function* predictionSteps(model: UNetConfig, head: HeadConfig, image: ImageSource, geometry: Geometry, opts: PredictOptions, sink: SlabSink): Generator<WindowBatch, void, WindowResult> {
  const dims = geometry.dims as Vec3;
  const S = (head.kind === 'softmax' ? head.classes - 1 + (opts.hasWhole ? 1 : 0) : head.kind === 'joint' ? head.parts + 1 : head.channels);
  const m = sizeMultiple(model);
  // Blocks to run: image spec (with flips) + where the output goes.
  interface Job { spec: BlockSpec; out: BlockSpec; flip: [boolean, boolean, boolean] }
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
      jobs.push({ spec: { axes, start: [r0, c0, t - opts.context], size: inSize, flip: [f[0], f[1], false] }, out: { axes, start: [r0, c0, t], size: outSize }, flip: [f[0], f[1], f[2]] });
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
      jobs.push({ spec: { axes, start, size: inSize, flip: f as [boolean, boolean, boolean] }, out: { axes, start, size: outSize }, flip: [f[0], f[1], f[2]] });
    }
  }
  // Windows stream through the device a batch at a time (the volume stays on the host); on
  // webgpu the batch also shrinks until its largest tensor fits one storage binding.
  let batchSize = opts.batchSize ?? defaultBatch(model, outSize);
  const limit = opts.bindingLimit ?? activeBindingLimit();
  const net = { spatialDims: model.spatialDims, patch: model.spatialDims === 2 ? [inSize[0], inSize[1]] : inSize, filters: model.filters, inChannels: model.inChannels, outChannels: model.outChannels };
  if (limit !== null) batchSize = inferenceBatch(net, batchSize, limit);
  const budget = opts.windowBudget;
  if (budget !== undefined) while (batchSize > 1 && largestTensorBytes({ ...net, batch: batchSize }) > budget) batchSize = Math.max(1, Math.floor(batchSize / 2));
  batchSize = Math.max(1, Math.min(batchSize, jobs.length));
  const calls = Math.ceil(jobs.length / batchSize);
  const largest = largestTensorBytes({ ...net, batch: batchSize });
  const nvox = dims[0] * dims[1] * dims[2];
  opts.onPlan?.({
    windows: jobs.length, batch: batchSize, calls, window: [...inSize], largestTensorBytes: largest, limitBytes: limit, volumeBytes: nvox * 4,
    text: `inference plan: ${jobs.length} windows of ${inSize.join('×')}, ${batchSize} per pass (${calls} passes); largest tensor ${mib(largest)}`
      + (limit !== null ? ` of the device's maxStorageBufferBindingSize ${mib(limit)}` : '') + (budget !== undefined ? `, window budget ${mib(budget)}` : '') + `; the ${dims.join('×')} volume (${mib(nvox * 4)}) stays on the host`,
  });
  // Output planes are final once no later job starts at or below them: jobs go up volume axis 2
  // (3D windows z-major, axial 2D slice by slice). A 2D model on a non-axial series writes every
  // plane with every job, so its slab is the whole volume, as before streaming.
  const outFrom = jobs.map((j) => zRange(j.out, dims[2])[0]);
  const finishedBelow = new Int32Array(jobs.length + 1);
  finishedBelow[jobs.length] = dims[2];
  for (let j = jobs.length - 1; j >= 0; j--) finishedBelow[j] = Math.min(outFrom[j], finishedBelow[j + 1]);
  const input = new InputSlab(image, dims);
  const output = new OutputSlab(S, dims[0] * dims[1], dims[2]);
  const inVol = inSize[0] * inSize[1] * inSize[2];
  for (let j0 = 0; j0 < jobs.length; j0 += batchSize) {
    const batch = jobs.slice(j0, j0 + batchSize);
    let lo = dims[2], hi = 0, outHi = 0;
    for (const job of batch) {
      const [a, b] = zRange(job.spec, dims[2]);
      if (b > a) { lo = Math.min(lo, a); hi = Math.max(hi, b); }
      outHi = Math.max(outHi, zRange(job.out, dims[2])[1]);
    }
    const src = profileSpan('(predict) normalise the HU (input slab)', 'js', () => input.cover(Math.min(lo, hi), hi));
    const srcDims: Vec3 = [dims[0], dims[1], src.depth];
    const x = new Float32Array(batch.length * inVol);
    profileSpan('(predict) cut the windows', 'js', () => batch.forEach((job, b) => extractBlock(src.data, srcDims, shifted(job.spec, src.z0), opts.fill, x, b * inVol)));
    const shape = model.spatialDims === 2 ? [batch.length, inSize[0], inSize[1], inSize[2]] : [batch.length, ...inSize, 1];
    const r = yield { x, shape };
    output.flush(finishedBelow[j0], sink);
    output.reach(outHi);
    const C = r.logits ? model.outChannels : S;
    if (r.values.length !== batch.length * outSize[0] * outSize[1] * outSize[2] * C) throw new Error(`prediction: a window batch gave ${r.values.length} values, expected ${C} per voxel`);
    const mode = r.logits ? headMode(head, opts.hasWhole) : HEAD_MODE.probs;
    const spec: AccumulateSpec = {
      mode, channels: C, size: outSize, axes: batch[0].out.axes, slab: [dims[0], dims[1], output.depth],
      starts: batch.map((job) => shifted(job.out, output.z0).start), flips: batch.map((job) => job.flip),
    };
    profileSpan('(predict) activation + blend (accumulateWindows)', nativeAccumulateActive() ? 'native' : 'js', () => accumulateWindows(spec, r.values, weights, output.acc, output.wsum));
    output.flush(finishedBelow[Math.min(j0 + batchSize, jobs.length)], sink);
    opts.onProgress?.(Math.min(j0 + batchSize, jobs.length), jobs.length);
  }
  output.flush(dims[2], sink);
}

/**
 * Probabilities → binary structure masks. Sigmoid channels (the joint head's whole, every sigmoid
 * channel) use their threshold (default 0.5); softmax parts take the arg-max over background and
 * parts, so parts never overlap; a softmax head's whole is the union of its parts.
 */
export function binarize(probs: Float32Array[], head: HeadConfig, hasWhole: boolean, thresholds?: number[]): Uint8Array[] {
  const out = probs.map((p) => new Uint8Array(p.length));
  binarizeInto(probs, head, hasWhole, thresholds, out, 0);
  return out;
}

/** binarize written into `out[k]` from index `at` (the masks of a whole volume, a slab at a time). */
export function binarizeInto(probs: Float32Array[], head: HeadConfig, hasWhole: boolean, thresholds: number[] | undefined, out: Uint8Array[], at: number): void {
  const n = probs[0].length;
  const th = (k: number) => thresholds?.[k] ?? 0.5;
  if (head.kind === 'sigmoid') {
    probs.forEach((p, k) => { const t = th(k), m = out[k]; for (let v = 0; v < n; v++) m[at + v] = p[v] >= t ? 1 : 0; });
    return;
  }
  const first = hasWhole ? 1 : 0;
  const P = probs.slice(first), M = out.slice(first);
  const K = P.length;
  for (const m of M) m.fill(0, at, at + n);
  for (let v = 0; v < n; v++) {
    let bg = 1, best = -1, bestP = -1;
    for (let k = 0; k < K; k++) { const q = P[k][v]; bg -= q; if (q > bestP) { bestP = q; best = k; } }
    if (bestP > bg) M[best][at + v] = 1;
  }
  if (hasWhole) {
    const W = out[0];
    if (head.kind === 'joint') {
      const t = th(0), p0 = probs[0];
      for (let v = 0; v < n; v++) W[at + v] = p0[v] >= t ? 1 : 0;
    } else {
      W.fill(0, at, at + n);
      for (let v = 0; v < n; v++) for (let k = 0; k < K; k++) if (M[k][at + v]) { W[at + v] = 1; break; }
    }
  }
}
