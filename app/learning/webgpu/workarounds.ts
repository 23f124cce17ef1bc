/**
 * Every workaround Osteon needs for @tensorflow/tfjs-backend-webgpu 4.22, in one module that is
 * browser-safe (no Node imports, no DOM globals): the CLI installs it on Dawn's Node binding,
 * the in-app GPU host installs the same code on Chromium's `navigator.gpu`.
 *
 * The defects, measured in ../shared/notes/gpu-webgpu-measured.md (§ Kernel coverage):
 * 1. A rank-5 binary op whose other operand is 1-D and shorter than 128 (bias add, per-channel
 *    scale, PReLU alpha) takes the shared-memory BinaryOpProgram, whose WGSL indexes a `vec5`:
 *    the shader fails to compile and the op returns zeros. Reshaping the 1-D operand to [1, C]
 *    takes the plain program (`binary_op_webgpu.js`: useSharedMemoryWith* needs rank ≤ 1).
 * 2. Rank-5 `Select` throws "Where for rank 5 is not yet supported". Where is elementwise, so
 *    it runs on the flattened tensors.
 * 3. `AddN` with n inputs binds n + 1 storage buffers; above the device's
 *    maxStorageBuffersPerShaderStage it yields garbage. Sums are chunked below the limit.
 * 3b. Rank-5 `PadV2` (the gradient of a rank-5 slice, e.g. the joint head's channel split)
 *    also indexes a `vec5` and fails to compile. Runs of unpadded axes are merged, so the pad
 *    runs at rank ≤ 4 (in two passes when every axis is padded).
 * 3c. `Cast` int32/bool → float32 only relabels the dtype and keeps the integer buffer; a
 *    program that copies its input as is (TransposeProgram, behind a sum over leading axes of a
 *    one-hot) then fails to compile ("expected 'f32', got 'i32'"). The cast is done by an
 *    elementwise program instead (x + 0.0), whose input getter converts to f32.
 * 4. Oversized bindings and other validation errors only log. `guardDevice` (guard.ts) turns
 *    them into exceptions.
 * 5. On every backend: the rank-5 `batchNorm` gradient fails (tfjs reshapes to rank 4 before a
 *    tile), and `conv3dTranspose` has no gradient (kernels/conv3d_transpose_grad.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { registerConv3dTransposeGradient } from '../kernels/conv3d_transpose_grad.ts';

/** Kernels that run BinaryOpProgram on webgpu (tfjs-backend-webgpu 4.22 kernels/*.js). */
const BINARY_KERNELS = [
  'Add', 'Sub', 'Multiply', 'RealDiv', 'Maximum', 'Minimum', 'Pow', 'SquaredDifference', 'Prelu',
  'FloorDiv', 'Mod', 'Atan2', 'Equal', 'NotEqual', 'Greater', 'GreaterEqual', 'Less', 'LessEqual',
  'LogicalAnd', 'LogicalOr',
] as const;

type KernelArgs = Parameters<tf.KernelFunc>[0];
type Backend = KernelArgs['backend'];


/** The default when a backend does not say (the WebGPU spec's default limit). */
const DEFAULT_STORAGE_BUFFERS = 8;

function reshapeInfo(x: tf.TensorInfo, shape: number[], backend: Backend): tf.TensorInfo {
  const k = tf.getKernel('Reshape', 'webgpu') as tf.KernelConfig;
  return k.kernelFunc({ inputs: { x }, backend, attrs: { shape } }) as tf.TensorInfo;
}

function dispose(backend: Backend, ...infos: tf.TensorInfo[]): void {
  for (const t of infos) (backend as tf.KernelBackend).disposeData(t.dataId);
}

function asSingle(out: tf.TensorInfo | tf.TensorInfo[]): tf.TensorInfo {
  return Array.isArray(out) ? out[0] : out;
}

/** Replaces a webgpu kernel with `make(builtin)`; returns false when webgpu has no such kernel. */
function wrapKernel(name: string, make: (builtin: tf.KernelFunc) => tf.KernelFunc): boolean {
  const old = tf.getKernel(name, 'webgpu') as tf.KernelConfig | undefined;
  if (!old) return false;
  tf.unregisterKernel(name, 'webgpu');
  tf.registerKernel({ kernelName: name, backendName: 'webgpu', kernelFunc: make(old.kernelFunc) });
  return true;
}

/** Defect 1: at output rank ≥ 5, a 1-D operand becomes [1, C] (same broadcast, plain program). */
function binaryRank5(builtin: tf.KernelFunc): tf.KernelFunc {
  return (args: KernelArgs) => {
    const names = Object.keys(args.inputs);
    const infos = names.map((n) => args.inputs[n] as tf.TensorInfo);
    const outRank = Math.max(...infos.map((t) => t.shape.length));
    if (outRank < 5 || !infos.some((t) => t.shape.length === 1)) return builtin(args);
    const temps: tf.TensorInfo[] = [];
    const inputs: tf.NamedTensorInfoMap = {};
    names.forEach((n, i) => {
      const t = infos[i];
      if (t.shape.length === 1) {
        const r = reshapeInfo(t, [1, t.shape[0]], args.backend);
        temps.push(r);
        inputs[n] = r;
      } else inputs[n] = t;
    });
    try {
      return builtin({ ...args, inputs });
    } finally {
      dispose(args.backend, ...temps);
    }
  };
}

/** Defect 2: Select above rank 4 runs on 1-D (same-shape condition) or 2-D (rank-1 condition) views. */
function selectAnyRank(builtin: tf.KernelFunc): tf.KernelFunc {
  return (args: KernelArgs) => {
    const { condition, t, e } = args.inputs as { condition: tf.TensorInfo; t: tf.TensorInfo; e: tf.TensorInfo };
    if (t.shape.length <= 4) return builtin(args);
    const size = t.shape.reduce((a, b) => a * b, 1);
    const view = condition.shape.length === 1 ? [t.shape[0], size / t.shape[0]] : [size];
    const c2 = condition.shape.length === 1 ? condition : reshapeInfo(condition, view, args.backend);
    const t2 = reshapeInfo(t, view, args.backend), e2 = reshapeInfo(e, view, args.backend);
    let flat: tf.TensorInfo | null = null;
    try {
      flat = asSingle(builtin({ ...args, inputs: { condition: c2, t: t2, e: e2 } }));
      return reshapeInfo(flat, [...t.shape], args.backend);
    } finally {
      dispose(args.backend, t2, e2, ...(c2 === condition ? [] : [c2]), ...(flat ? [flat] : []));
    }
  };
}

type Paddings = Array<[number, number]>;

/** Merges runs of unpadded axes: the same pad on a view of rank ≤ the input's. */
function mergeUnpadded(shape: readonly number[], paddings: Paddings): { shape: number[]; paddings: Paddings } {
  const out: number[] = [], pads: Paddings = [];
  shape.forEach((d, i) => {
    const [a, b] = paddings[i];
    const last = pads.length - 1;
    if (a === 0 && b === 0 && last >= 0 && pads[last][0] === 0 && pads[last][1] === 0) out[last] *= d;
    else { out.push(d); pads.push([a, b]); }
  });
  return { shape: out, paddings: pads };
}

/** Defect 3b: PadV2 above rank 4 on merged views, in two passes if needed (axes 0–1, then 2–). */
function padAnyRank(builtin: tf.KernelFunc): tf.KernelFunc {
  const padOnce = (args: KernelArgs, x: tf.TensorInfo, paddings: Paddings): tf.TensorInfo => {
    const m = mergeUnpadded(x.shape, paddings);
    if (m.shape.length === x.shape.length) return asSingle(builtin({ ...args, inputs: { x }, attrs: { ...args.attrs, paddings } }));
    const view = reshapeInfo(x, m.shape, args.backend);
    let padded: tf.TensorInfo | null = null;
    try {
      padded = asSingle(builtin({ ...args, inputs: { x: view }, attrs: { ...args.attrs, paddings: m.paddings } }));
      const outShape = x.shape.map((d, i) => d + paddings[i][0] + paddings[i][1]);
      return reshapeInfo(padded, outShape, args.backend);
    } finally {
      dispose(args.backend, view, ...(padded ? [padded] : []));
    }
  };
  return (args: KernelArgs) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const paddings = args.attrs!.paddings as Paddings;
    if (x.shape.length <= 4) return builtin(args);
    if (mergeUnpadded(x.shape, paddings).shape.length <= 4) return padOnce(args, x, paddings);
    const first = paddings.map((p, i) => (i < 2 ? p : [0, 0])) as Paddings;
    const second = paddings.map((p, i) => (i < 2 ? [0, 0] : p)) as Paddings;
    const mid = padOnce(args, x, first);
    try {
      return padOnce(args, mid, second);
    } finally {
      dispose(args.backend, mid);
    }
  };
}

/** Defect 3c: a real int32/bool → float32 conversion on the device. */
function castToFloat(builtin: tf.KernelFunc): tf.KernelFunc {
  return (args: KernelArgs) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const be = args.backend as unknown as { shouldExecuteOnCPU(t: tf.TensorInfo[]): boolean; makeTensorInfo(shape: number[], dtype: string, values: Float32Array): tf.TensorInfo };
    if (args.attrs!.dtype !== 'float32' || (x.dtype !== 'int32' && x.dtype !== 'bool') || be.shouldExecuteOnCPU([x])) return builtin(args);
    const add = tf.getKernel('Add', 'webgpu') as tf.KernelConfig;
    const zero = be.makeTensorInfo([], 'float32', new Float32Array([0]));
    try {
      return add.kernelFunc({ inputs: { a: x, b: zero }, backend: args.backend, attrs: {} });
    } finally {
      dispose(args.backend, zero);
    }
  };
}

/** The storage buffers one shader may bind on this backend's device. */
function storageBufferLimit(backend: Backend): number {
  const dev = (backend as unknown as { device?: { limits?: { maxStorageBuffersPerShaderStage?: number } } }).device;
  return dev?.limits?.maxStorageBuffersPerShaderStage ?? DEFAULT_STORAGE_BUFFERS;
}

/** Defect 3: AddN over at most (limit − 1) inputs per program (one binding is the output). */
function addNChunked(builtin: tf.KernelFunc): tf.KernelFunc {
  return (args: KernelArgs) => {
    const maxIn = Math.max(2, storageBufferLimit(args.backend) - 1);
    let level = Object.values(args.inputs) as tf.TensorInfo[];
    const owned = new Set<tf.TensorInfo>();
    while (level.length > maxIn) {
      const next: tf.TensorInfo[] = [];
      for (let i = 0; i < level.length; i += maxIn) {
        const group = level.slice(i, i + maxIn);
        if (group.length === 1) { next.push(group[0]); continue; }
        const s = asSingle(builtin({ ...args, inputs: group as unknown as tf.NamedTensorInfoMap }));
        owned.add(s);
        next.push(s);
      }
      for (const t of level) if (owned.has(t)) { dispose(args.backend, t); owned.delete(t); }
      level = next;
    }
    try {
      return builtin({ ...args, inputs: level as unknown as tf.NamedTensorInfoMap });
    } finally {
      for (const t of level) if (owned.has(t)) dispose(args.backend, t);
    }
  };
}

/**
 * Defect 5a: the FusedBatchNorm gradient for any rank. Same formulas as tfjs-core's
 * FusedBatchNorm_grad (mean and variance are inputs, not functions of x), but the per-channel
 * factors broadcast over the last axis instead of being reshaped to rank 4 and tiled.
 */
function registerBatchNormGradient(): string {
  tf.registerGradient({
    kernelName: 'FusedBatchNorm',
    inputsToSave: ['x', 'mean', 'variance', 'scale'],
    gradFunc: (upstream, saved, attrs) => {
      const dy = (Array.isArray(upstream) ? upstream[0] : upstream) as tf.Tensor;
      const [x, mean, variance, scale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | null];
      const eps = attrs.varianceEpsilon as number;
      const s = scale ?? tf.scalar(1);
      // Axes to sum over where mean was broadcast (all but the channel axis for a [C] mean).
      const axes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
      const reduce = (t: tf.Tensor) => tf.reshape(axes.length ? tf.sum(t, axes) : t, mean.shape);
      const inv = tf.rsqrt(tf.add(variance, tf.scalar(eps)));
      const dyScaled = tf.mul(dy, s);
      return {
        x: () => tf.reshape(tf.mul(dyScaled, inv), x.shape),
        mean: () => reduce(tf.mul(tf.neg(inv), dyScaled)),
        variance: () => reduce(tf.mul(tf.mul(tf.mul(tf.pow(inv, tf.scalar(3)), tf.scalar(-0.5)), tf.sub(x, mean)), dyScaled)),
        scale: () => reduce(tf.mul(dy, tf.mul(tf.sub(x, mean), inv))),
        offset: () => reduce(dy),
      };
    },
  });
  return 'gradient:FusedBatchNorm';
}

let gradientsDone: string[] | null = null;

/**
 * The gradients tfjs 4.22 lacks or gets wrong on every backend (defect 5). Idempotent.
 * Returns their names, e.g. 'gradient:FusedBatchNorm'.
 */
export function registerMissingGradients(): string[] {
  gradientsDone ??= [registerConv3dTransposeGradient(), registerBatchNormGradient()];
  return gradientsDone;
}

let kernelsDone: string[] | null = null;

/**
 * Wraps the webgpu kernels with defects 1–3. Call after @tensorflow/tfjs-backend-webgpu is
 * imported (its kernels register at import), before or after the backend is initialised.
 * Idempotent. Returns the wrapped kernels as 'webgpu:Name'.
 */
export function installWebgpuKernelWorkarounds(): string[] {
  if (kernelsDone) return kernelsDone;
  const names: string[] = [];
  for (const k of BINARY_KERNELS) if (wrapKernel(k, binaryRank5)) names.push(k);
  if (wrapKernel('Select', selectAnyRank)) names.push('Select');
  if (wrapKernel('AddN', addNChunked)) names.push('AddN');
  if (wrapKernel('PadV2', padAnyRank)) names.push('PadV2');
  if (wrapKernel('Cast', castToFloat)) names.push('Cast');
  kernelsDone = names.map((n) => `webgpu:${n}`);
  return kernelsDone;
}
