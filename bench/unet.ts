/**
 * Bench suite `unet`: the reference U-Nets of the engine issue on the active tfjs backend, and
 * the same models in PyTorch on the same CPU in the same run (bench/reference/unet_ref.py, Debian
 * python3-torch), with the ratio (Osteon ÷ PyTorch: below 1 is faster). The reference is a fair
 * one (bench/fair.ts): OpenBLAS on one thread, Osteon's thread count, rounds interleaved with
 * Osteon's, each side's CPU utilisation and the load average per row; in 3D a second row
 * against PyTorch with oneDNN forced for every convolution. --profile: per-op tables too.
 *   2D: input [4,128,128,1], filters 16-32-64-128, joint loss (pos_weight 3), Adam: ms per step,
 *       and inference of the same batch (slices/s in the detail).
 *   3D: input [1,64,64,64,1], filters 8-16-32-64: the same.
 *   Whole volume: 2D inference of a 512×512×300 CT (OSTEON_BENCH_FULL=1 only: minutes on a CPU).
 * Where Dawn finds a WebGPU adapter and the ladder chose another rung, the same models run on
 * webgpu too, each row next to the rung's own (ratio = webgpu ÷ that rung). On a software adapter
 * (lavapipe, SwiftShader) those rows measure correctness and cost only, never GPU speed.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import type { BenchRecord, BenchSuite } from '../app/cli/bench-types.ts';
import { initBackend } from '../app/learning/backend.ts';
import { loadNodeWebgpu } from '../app/learning/webgpu/node.ts';
import { createParams, disposeParams, type UNetConfig } from '../app/learning/model/unet.ts';
import { profileModel, referenceModel, timeModel } from '../app/learning/timing.ts';
import { loadNative, nativeThreads } from '../app/learning/native/addon.ts';
import { renderProfile } from '../app/learning/profile.ts';
import { RefServer, fairRows, interleave } from './fair.ts';

export { timeModel };
import { predictVolume } from '../app/learning/predict.ts';
import { IDENTITY3 } from '../app/imaging/volume.ts';

const REF = join(dirname(fileURLToPath(import.meta.url)), 'reference', 'unet_ref.py');

interface RefResult { torch: string; train_ms: number; infer_ms: number }

/** One-shot reference timing (not interleaved), OpenBLAS on one thread, Osteon's thread count. */
export function reference(dims: 2 | 3, batch: number, size: number, filters: number[], steps: number): RefResult | null {
  const threads = osteonThreads();
  const r = spawnSync('/usr/bin/python3', [REF, '--dims', String(dims), '--batch', String(batch), '--size', String(size), '--filters', filters.join(','), '--steps', String(steps), '--threads', String(threads)],
    { encoding: 'utf8', timeout: 900_000, env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: String(threads) } });
  if (r.status !== 0) return null;
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as RefResult;
}

export const suite: BenchSuite = {
  name: 'unet',
  description: 'reference 2D/3D U-Net training step and inference vs PyTorch on the same CPU',
  async run(ctx) {
    const backend = await initBackend();
    // The ladder rung that loaded, e.g. 'wasm+dnnl' (the report's name is the tfjs backend, 'wasm').
    const path = backend.attempts.find((a) => a.ok)?.candidate ?? backend.name;
    const out: BenchRecord[] = [];
    const cases: Array<[2 | 3, number, number, number[], string]> = [
      [2, 4, 128, [16, 32, 64, 128], '2D [4,128,128,1] 16-32-64-128'],
      [3, 1, 64, [8, 16, 32, 64], '3D [1,64,64,64,1] 8-16-32-64'],
    ];
    for (const [dims, batch, size, filters, label] of cases) {
      out.push(...(await fairModelRows(ctx, dims, batch, size, filters, label, path)));
    }
    out.push(...(await webgpuRows(ctx, backend.name, path, cases, out)));
    if (process.env.OSTEON_BENCH_FULL === '1') {
      const cfg: UNetConfig = { spatialDims: 2, inChannels: 1, outChannels: 5, filters: [16, 32, 64, 128], normalization: 'none', seed: 0 };
      const params = createParams(cfg);
      const dims: [number, number, number] = [512, 512, 300];
      const image = new Float32Array(dims[0] * dims[1] * dims[2]).map((_, i) => Math.sin(i));
      const t = performance.now();
      await predictVolume(params, cfg, { kind: 'joint', parts: 3, posWeight: 3, a: 1, b: 1, c: 0 }, image, { dims, spacing: [0.8, 0.8, 1.5], origin: [0, 0, 0], direction: [...IDENTITY3] }, { context: 0, fill: -1, hasWhole: true });
      const s = (performance.now() - t) / 1000;
      disposeParams(params);
      out.push({ name: `whole-volume 2D inference 512×512×300 (${path})`, unit: 's', median: s, min: s, max: s, n: 1, detail: `${(300 / s).toFixed(1)} slices/s` });
    } else ctx.notice('whole-volume 512×512×300 inference skipped (set OSTEON_BENCH_FULL=1)');
    return out;
  },
};

/** The thread count Osteon's CPU path uses (the addon's OpenMP threads, else one per CPU): the reference gets the same. */
export function osteonThreads(): number {
  const n = loadNative();
  return n.addon ? n.threads : nativeThreads();
}

/**
 * One model on the active rung against the fair PyTorch reference (and, in 3D, PyTorch with
 * oneDNN forced), interleaved: a training-step row and an inference row per reference.
 */
export async function fairModelRows(ctx: Parameters<BenchSuite['run']>[0], dims: 2 | 3, batch: number, size: number, filters: number[], label: string, path: string): Promise<BenchRecord[]> {
  const threads = osteonThreads();
  const refs: RefServer[] = [];
  for (const mkldnn of dims === 3 ? [false, true] : [false]) {
    const r = await RefServer.start(dims, batch, size, filters, threads, mkldnn);
    if (typeof r === 'string') ctx.notice(`${label}: PyTorch reference${mkldnn ? ' (oneDNN forced)' : ''} unavailable: ${r}`);
    else refs.push(r);
  }
  const m = referenceModel(dims, batch, size, filters);
  try {
    for (let i = 0; i < 2; i++) { await m.step(); await m.inferOnce(); }
    const rounds = Math.max(1, ctx.repeats);
    const train = await interleave('train', m.step, refs, rounds, 1);
    const infer = await interleave('infer', m.inferOnce, refs, rounds, 1);
    const slices = batch * (dims === 3 ? size : 1);
    return [
      ...fairRows(`${label} training step (${path})`, 'ms', train, refs, `${((batch * 1000) / train.osteon.stats.median).toFixed(1)} samples/s`),
      ...fairRows(`${label} inference (${path})`, 'ms', infer, refs, `${((slices * 1000) / infer.osteon.stats.median).toFixed(1)} slices/s`),
    ];
  } finally {
    m.dispose();
    for (const r of refs) r.close();
    if (ctx.profile) {
      const p = await profileModel(dims, batch, size, filters);
      ctx.notice(`${label} (${path}):\n${renderProfile(p.train)}\n${renderProfile(p.infer)}`);
    }
  }
}

/**
 * The same models on webgpu, beside the rows of the rung that loaded (`primary`, e.g. wasm+dnnl).
 * Empty when webgpu is already the active rung (its rows are the main ones) or has no adapter.
 */
async function webgpuRows(ctx: Parameters<BenchSuite['run']>[0], active: string, path: string, cases: Array<[2 | 3, number, number, number[], string]>, primary: BenchRecord[]): Promise<BenchRecord[]> {
  if (active === 'webgpu') return [];
  const gpu = await loadNodeWebgpu();
  if (typeof gpu === 'string') {
    ctx.notice(`webgpu rows skipped: ${gpu}`);
    return [];
  }
  const soft = gpu.adapter.software;
  const tag = soft ? 'webgpu, software adapter: correctness and cost only' : 'webgpu';
  if (soft) ctx.notice(`webgpu rows run on a software adapter (${gpu.adapter.description || gpu.adapter.device}): they measure correctness and cost only, not GPU speed`);
  // A software adapter takes minutes per reference-size step on a shared CPU: it runs smaller
  // models (one warm-up for shader compilation, one timed), and the rung that loaded is timed
  // on the same small models, so each ratio compares like with like.
  const small: Array<[2 | 3, number, number, number[], string]> = [
    [2, 1, 64, [16, 32, 64, 128], '2D [1,64,64,1] 16-32-64-128'],
    [3, 1, 32, [8, 16, 32, 64], '3D [1,32,32,32,1] 8-16-32-64'],
  ];
  const models = soft ? small : cases;
  const rows: BenchRecord[] = [];
  const beside = new Map<string, number>();
  for (const r of primary) beside.set(r.name, r.median);
  if (soft) {
    for (const [dims, batch, size, filters, label] of small) {
      const t = await timeModel(dims, batch, size, filters, Math.min(ctx.repeats, 3));
      for (const [what, s] of [['train', t.train], ['infer', t.infer]] as const) {
        const name = `${label} ${what === 'train' ? 'training step' : 'inference'} (${path})`;
        rows.push({ name, unit: 'ms', ...s, detail: 'the size the software adapter runs' });
        beside.set(name, s.median);
      }
    }
  }
  await tf.setBackend('webgpu');
  try {
    for (const [dims, batch, size, filters, label] of models) {
      const t = await timeModel(dims, batch, size, filters, soft ? 1 : Math.min(ctx.repeats, 3), soft ? 1 : 2);
      for (const [what, s] of [['train', t.train], ['infer', t.infer]] as const) {
        const name = `${label} ${what === 'train' ? 'training step' : 'inference'}`;
        const ref = beside.get(`${name} (${path})`);
        rows.push({
          name: `${name} (${tag})`, unit: 'ms', ...s,
          ...(ref !== undefined ? { reference: { name: path, median: ref }, ratio: s.median / ref } : {}),
          detail: `${gpu.adapter.vendor} ${gpu.adapter.architecture}`.trim(),
        });
      }
    }
  } finally {
    await tf.setBackend(active);
  }
  return rows;
}
