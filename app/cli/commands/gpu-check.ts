/**
 * `osteon gpu-check`: what `npm run gpu-bundle`'s ./gpu-check.sh runs on a GPU machine. On the
 * webgpu rung (Dawn): the adapter, the kernel self-test against the cpu backend, a tiny 2D and
 * 3D U-Net step against cpu (loss and every gradient), timed 2D and 3D training steps of the
 * reference U-Nets, whole-CT 2D inference of 512×512×N, and the same U-Nets in PyTorch (CUDA when
 * torch sees a GPU) for a ratio. Prints one table.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from '../command.ts';
import { intOpt } from '../options.ts';
import { adapterLine, initBackend, tf } from '../../learning/backend.ts';
import { runSelfTest } from '../../learning/kernels/selftest.ts';
import { createParams, disposeParams, type UNetConfig } from '../../learning/model/unet.ts';
import { predictVolume } from '../../learning/predict.ts';
import { stepAgreement, stepOn, type StepCase } from '../../learning/stepcheck.ts';
import { timeModel } from '../../learning/timing.ts';
import { loadNodeWebgpu } from '../../learning/webgpu/node.ts';
import { IDENTITY3 } from '../../imaging/volume.ts';

interface Row { check: string; result: string; ms: string; torch: string }

interface Model { dims: 2 | 3; batch: number; size: number; filters: number[]; label: string }
const FULL: Model[] = [
  { dims: 2, batch: 4, size: 128, filters: [16, 32, 64, 128], label: '2D [4,128,128,1] 16-32-64-128' },
  { dims: 3, batch: 1, size: 64, filters: [8, 16, 32, 64], label: '3D [1,64,64,64,1] 8-16-32-64' },
];
const SMALL: Model[] = [
  { dims: 2, batch: 1, size: 64, filters: [16, 32, 64, 128], label: '2D [1,64,64,1] 16-32-64-128' },
  { dims: 3, batch: 1, size: 32, filters: [8, 16, 32, 64], label: '3D [1,32,32,32,1] 8-16-32-64' },
];

const defaultRef = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bench', 'reference', 'unet_ref.py');

interface TorchResult { torch: string; device: string; train_ms: number; infer_ms: number }

function torchRun(python: string, ref: string, m: Model, device: string, steps: number): TorchResult | string {
  const r = spawnSync(python, [ref, '--dims', String(m.dims), '--batch', String(m.batch), '--size', String(m.size), '--filters', m.filters.join(','), '--steps', String(steps), '--warmup', '2', '--device', device], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) return (r.stderr || r.error?.message || 'failed').trim().split('\n').pop()!.slice(0, 120);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchResult;
}

function torchDevice(python: string): string | null {
  const r = spawnSync(python, ['-c', 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")'], { encoding: 'utf8', timeout: 120_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

function table(rows: Row[]): string {
  const head: Row = { check: 'check', result: 'result', ms: 'webgpu ms', torch: 'PyTorch ms (ratio)' };
  const w = (k: keyof Row) => Math.max(...[head, ...rows].map((r) => r[k].length));
  const line = (r: Row) => `${r.check.padEnd(w('check'))}  ${r.result.padEnd(w('result'))}  ${r.ms.padStart(w('ms'))}  ${r.torch}`;
  return [line(head), '-'.repeat(w('check') + w('result') + w('ms') + 24), ...rows.map(line)].join('\n');
}

export const command: Command = {
  name: 'gpu-check',
  summary: 'Check and time the webgpu rung on this machine\'s GPU (the gpu-bundle runs it)',
  usage: '[--full] [--slices N] [--python PATH] [--torch-ref FILE] [--json]',
  help: [
    'Runs on the webgpu rung (forced): the kernel self-test against the cpu backend, a tiny 2D and',
    '3D U-Net training step against cpu (loss and every gradient, relative error), timed 2D and 3D',
    'training steps and inference of the reference U-Nets, and 2D inference of a 512×512×N CT',
    '(N = --slices, 300 by default), streamed in windows. Where `python3 -c "import torch"` works,',
    'the same U-Nets run in PyTorch (CUDA when torch sees a GPU) for a ratio (webgpu ÷ PyTorch).',
    '',
    'On a software adapter (lavapipe, SwiftShader) the timed models are smaller and N defaults to',
    '4, since minutes per step would say nothing about a GPU; --full uses the full sizes anyway.',
    'Exit 1 when there is no adapter or a check fails.',
  ].join('\n'),
  options: {
    full: { type: 'boolean' }, slices: { type: 'string' }, python: { type: 'string' }, 'torch-ref': { type: 'string' }, json: { type: 'boolean' },
  },
  optionHelp: {
    full: 'time the full-size models (and 300 slices) even on a software adapter',
    slices: 'N: slices of the 512×512×N CT for whole-CT inference (default 300; 4 on a software adapter)',
    python: 'PATH: the Python that runs the PyTorch comparison (default: python3, then /usr/bin/python3, the first that imports torch)',
    'torch-ref': 'FILE: the PyTorch reference U-Net script (default bench/reference/unet_ref.py)',
    json: 'print {ok, adapter, software, rows} as JSON instead of the table',
  },
  allowPositionals: false,
  async run({ values: v, io }) {
    const gpu = await loadNodeWebgpu();
    if (typeof gpu === 'string') {
      io.out(v.json ? JSON.stringify({ ok: false, error: gpu }) : `gpu-check: no WebGPU adapter: ${gpu}`);
      return 1;
    }
    const soft = gpu.adapter.software && !v.full;
    const slices = intOpt(v.slices, 'slices', soft ? 4 : 300, 1, 5000);
    const ref = typeof v['torch-ref'] === 'string' ? v['torch-ref'] : defaultRef;
    // The first Python that imports torch: PATH's, then Debian's (python3-torch).
    const pythons = typeof v.python === 'string' ? [v.python] : ['python3', '/usr/bin/python3'];
    await initBackend({ prefer: 'webgpu' });
    const rows: Row[] = [];
    let ok = true;
    const add = (check: string, pass: boolean | null, result: string, ms = '', torch = '') => {
      if (pass === false) ok = false;
      rows.push({ check, result: `${pass === null ? '' : pass ? 'PASS ' : 'FAIL '}${result}`, ms, torch });
    };
    io.err(`gpu-check: adapter ${adapterLine(gpu.adapter)}${soft ? ' (software: small models)' : ''}`);

    io.err('gpu-check: kernel self-test (webgpu vs cpu)');
    for (const c of await runSelfTest()) add(`self-test: ${c.name}`, c.pass, c.error ? `error: ${c.error.slice(0, 80)}` : `rel ${c.relDiff.toExponential(1)}`);

    io.err('gpu-check: tiny U-Net steps vs cpu');
    const tiny: StepCase[] = [
      { name: '2D joint', model: { spatialDims: 2, inChannels: 1, outChannels: 4, filters: [4, 8], normalization: 'none', seed: 1 }, head: { kind: 'joint', parts: 2, posWeight: 2, a: 1, b: 1, c: 0.5 }, shape: [2, 16, 16, 1] },
      { name: '3D joint, instance norm', model: { spatialDims: 3, inChannels: 1, outChannels: 4, filters: [4, 8], normalization: 'instance', seed: 1 }, head: { kind: 'joint', parts: 2, posWeight: 2, a: 1, b: 1, c: 0.5 }, shape: [1, 8, 8, 8, 1] },
    ];
    for (const c of tiny) {
      try {
        const got = await stepOn('webgpu', c);
        const want = await stepOn('cpu', c);
        const a = stepAgreement(got, want);
        add(`U-Net step vs cpu: ${c.name}`, a.loss < 1e-4 && a.grad < 1e-4, `loss rel ${a.loss.toExponential(1)}, worst grad rel ${a.grad.toExponential(1)}`);
      } catch (e) {
        add(`U-Net step vs cpu: ${c.name}`, false, `error: ${(e as Error).message.slice(0, 100)}`);
      }
      await tf.setBackend('webgpu');
    }

    let python = pythons[0], device: string | null = null;
    for (const p of existsSync(ref) ? pythons : []) {
      device = torchDevice(p);
      if (device) { python = p; break; }
    }
    const models = soft ? SMALL : FULL;
    for (const m of models) {
      io.err(`gpu-check: timing ${m.label}`);
      let t: Awaited<ReturnType<typeof timeModel>> | null = null;
      try {
        t = await timeModel(m.dims, m.batch, m.size, m.filters, soft ? 1 : 5, soft ? 1 : 2);
      } catch (e) {
        add(`${m.label} training step`, false, `error: ${(e as Error).message.slice(0, 100)}`);
        continue;
      }
      const torch = device ? torchRun(python, ref, m, device, soft ? 1 : 5) : null;
      const cell = (ms: number, key: 'train_ms' | 'infer_ms') => (torch === null ? 'torch not importable' : typeof torch === 'string' ? `torch failed: ${torch}` : `${torch[key].toFixed(1)} on ${torch.device} (${(ms / torch[key]).toFixed(2)}×)`);
      add(`${m.label} training step`, Number.isFinite(t.train.median), `${((m.batch * 1000) / t.train.median).toFixed(2)} samples/s`, t.train.median.toFixed(1), cell(t.train.median, 'train_ms'));
      add(`${m.label} inference`, Number.isFinite(t.infer.median), `${((m.batch * (m.dims === 3 ? m.size : 1) * 1000) / t.infer.median).toFixed(1)} slices/s`, t.infer.median.toFixed(1), cell(t.infer.median, 'infer_ms'));
    }

    io.err(`gpu-check: 2D inference of a 512×512×${slices} CT`);
    {
      const cfg: UNetConfig = { spatialDims: 2, inChannels: 1, outChannels: 5, filters: [16, 32, 64, 128], normalization: 'none', seed: 0 };
      const params = createParams(cfg);
      const dims: [number, number, number] = [512, 512, slices];
      const image = new Float32Array(dims[0] * dims[1] * dims[2]);
      for (let i = 0; i < image.length; i++) image[i] = Math.sin(i * 0.001);
      const t0 = performance.now();
      try {
        const probs = await predictVolume(params, cfg, { kind: 'joint', parts: 3, posWeight: 3, a: 1, b: 1, c: 0 }, image, { dims, spacing: [0.8, 0.8, 1.5], origin: [0, 0, 0], direction: [...IDENTITY3] }, { context: 0, fill: -1, hasWhole: true });
        const ms = performance.now() - t0;
        const finite = probs.every((p) => p.every((x) => x >= 0 && x <= 1));
        add(`inference 512×512×${slices} (2D, streamed)`, finite, `${((slices * 1000) / ms).toFixed(2)} slices/s, ${(ms / 1000).toFixed(1)} s`, ms.toFixed(0));
      } catch (e) {
        add(`inference 512×512×${slices} (2D, streamed)`, false, `error: ${(e as Error).message.slice(0, 100)}`);
      } finally {
        disposeParams(params);
      }
    }

    if (v.json) io.out(JSON.stringify({ ok, adapter: gpu.adapter, software: gpu.adapter.software, rows }, null, 2));
    else io.out([`adapter: ${adapterLine(gpu.adapter)}`, `PyTorch: ${device ? `torch on ${device}` : 'not importable (no ratio)'}`, '', table(rows), '', ok ? 'gpu-check: OK' : 'gpu-check: FAILED'].join('\n'));
    return ok ? 0 : 1;
  },
};
