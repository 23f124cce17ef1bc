/**
 * Bench suite `winograd`: the pure-wasm rung's Winograd convolutions (app/learning/kernels/simd/
 * winograd.ts) against XNNPACK's direct ones (the wasm backend's built-in), on the 3×3 'same'
 * convolutions of the reference 2D U-Net's four levels at batch 4 (16@128², 32@64², 64@32²,
 * 128@16²): forward (Conv2D) and input gradient (Conv2DBackpropInput, i.e. conv2dTranspose), on
 * filter gradient (Conv2DBackpropFilter, against Osteon's SIMD per-tap kernel), on
 * the calling thread only (no helper threads), variants interleaved round by round in one
 * process. GFLOP/s are effective: the direct convolution's 2·N·OH·OW·9·Ci·Co over the time.
 * docs/cpu-speed.md ("Winograd convolutions") reads these rows.
 */
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { timeStats, type BenchRecord, type BenchSuite } from '../app/cli/bench-types.ts';
import { initBackend } from '../app/learning/backend.ts';
import { setSplitKernels } from '../app/learning/kernels/parallel/pool.ts';
import { setWinograd, setWinogradTile, winogradFlavor, winogradUnavailable } from '../app/learning/kernels/simd/winograd.ts';
import { nativeKernelsActive, registerNativeKernels, unregisterNativeKernels } from '../app/learning/native/register.ts';
import { rand } from '../app/learning/stepcheck.ts';

const LEVELS: Array<[number, number]> = [[16, 128], [32, 64], [64, 32], [128, 16]];
const VARIANTS = [['direct', 0], ['F(2x2,3x3)', 2], ['F(4x4,3x3)', 4]] as const;
const load = (): string => loadavg().map((v) => v.toFixed(2)).join(' ');

export const suite: BenchSuite = {
  name: 'winograd',
  description: 'pure-wasm Winograd 3×3 convolutions vs XNNPACK direct, U-Net levels at batch 4, one thread (interleaved)',
  async run(ctx) {
    const report = await initBackend();
    if (report.name !== 'wasm') {
      ctx.notice(`winograd: the active backend is ${report.name}, not wasm: suite skipped`);
      return [];
    }
    const why = winogradUnavailable();
    if (why) {
      ctx.notice(`winograd: Winograd kernels unavailable (${why}): suite skipped`);
      return [];
    }
    const loadBefore = load();
    const native = nativeKernelsActive();
    if (native) unregisterNativeKernels();
    const split = setSplitKernels(false);
    const on = setWinograd(true);
    const rows: BenchRecord[] = [];
    try {
      for (const [C, S] of LEVELS) {
        const x = tf.tensor(rand(4 * S * S * C, 1).map((v) => Math.max(0, v)), [4, S, S, C]) as tf.Tensor4D;
        const f = tf.tensor(rand(9 * C * C, 2).map((v) => v * Math.sqrt(6 / (9 * C))), [3, 3, C, C]) as tf.Tensor4D;
        const flops = 2 * 4 * S * S * 9 * C * C;
        const ops: Array<[string, () => tf.Tensor]> = [
          ['Conv2D', () => tf.conv2d(x, f, 1, 'same')],
          ['Conv2DBackpropInput', () => tf.conv2dTranspose(x, f, [4, S, S, C], 1, 'same')],
          // Off: Osteon's SIMD filter-gradient kernel (bpf_taps.ts), not XNNPACK.
          ['Conv2DBackpropFilter', () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: x }, { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, C, C] }) as tf.Tensor],
        ];
        for (const [op, fn] of ops) {
          const times = new Map<string, number[]>(VARIANTS.map(([name]) => [name, []]));
          const reps = Math.max(2, Math.round(1e9 / flops));
          for (let r = 0; r <= Math.max(3, ctx.repeats); r++) {
            for (const [name, m] of VARIANTS) {
              setWinograd(m !== 0);
              setWinogradTile(m === 0 ? 0 : m);
              const t0 = performance.now();
              for (let i = 0; i < reps; i++) fn().dispose();
              if (r > 0) times.get(name)!.push((performance.now() - t0) / reps); // round 0 warms up
            }
          }
          const ref = timeStats(times.get('direct')!).median;
          for (const [name] of VARIANTS) {
            const s = timeStats(times.get(name)!);
            rows.push({
              name: `${op} 3×3 ${C}@${S}² batch 4, ${name}`, unit: 'ms', ...s,
              ...(name !== 'direct' ? { reference: { name: op === 'Conv2DBackpropFilter' ? 'Osteon SIMD direct (same process)' : 'XNNPACK direct (same process)', median: ref }, ratio: s.median / ref } : {}),
              detail: `${(flops / s.median / 1e6).toFixed(1)} GFLOP/s effective (direct-conv FLOPs / time); ${reps} calls per round`,
            });
          }
        }
        tf.dispose([x, f]);
      }
    } finally {
      setWinograd(on);
      setWinogradTile(0);
      setSplitKernels(split);
      if (native) registerNativeKernels();
    }
    ctx.notice(`winograd: ${winogradFlavor()} build; load average ${loadBefore} before, ${load()} after`);
    return rows;
  },
};
