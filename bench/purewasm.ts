/**
 * Bench suite `purewasm`: the pure-wasm rung (what a machine without the oneDNN addon runs,
 * OSTEON_NATIVE=0) on the reference 2D U-Net step [4,128,128,1] 16-32-64-128 (joint loss, Adam),
 * with Osteon's SIMD wasm kernels (app/learning/kernels/simd) and without them, against a fair
 * PyTorch (bench/reference/unet_ref.py with OPENBLAS_NUM_THREADS=1): 1 thread, the thread count
 * of tfjs's wasm backend in Node, and 2 threads beside it. The sides run in interleaved rounds
 * (PyTorch 1 thread, Osteon with, Osteon without, PyTorch 2 threads, repeated), each row is the
 * median over all rounds, and the load average before and after goes in the detail, so a
 * loaded machine shows. docs/cpu-speed.md ("Pure-wasm rung") reads these rows.
 */
import { spawnSync } from 'node:child_process';
import { cpuUsage } from 'node:process';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { timeStats, type BenchRecord, type BenchSuite } from '../app/cli/bench-types.ts';
import { initBackend } from '../app/learning/backend.ts';
import { lossFor } from '../app/learning/heads.ts';
import { simdUnavailable } from '../app/learning/kernels/index.ts';
import { startWasmThreads } from '../app/learning/kernels/parallel/pool.ts';
import { setSimdKernels, simdFlavor } from '../app/learning/kernels/simd/simd.ts';
import { createParams, disposeParams, forward, type UNetConfig } from '../app/learning/model/unet.ts';
import { nativeKernelsActive, registerNativeKernels, unregisterNativeKernels } from '../app/learning/native/register.ts';
import { createAdam, fusionActive } from '../app/learning/native/loss-adam.ts';

const REF = join(dirname(fileURLToPath(import.meta.url)), 'reference', 'unet_ref.py');
const BATCH = 4, SIZE = 128, FILTERS = [16, 32, 64, 128];
const LABEL = '2D [4,128,128,1] 16-32-64-128 training step';

/** One PyTorch run: median ms of `steps` training steps after 2 warm-ups, or null without torch. */
/** Threads the rung ran its convolutions on (startWasmThreads). */
let wasmThreads = 1;

function torchStep(threads: number, steps: number): { ms: number; torch: string } | null {
  const args = [REF, '--dims', '2', '--batch', String(BATCH), '--size', String(SIZE), '--filters', FILTERS.join(','), '--steps', String(steps), '--warmup', '2', '--threads', String(threads)];
  const r = spawnSync('/usr/bin/python3', args, { encoding: 'utf8', timeout: 600_000, env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: String(threads) } });
  if (r.status !== 0) return null;
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { torch: string; train_ms: number };
  return { ms: j.train_ms, torch: j.torch };
}

const load = (): string => loadavg().map((v) => v.toFixed(2)).join(' ');

export const suite: BenchSuite = {
  name: 'purewasm',
  description: 'pure-wasm 2D training step, with and without Osteon\'s SIMD kernels, vs PyTorch with OpenBLAS on 1 thread (interleaved)',
  async run(ctx) {
    const report = await initBackend();
    if (report.name !== 'wasm') {
      ctx.notice(`purewasm: the active backend is ${report.name}, not wasm: suite skipped`);
      return [];
    }
    const why = simdUnavailable();
    if (why) ctx.notice(`purewasm: SIMD kernels unavailable (${why}): both Osteon rows run without them`);
    const loadBefore = load();
    const native = nativeKernelsActive();
    if (native) unregisterNativeKernels();
    const fused = fusionActive();
    const threads = await startWasmThreads(); // the rung's helper threads, as `osteon train` starts them
    wasmThreads = threads.threads;
    ctx.notice(`purewasm: ${threads.threads} thread(s) for convolutions${threads.reason ? ` (${threads.reason})` : ''}`);
    const cfg: UNetConfig = { spatialDims: 2, inChannels: 1, outChannels: 5, filters: FILTERS, normalization: 'none', seed: 0 };
    const params = createParams(cfg);
    const x = tf.randomNormal([BATCH, SIZE, SIZE, 1], 0, 1, 'float32', 1);
    const n = BATCH * SIZE * SIZE;
    const lab = Int32Array.from({ length: n }, (_, i) => Math.floor(Math.abs(Math.sin(i * 12.9898 + 2)) * 4) % 4);
    const labels = tf.tensor(lab, [BATCH, SIZE, SIZE], 'int32');
    const whole = tf.tensor(Float32Array.from(lab, (v) => (v > 0 ? 1 : 0)), [BATCH, SIZE, SIZE]);
    const loss = lossFor({ kind: 'joint', parts: 3, posWeight: 3, a: 1, b: 1, c: 0 });
    // The training loop's Adam (fused in the SIMD module on this rung while its kernels are on).
    const opt = createAdam(1e-3);
    const step = async (): Promise<number> => {
      const t = performance.now();
      const cost = opt.minimize(() => loss(forward(params, cfg, x), { whole, labels }).total, true, [...params.values()]);
      await cost!.data();
      cost!.dispose();
      return performance.now() - t;
    };
    const rounds = Math.max(3, ctx.repeats);
    const perRound = 3;
    const ours = { on: [] as number[], off: [] as number[] };
    const cpu = { on: [0, 0], off: [0, 0] };
    const torch1: number[] = [], torch2: number[] = [];
    let torchVersion: string | null = null;
    const old = setSimdKernels(true);
    try {
      for (const mode of ['on', 'off'] as const) {
        setSimdKernels(mode === 'on');
        await step();
      }
      for (let r = 0; r < rounds; r++) {
        const t1 = torchStep(1, perRound);
        if (t1) {
          torch1.push(t1.ms);
          torchVersion = t1.torch;
        }
        for (const mode of ['on', 'off'] as const) {
          setSimdKernels(mode === 'on');
          const c0 = cpuUsage();
          let wall = 0;
          for (let i = 0; i < perRound; i++) {
            const ms = await step();
            ours[mode].push(ms);
            wall += ms;
          }
          const c = cpuUsage(c0);
          cpu[mode][0] += (c.user + c.system) / 1000;
          cpu[mode][1] += wall;
        }
        const t2 = torchStep(2, perRound);
        if (t2) torch2.push(t2.ms);
      }
    } finally {
      setSimdKernels(old);
      tf.dispose([x, labels, whole]);
      opt.dispose();
      disposeParams(params);
      if (native) registerNativeKernels();
    }
    const loads = `load average ${loadBefore} before, ${load()} after`;
    if (!torchVersion) ctx.notice('purewasm: python3 with torch not available: Osteon timed alone');
    const ref1 = torch1.length ? timeStats(torch1).median : undefined;
    const ref2 = torch2.length ? timeStats(torch2).median : undefined;
    const row = (mode: 'on' | 'off'): BenchRecord => {
      const s = timeStats(ours[mode]);
      const util = cpu[mode][1] > 0 ? cpu[mode][0] / cpu[mode][1] : NaN;
      const vs2 = ref2 !== undefined ? `; PyTorch 2 threads ${ref2.toFixed(0)} ms (ratio ${(s.median / ref2).toFixed(2)})` : '';
      return {
        name: `${LABEL} (wasm, ${mode === 'on' ? 'SIMD kernels' : 'without SIMD kernels'})`, unit: 'ms', ...s,
        ...(ref1 !== undefined ? { reference: { name: `PyTorch ${torchVersion}, 1 thread, OpenBLAS 1 thread`, median: ref1 }, ratio: s.median / ref1 } : {}),
        detail: `${rounds} interleaved rounds of ${perRound} steps; ${mode === 'on' ? `${simdFlavor() ?? 'no'} build, fused loss/Adam/network ops ${fused ? 'on' : 'off (OSTEON_FUSE=0)'}; ` : ''}Osteon ${util.toFixed(2)} cores busy (${wasmThreads} thread(s): the calling thread and ${wasmThreads - 1} helper(s) for the convolutions)${vs2}; ${loads}`,
      };
    };
    return [row('on'), row('off')];
  },
};
