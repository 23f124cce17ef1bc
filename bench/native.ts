/**
 * Bench suite `native`: the reference U-Nets of the engine issue (the same models, data and
 * PyTorch reference as the `unet` suite) on each CPU path of the wasm backend in one run:
 *   wasm+dnnl  Osteon's oneDNN kernels (native/dnnl, app/learning/native)
 *   wasm       Osteon's pure-wasm kernels (OSTEON_NATIVE=0 gives this path in the app)
 * with the ratio to the fair PyTorch reference (bench/fair.ts: interleaved rounds, OpenBLAS on one
 * thread, CPU utilisation and load average per row; in 3D also PyTorch with oneDNN forced), and,
 * from a per-op profile of one native training step (app/learning/profile.ts), the
 * convolution-only time and the largest remaining ops (the step's overhead, op by op).
 * Without the addon only the pure wasm path is timed (with a notice).
 */
import { loadavg } from 'node:os';
import type { BenchRecord, BenchSuite } from '../app/cli/bench-types.ts';
import { startWasmThreads } from '../app/learning/kernels/parallel/pool.ts';
import { initBackend } from '../app/learning/backend.ts';
import { loadNative, ompWait } from '../app/learning/native/addon.ts';
import type { ProfileReport } from '../app/learning/profile.ts';
import { profileModel } from '../app/learning/timing.ts';
import { nativeKernelsActive, registerNativeKernels, unregisterNativeKernels } from '../app/learning/native/register.ts';
import { fairModelRows } from './unet.ts';

type Model = [2 | 3, number, number, number[], string];

const models: Model[] = [
  [2, 4, 128, [16, 32, 64, 128], '2D [4,128,128,1] 16-32-64-128'],
  [3, 1, 64, [8, 16, 32, 64], '3D [1,64,64,64,1] 8-16-32-64'],
];

/** "conv kernels N ms of a M ms step (P%); largest other ops (ms): ..." from a per-op profile (profile.ts). */
function overheadDetail(p: ProfileReport): string {
  const per = (ms: number): number => ms / p.steps;
  const step = per(p.wallMs);
  const conv = p.rows.filter((r) => /Conv/.test(r.kernel)).reduce((a, r) => a + per(r.totalMs), 0);
  const top = p.rows.filter((r) => !/Conv/.test(r.kernel)).slice(0, 8).map((r) => `${r.kernel} ${per(r.totalMs).toFixed(1)}`).join(', ');
  return `conv kernels ${conv.toFixed(0)} ms of a ${step.toFixed(0)} ms step (${((100 * conv) / step).toFixed(0)}%); largest other ops (ms): ${top}`;
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
        for (const path of paths) {
          if (path === 'wasm+dnnl') registerNativeKernels();
          else {
            unregisterNativeKernels();
            await startWasmThreads(); // the pure-wasm rung's helper threads, as `osteon train` starts them
          }
          const rows = await fairModelRows(ctx, dims, batch, size, filters, label, path);
          if (path === 'wasm+dnnl') {
            const p = await profileModel(dims, batch, size, filters, 1);
            const train = rows.find((r) => r.name === `${label} training step (${path})`);
            if (train) train.detail = `${train.detail}; ${overheadDetail(p.train)}`;
          }
          out.push(...rows);
        }
      }
    } finally {
      if (wasActive) registerNativeKernels();
      else unregisterNativeKernels();
    }
    if (native.addon) ctx.notice(`native: oneDNN ${native.version}, ${native.threads} OpenMP thread(s), idle threads ${ompWait()} (both sides); load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
    return out;
  },
};
