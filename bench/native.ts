/**
 * Bench suite `native`: the reference U-Nets of the engine issue (the same models, data and
 * PyTorch reference as the `unet` suite) on each CPU path of the wasm backend in one run:
 *   wasm+dnnl  Osteon's oneDNN kernels (native/dnnl, app/learning/native)
 *   wasm       Osteon's pure-wasm kernels (OSTEON_NATIVE=0 gives this path in the app)
 * with the ratio to PyTorch (below 1 is faster), and, from a tf.profile of one native training
 * step, the convolution-only time and the largest remaining ops (the step's overhead, op by op).
 * Without the addon only the pure wasm path is timed (with a notice).
 */
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import type { BenchRecord, BenchSuite } from '../app/cli/bench-types.ts';
import { initBackend } from '../app/learning/backend.ts';
import { lossFor } from '../app/learning/heads.ts';
import { createParams, disposeParams, forward, type UNetConfig } from '../app/learning/model/unet.ts';
import { loadNative } from '../app/learning/native/addon.ts';
import { nativeKernelsActive, registerNativeKernels, unregisterNativeKernels } from '../app/learning/native/register.ts';
import { reference, timeModel } from './unet.ts';

type Model = [2 | 3, number, number, number[], string];

const models: Model[] = [
  [2, 4, 128, [16, 32, 64, 128], '2D [4,128,128,1] 16-32-64-128'],
  [3, 1, 64, [8, 16, 32, 64], '3D [1,64,64,64,1] 8-16-32-64'],
];

/** Kernel milliseconds of one training step by kernel name (tf.profile; wasm kernels are synchronous). */
async function profileStep(dims: 2 | 3, batch: number, size: number, filters: number[]): Promise<Map<string, number>> {
  const cfg: UNetConfig = { spatialDims: dims, inChannels: 1, outChannels: 5, filters, normalization: 'none', seed: 0 };
  const params = createParams(cfg);
  const spatial = Array<number>(dims).fill(size);
  const x = tf.randomNormal([batch, ...spatial, 1], 0, 1, 'float32', 1);
  const labels = tf.randomUniform([batch, ...spatial], 0, 4, 'int32', 2);
  const whole = tf.cast(tf.greater(labels, 0), 'float32');
  const loss = lossFor({ kind: 'joint', parts: 3, posWeight: 3, a: 1, b: 1, c: 0 });
  const opt = tf.train.adam(1e-3);
  const step = async (): Promise<void> => {
    const cost = opt.minimize(() => loss(forward(params, cfg, x), { whole, labels }).total, true, [...params.values()]);
    await cost!.data();
    cost!.dispose();
  };
  await step();
  await step();
  const prof = await tf.profile(step);
  const by = new Map<string, number>();
  for (const k of prof.kernels) by.set(k.name, (by.get(k.name) ?? 0) + Number(k.kernelTimeMs));
  tf.dispose([x, labels, whole]);
  opt.dispose();
  disposeParams(params);
  return by;
}

function overheadDetail(by: Map<string, number>, stepMs: number): string {
  const isConv = (k: string): boolean => /Conv/.test(k);
  const conv = [...by].filter(([k]) => isConv(k)).reduce((a, [, v]) => a + v, 0);
  const rest = [...by].filter(([k]) => !isConv(k)).sort((a, b) => b[1] - a[1]);
  const top = rest.slice(0, 8).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ');
  return `conv kernels ${conv.toFixed(0)} ms of a ${stepMs.toFixed(0)} ms step (${((100 * conv) / stepMs).toFixed(0)}%); largest other ops (ms): ${top}`;
}

export const suite: BenchSuite = {
  name: 'native',
  description: 'reference 2D/3D U-Nets on the oneDNN and pure-wasm CPU paths vs PyTorch, with the non-conv overhead',
  async run(ctx) {
    const report = await initBackend();
    if (report.name !== 'wasm') {
      ctx.notice(`native: the active backend is ${report.name}, not wasm: suite skipped`);
      return [];
    }
    const native = loadNative();
    if (!native.addon) ctx.notice(`native: oneDNN kernels unavailable (${native.reason}): timing the pure wasm path only`);
    const wasActive = nativeKernelsActive();
    const paths = native.addon ? (['wasm+dnnl', 'wasm'] as const) : (['wasm'] as const);
    const out: BenchRecord[] = [];
    try {
      for (const [dims, batch, size, filters, label] of models) {
        const repeats = dims === 3 ? Math.min(ctx.repeats, 3) : ctx.repeats;
        const ref = reference(dims, batch, size, filters, repeats);
        if (!ref) ctx.notice('python3 with torch not available: Osteon timed alone');
        for (const path of paths) {
          if (path === 'wasm+dnnl') registerNativeKernels();
          else unregisterNativeKernels();
          const t = await timeModel(dims, batch, size, filters, repeats);
          const slices = batch * (dims === 3 ? size : 1);
          const rec = (what: 'training step' | 'inference', s: typeof t.train, refMs: number | undefined, detail: string): BenchRecord => ({
            name: `${label} ${what} (${path})`, unit: 'ms', ...s,
            ...(refMs !== undefined && ref ? { reference: { name: `PyTorch ${ref.torch}`, median: refMs }, ratio: s.median / refMs } : {}),
            detail,
          });
          let trainDetail = `${((batch * 1000) / t.train.median).toFixed(1)} samples/s`;
          if (path === 'wasm+dnnl') trainDetail += `; ${overheadDetail(await profileStep(dims, batch, size, filters), t.train.median)}`;
          out.push(rec('training step', t.train, ref?.train_ms, trainDetail), rec('inference', t.infer, ref?.infer_ms, `${((slices * 1000) / t.infer.median).toFixed(1)} slices/s`));
        }
      }
    } finally {
      if (wasActive) registerNativeKernels();
      else unregisterNativeKernels();
    }
    if (native.addon) ctx.notice(`native: oneDNN ${native.version}, ${native.threads} OpenMP thread(s); load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
    return out;
  },
};
