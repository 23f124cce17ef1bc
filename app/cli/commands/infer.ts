/**
 * `osteon infer --run RUN --ct FILE --out DIR`: predicts the whole and every part of a CT with a
 * trained run and writes one NIfTI mask per structure on the CT's grid.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Command } from '../command.ts';
import { enumOpt, numListOpt, requiredString } from '../options.ts';
import { progressBar } from '../progress.ts';
import { badInput, usageError } from '../../util/errors.ts';
import { adapterLine, backendChoices, backendLabel, initBackend, type BackendPreference } from '../../learning/backend.ts';
import { StepProfiler, profileRequested, renderProfile } from '../../learning/profile.ts';
import { inferFile, loadModel, localBackend, releaseModel, keptThresholds } from '../../learning/infer.ts';
import { precisionChoices, type PrecisionChoice } from '../../learning/native/infer-net.ts';
import type { HierarchyMode } from '../../learning/postprocess.ts';

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

function windowBudgetOpt(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isFinite(n) || n <= 0) throw usageError(`--window-budget ${String(v)}: expected a positive number of MiB`);
  return n * 2 ** 20;
}

export const command: Command = {
  name: 'infer',
  summary: 'Predict the whole bone and each part of a CT with a trained run; write NIfTI masks',
  usage: '--run RUN --ct FILE --out DIR [--checkpoint best|last] [--thresholds t1,t2,..] [--tta-flip-axes 0,1]\n       [--postprocess auto|none|lcc] [--hierarchy none|parts-in-whole|whole-covers-parts|both] [--consistency auto|on|off] [--probabilities] [--backend B] [--precision auto|fp32|bf16] [--window-budget MIB] [--force] [--json]',
  help: [
    'Writes DIR/<structure>.nii.gz (uint8 0/1, on the CT grid; overlapping structures stay',
    'overlapping), DIR/<structure>.prob.nii.gz with --probabilities, and DIR/prediction.json.',
    'Thresholds apply to sigmoid channels (the joint head\'s whole, every sigmoid-head channel):',
    'by default those calibrated on validation after training (RUN/calibration.json), else 0.5;',
    'softmax parts take the arg-max. --consistency (sigmoid head with a whole): parts exclusive,',
    'whole ⊇ parts; auto = as decided on validation (postprocessing.json). --postprocess auto applies the run\'s postprocessing.json',
    '(largest component only where it raised validation Dice). --tta-flip-axes averages over',
    'mirrored copies along those volume index axes (do not mirror left-right for L/R structures).',
    'DIR must not exist or be empty (or give --force); it is written completely or not at all.',
    'The volume stays in memory here; its windows (2D slices or 3D patches) stream through the',
    'backend a batch at a time, the batch fitted to the device\'s maxStorageBufferBindingSize on',
    'webgpu. The windows, the time and the peak memory are printed and kept in prediction.json.',
    '--precision: the network\'s arithmetic. auto (default) = bf16 where this CPU has bf16 instructions',
    '(AMX, AVX512-BF16) on the wasm+dnnl rung, else fp32; bf16 runs the whole network in oneDNN with',
    'bf16 activations and weights and float32 sums (docs/cpu-speed.md: agreement with fp32); fp32 = the',
    'model\'s float32 pass. The precision used and why are printed and kept in prediction.json.',
  ].join('\n'),
  options: {
    run: { type: 'string' }, ct: { type: 'string' }, out: { type: 'string' }, checkpoint: { type: 'string' },
    thresholds: { type: 'string' }, 'tta-flip-axes': { type: 'string' }, postprocess: { type: 'string' },
    hierarchy: { type: 'string' }, consistency: { type: 'string' }, probabilities: { type: 'boolean' }, backend: { type: 'string' }, precision: { type: 'string' }, 'window-budget': { type: 'string' },
    force: { type: 'boolean' }, json: { type: 'boolean' }, profile: { type: 'boolean' },
  },
  optionHelp: {
    run: 'RUN: the run folder `osteon train` wrote',
    ct: 'FILE: the CT volume to segment (NIfTI, NRRD, MetaImage or a DICOM folder)',
    out: 'DIR: where the masks go; must not exist or be empty (or give --force)',
    checkpoint: 'best|last: which checkpoint to load (default best)',
    thresholds: 't1,t2,..: one probability threshold per sigmoid channel (default: the run\'s tuned ones, else 0.5)',
    'tta-flip-axes': '0,1,..: average over copies mirrored along these volume index axes',
    postprocess: 'auto|none|lcc: largest-component clean-up (auto: as decided on validation)',
    hierarchy: 'none|parts-in-whole|whole-covers-parts|both: make whole and parts agree',
    consistency: 'auto|on|off: sigmoid head with a whole: parts exclusive, whole ⊇ parts (auto: as decided on validation, the default)',
    probabilities: 'also write <structure>.prob.nii.gz (float32)',
    backend: 'auto|tfjs-node-gpu|webgpu|tfjs-node|wasm+dnnl|wasm|cpu: the tfjs backend (default auto)',
    precision: 'auto|fp32|bf16: the network\'s arithmetic (default auto: bf16 where the CPU has it natively, on wasm+dnnl)',
    'window-budget': 'MIB: at most this many MiB for the largest tensor of one window batch (default: 80% of the device\'s binding limit on webgpu, else 4 windows)',
    force: 'replace a non-empty DIR',
    json: 'print the result as JSON',
    profile: 'print a per-op time table (kernel, backend, calls, ms, % of the run) of the whole inference to stderr (also OSTEON_PROFILE=1)',
  },
  allowPositionals: false,
  async run({ values: v, io }) {
    const runDir = resolve(requiredString(v.run, 'run', 'infer'));
    const ct = resolve(requiredString(v.ct, 'ct', 'infer'));
    const out = resolve(requiredString(v.out, 'out', 'infer'));
    if (existsSync(out) && readdirSync(out).length > 0 && !v.force) throw badInput(out, 'path', 'exists and is not empty (give --force to replace it)');
    const opts = {
      thresholds: numListOpt(v.thresholds, 'thresholds', { min: 0, max: 1 }),
      ttaFlipAxes: numListOpt(v['tta-flip-axes'], 'tta-flip-axes', { min: 0, max: 2, integer: true }),
      postprocess: enumOpt(v.postprocess, 'postprocess', ['auto', 'none', 'lcc'] as const, 'auto'),
      hierarchy: enumOpt<HierarchyMode>(v.hierarchy, 'hierarchy', ['none', 'parts-in-whole', 'whole-covers-parts', 'both'], 'none'),
      consistency: enumOpt(v.consistency, 'consistency', ['auto', 'on', 'off'] as const, 'auto'),
      probabilities: Boolean(v.probabilities),
      windowBudget: windowBudgetOpt(v['window-budget']),
      precision: enumOpt<PrecisionChoice>(v.precision, 'precision', precisionChoices, 'auto'),
    };
    const report = await initBackend({ prefer: enumOpt<BackendPreference>(v.backend, 'backend', backendChoices, 'auto') });
    const model = loadModel(runDir, enumOpt(v.checkpoint, 'checkpoint', ['best', 'last'] as const, 'best'));
    // Thresholds kept by the app's threshold tuning apply unless --thresholds is given.
    opts.thresholds ??= keptThresholds(runDir) ?? undefined;
    if (opts.thresholds && opts.thresholds.length !== model.config.layout.ids.length) {
      throw badInput(runDir, 'thresholds', `${opts.thresholds.length} values for ${model.config.layout.ids.length} structures (${model.config.layout.ids.join(', ')})`, 'usage');
    }
    const bar = progressBar(io);
    const tmp = join(dirname(out), `.${basename(out)}.${randomBytes(4).toString('hex')}.partial`);
    mkdirSync(tmp, { recursive: true });
    const t0 = Date.now();
    const backend = localBackend();
    try {
      const predict = () => inferFile(model, ct, tmp, { ...opts, backend, onProgress: (d, n) => bar.update(d / n, `predicting ${d}/${n} window batches`) });
      // --profile: the one run, profiled (reading the CT and writing the masks count as outside kernels).
      const profiler = profileRequested(v.profile === true) ? new StepProfiler() : null;
      const r = profiler ? await profiler.step(predict) : await predict();
      bar.clear();
      if (profiler) io.err(renderProfile(profiler.report(`inference of ${basename(ct)} (read, predict, write)`)));
      const s = r.stats;
      const memory = { peakGpuBytes: s.peakGpuBytes, peakRssBytes: process.resourceUsage().maxRSS * 1024 };
      rmSync(out, { recursive: true, force: true });
      renameSync(tmp, out);
      const files = r.files.map((f) => join(out, basename(f)));
      const seconds = (Date.now() - t0) / 1000;
      if (v.json) io.out(JSON.stringify({ ok: true, out, files, voxels: r.voxels, seconds, backend: report.name, adapter: backend.adapter, precision: s.precision, precisionDetail: s.precisionDetail, plan: s.plan, predictSeconds: s.seconds, memory }, null, 2));
      else io.out([`Predicted ${basename(ct)} with ${runDir} (${basename(model.checkpoint)}, backend ${backendLabel(report)}${backend.adapter ? `, adapter ${adapterLine(backend.adapter)}` : ''}) in ${seconds.toFixed(1)} s`,
        `  precision ${s.precisionDetail}`,
        `  ${s.plan.text}`,
        `  windows ${s.plan.windows} in ${s.plan.calls} passes, ${s.seconds.toFixed(1)} s; peak ${s.peakGpuBytes === null ? 'device memory not reported by this backend' : `device memory ${mib(s.peakGpuBytes)}`}, peak process memory (RSS) ${mib(memory.peakRssBytes)}`,
        ...Object.entries(r.voxels).map(([id, n]) => `  ${id.padEnd(16)} ${String(n).padStart(9)} voxels → ${join(out, `${id}.nii.gz`)}`)].join('\n'));
      return 0;
    } finally {
      rmSync(tmp, { recursive: true, force: true });
      releaseModel(model);
    }
  },
};
