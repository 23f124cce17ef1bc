/**
 * Bench suite `kernels`: Osteon's wasm convolution kernels (app/learning/kernels) against the
 * wasm backend's built-in kernels they replace, or against tfjs's cpu backend where wasm has
 * none (Conv2DBackpropFilter), on the U-Net's shapes. Every record also compares the
 * outputs: ok = Osteon agrees with the reference; where the built-in is known to be wrong
 * (Conv3DBackpropInputV2) the disagreement is reported in `detail` instead.
 */
import type { BenchRecord, BenchSuite } from '../app/cli/bench-types.ts';
import { timeStats } from '../app/cli/bench-types.ts';
import { initBackend, tf } from '../app/learning/backend.ts';
import { builtinWasmKernel } from '../app/learning/kernels/index.ts';

type Inputs = Record<string, tf.Tensor>;
type Attrs = tf.NamedAttrMap;

interface Spec {
  name: string;
  kernel: string;
  inputs: () => Inputs;
  attrs: Attrs;
  /** Multiply-adds × 2 of the kernel, for GFLOPS. */
  flops: number;
  reference: 'builtin' | 'cpu' | 'none';
  /** The reference is known to compute wrong values here: report, do not fail. */
  referenceWrong?: string;
}

function randn(shape: number[], seed: number): tf.Tensor {
  return tf.randomUniform(shape, -1, 1, 'float32', seed);
}

function oursOnce(spec: Spec, inputs: Inputs): Float32Array {
  // Not inside tf.tidy: tidy walks every element of a returned typed array (very slow).
  const out = tf.engine().runKernel(spec.kernel, inputs, spec.attrs) as tf.Tensor | tf.Tensor[];
  const outs = Array.isArray(out) ? out : [out];
  const data = outs[0].dataSync() as Float32Array;
  tf.dispose(outs);
  return data;
}

function builtinOnce(spec: Spec, inputs: Inputs): Float32Array {
  const fn = builtinWasmKernel(spec.kernel);
  if (!fn) throw new Error(`no built-in wasm ${spec.kernel} to compare with`);
  const backend = tf.backend();
  const out = fn({ inputs, backend, attrs: spec.attrs });
  const outs = Array.isArray(out) ? out : [out];
  const data = backend.readSync(outs[0].dataId) as Float32Array;
  for (const o of outs) backend.disposeData(o.dataId);
  return data;
}

function timed(fn: () => Float32Array, repeats: number): { ms: number[]; data: Float32Array } {
  let data = fn(); // warm-up: XNNPACK operator creation, JIT
  const ms: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    data = fn();
    ms.push(performance.now() - t0);
  }
  return { ms, data };
}

function relDiff(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return den === 0 ? num : num / den;
}

const conv2dFlops = (n: number, oh: number, ow: number, k: number, ci: number, co: number): number => 2 * n * oh * ow * k * ci * co;

const specs: Spec[] = [
  {
    name: 'Conv2DBackpropFilter 4×128×128×16→16 3×3 s1 (wasm has none; cpu takes ~30 s)', kernel: 'Conv2DBackpropFilter', reference: 'none',
    inputs: () => ({ x: randn([4, 128, 128, 16], 1), dy: randn([4, 128, 128, 16], 2) }),
    attrs: { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 16, 16] },
    flops: conv2dFlops(4, 128, 128, 9, 16, 16),
  },
  {
    name: 'Conv2DBackpropFilter 1×32×32×16→16 3×3 s1', kernel: 'Conv2DBackpropFilter', reference: 'cpu',
    inputs: () => ({ x: randn([1, 32, 32, 16], 1), dy: randn([1, 32, 32, 16], 2) }),
    attrs: { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 16, 16] },
    flops: conv2dFlops(1, 32, 32, 9, 16, 16),
  },
  {
    name: 'Conv2DBackpropInput 4×128×128×16→16 3×3 s1', kernel: 'Conv2DBackpropInput', reference: 'builtin',
    inputs: () => ({ dy: randn([4, 128, 128, 16], 3), filter: randn([3, 3, 16, 16], 4) }),
    attrs: { strides: 1, pad: 'same', dataFormat: 'NHWC', inputShape: [4, 128, 128, 16] },
    flops: conv2dFlops(4, 128, 128, 9, 16, 16),
  },
  {
    name: 'Conv2DBackpropInput (conv2dTranspose) 4×64×64×32→16 2×2 s2', kernel: 'Conv2DBackpropInput', reference: 'builtin',
    inputs: () => ({ dy: randn([4, 64, 64, 32], 5), filter: randn([2, 2, 16, 32], 6) }),
    attrs: { strides: 2, pad: 'valid', dataFormat: 'NHWC', inputShape: [4, 128, 128, 16] },
    flops: conv2dFlops(4, 64, 64, 4, 16, 32),
  },
  {
    name: 'Conv3D 1×64³×8→8 3³ s1', kernel: 'Conv3D', reference: 'builtin',
    inputs: () => ({ x: randn([1, 64, 64, 64, 8], 7), filter: randn([3, 3, 3, 8, 8], 8) }),
    attrs: { strides: 1, pad: 'same', dataFormat: 'NDHWC', dilations: 1 },
    flops: 2 * 64 ** 3 * 27 * 8 * 8,
  },
  {
    name: 'Conv3DBackpropFilterV2 1×64³×8→8 3³ s1', kernel: 'Conv3DBackpropFilterV2', reference: 'builtin',
    inputs: () => ({ x: randn([1, 64, 64, 64, 8], 9), dy: randn([1, 64, 64, 64, 8], 10) }),
    attrs: { strides: 1, pad: 'same', filterShape: [3, 3, 3, 8, 8] },
    flops: 2 * 64 ** 3 * 27 * 8 * 8,
  },
  {
    name: 'Conv3DBackpropInputV2 1×64³×8→8 3³ s1', kernel: 'Conv3DBackpropInputV2', reference: 'builtin',
    referenceWrong: 'the built-in is wrong in every case (tfjs-backend-wasm 4.22)',
    inputs: () => ({ dy: randn([1, 64, 64, 64, 8], 11), filter: randn([3, 3, 3, 8, 8], 12) }),
    attrs: { strides: 1, pad: 'same', inputShape: [1, 64, 64, 64, 8] },
    flops: 2 * 64 ** 3 * 27 * 8 * 8,
  },
  {
    name: 'Conv3DBackpropInputV2 (conv3dTranspose) 1×32³×16→8 2³ s2', kernel: 'Conv3DBackpropInputV2', reference: 'builtin',
    referenceWrong: 'the built-in is wrong in every case (tfjs-backend-wasm 4.22)',
    inputs: () => ({ dy: randn([1, 32, 32, 32, 16], 14), filter: randn([2, 2, 2, 8, 16], 15) }),
    attrs: { strides: 2, pad: 'valid', inputShape: [1, 64, 64, 64, 8] },
    flops: 2 * 32 ** 3 * 8 * 8 * 16,
  },
  {
    name: 'SplitV 1×64³×32 → 16+16 on the channel axis', kernel: 'SplitV', reference: 'builtin',
    inputs: () => ({ x: randn([1, 64, 64, 64, 32], 13) }),
    attrs: { numOrSizeSplits: [16, 16], axis: 4 },
    flops: 0,
  },
];

async function measure(spec: Spec, repeats: number): Promise<BenchRecord> {
  await tf.setBackend('wasm');
  const inputs = spec.inputs();
  try {
    const ours = timed(() => oursOnce(spec, inputs), repeats);
    const stats = timeStats(ours.ms);
    const gflops = spec.flops ? `${(spec.flops / stats.median / 1e6).toFixed(1)} GFLOPS` : '';
    if (spec.reference === 'none') return { name: spec.name, unit: 'ms', ...stats, detail: gflops };
    let ref: { ms: number[]; data: Float32Array };
    if (spec.reference === 'builtin') {
      ref = timed(() => builtinOnce(spec, inputs), Math.min(repeats, 2));
    } else {
      await tf.setBackend('cpu');
      ref = timed(() => oursOnce(spec, inputs), 1);
      await tf.setBackend('wasm');
    }
    const refStats = timeStats(ref.ms);
    const diff = relDiff(ours.data, ref.data);
    const agree = spec.referenceWrong ? `reference disagrees by ${diff.toExponential(1)}: ${spec.referenceWrong}` : `max|diff|/max|ref| ${diff.toExponential(1)}`;
    return {
      name: spec.name,
      unit: 'ms',
      ...stats,
      reference: { name: spec.reference === 'builtin' ? 'tfjs wasm built-in' : 'tfjs cpu backend', median: refStats.median },
      ratio: stats.median / refStats.median,
      ok: spec.referenceWrong ? undefined : diff < 1e-4,
      detail: gflops ? `${agree}, ${gflops}` : agree,
    };
  } finally {
    tf.dispose(Object.values(inputs));
  }
}

export const suite: BenchSuite = {
  name: 'kernels',
  description: 'Osteon wasm conv kernels vs the wasm built-ins they replace (or the cpu backend)',
  async run(ctx) {
    const r = await initBackend({ prefer: 'wasm' });
    if (r.name !== 'wasm') {
      ctx.notice(`backend is ${r.name}, not wasm: Osteon's kernels are not in use; skipped`);
      return [];
    }
    const records: BenchRecord[] = [];
    for (const spec of specs) {
      ctx.notice(spec.name);
      records.push(await measure(spec, ctx.repeats));
    }
    return records;
  },
};
