/**
 * `osteon train --data DIR --out RUN [--head joint|sigmoid|softmax] …`: trains a U-Net in a
 * worker thread and reports progress; `--resume RUN` continues from the last checkpoint.
 */
import { resolve } from 'node:path';
import type { Command } from '../command.ts';
import { enumOpt, intOpt, numListOpt, numOpt, schemaOpt } from '../options.ts';
import { formatDuration, progressBar } from '../progress.ts';
import { usageError } from '../../util/errors.ts';
import { backendChoices, threadsLabel, type BackendPreference } from '../../learning/backend.ts';
import type { RunOptions } from '../../learning/run.ts';
import { POS_WEIGHT_RULES } from '../../labels/pos-weight.ts';
import { THRESHOLD_RULES, describeCalibration, type ThresholdRule } from '../../learning/calibrate.ts';
import type { TrainEvent } from '../../learning/train.ts';
import { startTraining } from '../../learning/worker/host.ts';

const fmt = (x: number | undefined) => (x === undefined ? '-' : Number.isFinite(x) ? x.toFixed(4) : String(x));

function describe(e: TrainEvent, ids: string[], episodes: Set<number>): string | null {
  switch (e.type) {
    case 'start': return `run ${e.runDir}: ${e.params.toLocaleString('en')} parameters; train ${e.trainCases.join(', ')}; validate ${e.valCases.join(', ') || '(none)'}; epochs ${e.startEpoch}..${e.epochs} × ${e.stepsPerEpoch} steps${e.memory ? `\n${e.memory}` : ''}`;
    case 'epoch': {
      const l = e.loss;
      const parts = [`epoch ${e.epoch}: loss ${fmt(l.total)}`, l.bce !== undefined ? `bce ${fmt(l.bce)}` : '', l.ce !== undefined ? `ce ${fmt(l.ce)}` : '', l.dice !== undefined ? `dice-loss ${fmt(l.dice)}` : '', `${e.seconds.toFixed(1)} s`].filter(Boolean);
      const vl = e.validation?.loss;
      if (vl) parts.push(['val loss ' + fmt(vl.total), vl.bce !== undefined ? `bce ${fmt(vl.bce)}` : '', vl.ce !== undefined ? `ce ${fmt(vl.ce)}` : '', vl.dice !== undefined ? `dice-loss ${fmt(vl.dice)}` : ''].filter(Boolean).join(' '));
      if (e.validation) parts.push(`val Dice ${e.validation.dice.map((d, k) => `${ids[k] ?? k} ${fmt(d)}`).join(', ')} (mean ${fmt(e.validation.meanDice)})`);
      return parts.join('  ');
    }
    case 'checkpoint': return e.kind === 'best' ? `  best checkpoint (mean Dice ${fmt(e.meanDice)}) → ${e.path}` : null;
    case 'warning':
      if (e.episode !== undefined && episodes.has(e.episode)) return `WARNING (${e.code}, epoch ${e.epoch}): still collapsing (${e.count} validations in a row)`;
      if (e.episode !== undefined) episodes.add(e.episode);
      return `WARNING (${e.code}, epoch ${e.epoch}): ${e.message}${e.finding ? `\n  check:\n${e.finding.likelyCauses.map((c) => `   - ${c.text}${c.evidence ? ` (${c.evidence})` : ''}`).join('\n')}` : ''}`;
    case 'calibration': return `calibrated thresholds on validation:\n${describeCalibration(e.calibration).map((l) => `  ${l}`).join('\n')}`;
    case 'postprocessing': return `post-processing (largest component, kept where it raised validation Dice): ${e.plan.evidence.map((x, k) => `${x.id} ${e.plan.largestComponent[k] ? 'on' : 'off'} (${fmt(x.without)} → ${fmt(x.with)})`).join(', ')}` +
      (e.plan.consistency ? `\nconsistency (parts exclusive, whole ⊇ parts): ${e.plan.consistency.apply ? 'on' : 'off'} (mean Dice ${fmt(e.plan.consistency.without)} → ${fmt(e.plan.consistency.with)})` : '');
    case 'paused': return 'paused';
    case 'resumed': return 'resumed';
    case 'done': return `done (${e.reason}): ${e.message}`;
    case 'step': return null;
    default: { const never: never = e; return String(never); }
  }
}

export const command: Command = {
  name: 'train',
  summary: 'Train a U-Net (joint, sigmoid or softmax head) on a folder of cases, in a worker thread',
  usage: '--data DIR --out RUN [--head joint|sigmoid|softmax] [options] [--json] | --resume RUN [--epochs N]',
  help: [
    'DIR holds case folders with ct.* and labels.* (as `osteon phantom` writes) and schema.json',
    '(or give --schema). RUN is a new folder: config.json, schema.json, run.json, metrics.jsonl,',
    'checkpoints/last.ckpt and best.ckpt (by mean validation Dice), status.json.',
  ].join('\n'),
  options: {
    data: { type: 'string' }, schema: { type: 'string' }, out: { type: 'string' }, resume: { type: 'string' },
    head: { type: 'string' }, dims: { type: 'string' }, filters: { type: 'string' }, norm: { type: 'string' },
    patch: { type: 'string' }, context: { type: 'string' }, epochs: { type: 'string' }, steps: { type: 'string' },
    batch: { type: 'string' }, lr: { type: 'string' }, seed: { type: 'string' }, 'validate-every': { type: 'string' },
    'early-stop': { type: 'string' }, 'flip-axes': { type: 'string' }, 'loss-weights': { type: 'string' },
    'pos-weight': { type: 'string' }, 'val-fraction': { type: 'string' }, 'val-cases': { type: 'string' },
    'split-slab': { type: 'string' }, window: { type: 'string' }, rotation: { type: 'string' }, 'scale-max': { type: 'string' }, 'spatial-prob': { type: 'string' }, 'threshold-rule': { type: 'string' }, backend: { type: 'string' }, json: { type: 'boolean' }, profile: { type: 'boolean' },
  },
  optionHelp: {
    data: 'DIR: case folders with ct.* and labels.* and schema.json (as `osteon phantom` writes)',
    schema: 'FILE or preset name (e.g. pelvis): the label schema (default: DIR/schema.json)',
    out: 'RUN: a new run folder',
    resume: 'RUN: continue this run from its last checkpoint (with --epochs N to extend it)',
    head: 'joint|sigmoid|softmax: the output head (default joint)',
    dims: '2|3: 2D slices or 3D patches (default 2)',
    filters: 'n1,n2,..: U-Net filters per level (default 16,32,64,128)',
    norm: 'none|instance: normalisation layers (default none)',
    patch: 'H,W|D,H,W: patch size (default: the whole plane, padded)',
    context: 'N: 2.5D, N slices of context either side as extra channels (default 0)',
    epochs: 'N: epochs (default 20)',
    steps: 'N: optimiser steps per epoch (default 50)',
    batch: 'N: batch size (default 4)',
    lr: 'X: Adam learning rate (default 0.001)',
    seed: 'S: random seed (default 0)',
    'validate-every': 'N: validate every N epochs (default 1)',
    'early-stop': 'N: stop after N validations without a better mean Dice (0 = off, default)',
    'flip-axes': '0,1,..: random mirroring along these volume index axes (none by default: mirroring left-right swaps L/R structures)',
    'loss-weights': 'a,b,c: a·BCE + b·CE + c·Dice (default 1,1,0)',
    'pos-weight': 'auto|one|sqrt|ratio|v1,v2,..: BCE pos_weight, a rule on negatives/positives of the sampled targets (auto = the measured default) or one value per sigmoid channel',
    'threshold-rule': 'dice|volume|fixed: how each sigmoid threshold is chosen on validation after training (highest Dice, the volume closest to the truth, or 0.5; default dice); stored in RUN/calibration.json and used by `osteon infer`',
    'val-fraction': 'F: fraction of cases held out for validation (default 0.34)',
    'val-cases': 'id,id: these cases validate',
    'split-slab': 'F: one case: the first F of its axial slices train, the rest validate',
    window: 'lo,hi: HU window clipped before the z-score (default -1000,2000)',
    rotation: 'DEG: in-plane rotation augmentation range, 2D (default 15)',
    'scale-max': 'X: in-plane scaling augmentation up to this factor, 2D (default 1.15)',
    'spatial-prob': 'P: probability of a rotation/scaling per sample, 2D (default 0.5)',
    backend: 'auto|tfjs-node-gpu|webgpu|tfjs-node|wasm+dnnl|wasm|cpu: the tfjs backend (default auto)',
    json: 'print one JSON event per line',
    profile: 'print a per-op time table (kernel, backend, calls, ms, % of step) of training steps 2-4 to stderr (also OSTEON_PROFILE=1)',
  },
  allowPositionals: false,
  async run({ values: v, io }) {
    const backend = enumOpt<BackendPreference>(v.backend, 'backend', backendChoices, 'auto');
    let start: Parameters<typeof startTraining>[0];
    if (typeof v.resume === 'string') {
      start = { run: { kind: 'resume', runDir: resolve(v.resume), epochs: v.epochs === undefined ? undefined : intOpt(v.epochs, 'epochs', 1, 1, 100000) }, backend };
    } else {
      if (typeof v.data !== 'string' || typeof v.out !== 'string') throw usageError('--data DIR and --out RUN are required (or --resume RUN)\nRun `osteon train --help`.');
      const dims = intOpt(v.dims, 'dims', 2, 2, 3) as 2 | 3;
      const lw = numListOpt(v['loss-weights'], 'loss-weights', { min: 0, length: 3 }) ?? [1, 1, 0];
      const splits = ['val-fraction', 'val-cases', 'split-slab'].filter((k) => v[k] !== undefined);
      if (splits.length > 1) throw usageError(`--${splits.join(' and --')}: give only one way to choose validation data`);
      const split: RunOptions['split'] = v['val-cases'] !== undefined ? { kind: 'cases', ids: String(v['val-cases']).split(',').filter(Boolean) }
        : v['split-slab'] !== undefined ? { kind: 'slab', trainFraction: numOpt(v['split-slab'], 'split-slab', 0.7, 0.05, 0.95) }
          : { kind: 'fraction', fraction: numOpt(v['val-fraction'], 'val-fraction', 0.34, 0.01, 0.9) };
      const pwText = v['pos-weight'] === undefined ? 'auto' : String(v['pos-weight']);
      const pw: RunOptions['posWeight'] = pwText === 'auto' || (POS_WEIGHT_RULES as readonly string[]).includes(pwText) ? pwText as RunOptions['posWeight'] : numListOpt(pwText, 'pos-weight', { min: 0 })!;
      const windowHu = numListOpt(v.window, 'window', { length: 2 }) as [number, number] | undefined;
      const options: RunOptions = {
        dataDir: resolve(v.data), schemaPath: typeof v.schema === 'string' ? resolve(schemaOpt(v.schema)!) : undefined, runDir: resolve(v.out),
        head: enumOpt(v.head, 'head', ['joint', 'sigmoid', 'softmax'] as const, 'joint'), spatialDims: dims,
        filters: numListOpt(v.filters, 'filters', { min: 1, max: 1024, integer: true }) ?? (dims === 2 ? [16, 32, 64, 128] : [8, 16, 32, 64]),
        normalization: enumOpt(v.norm, 'norm', ['none', 'instance'] as const, 'none'),
        patch: numListOpt(v.patch, 'patch', { min: 1, max: 1024, integer: true }), context: intOpt(v.context, 'context', 0, 0, 8),
        epochs: intOpt(v.epochs, 'epochs', 20, 1, 100000), stepsPerEpoch: intOpt(v.steps, 'steps', 50, 1, 100000),
        batchSize: intOpt(v.batch, 'batch', 4, 1, 256), learningRate: numOpt(v.lr, 'lr', 1e-3, 1e-7, 1),
        validateEvery: intOpt(v['validate-every'], 'validate-every', 1, 1, 100000), earlyStoppingPatience: intOpt(v['early-stop'], 'early-stop', 0, 0, 100000),
        seed: intOpt(v.seed, 'seed', 0, 0, 2 ** 31 - 1), posWeight: pw, lossWeights: { a: lw[0], b: lw[1], c: lw[2] }, split,
        flipAxes: numListOpt(v['flip-axes'], 'flip-axes', { min: 0, max: 2, integer: true }) ?? [], windowHu,
        rotationDeg: numOpt(v.rotation, 'rotation', 15, 0, 180), scaleMax: numOpt(v['scale-max'], 'scale-max', 1.15, 1, 2),
        spatialProbability: numOpt(v['spatial-prob'], 'spatial-prob', 0.5, 0, 1),
        thresholdRule: enumOpt<ThresholdRule>(v['threshold-rule'], 'threshold-rule', THRESHOLD_RULES, 'dice'),
      };
      start = { run: { kind: 'new', options }, backend };
    }
    const bar = progressBar(io);
    let ids: string[] = [];
    const episodes = new Set<number>();
    // The worker reads it from its copy of the environment (app/learning/profile.ts).
    if (v.profile) process.env.OSTEON_PROFILE = '1';
    const job = startTraining(start, {
      onBackend: (r) => { if (!v.json) io.err(`backend: ${r.name} (${r.package})${r.kernels.length ? `, ${r.kernels.length} Osteon kernels` : ''}${threadsLabel(r) ? `, ${threadsLabel(r)}` : ''}`); },
      onEvent: (e) => {
        if (v.json) { io.out(JSON.stringify(e, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x))); return; }
        if (e.type === 'start') ids = e.structures;
        if (e.type === 'step') { bar.update(e.step / e.stepsPerEpoch, `epoch ${e.epoch} step ${e.step}/${e.stepsPerEpoch} loss ${fmt(e.loss.total)} ${e.samplesPerSec.toFixed(1)} samples/s ETA ${formatDuration(e.etaSec)}`); return; }
        const line = describe(e, ids, episodes);
        if (line) { bar.clear(); io.out(line); }
      },
    });
    const onSignal = () => { io.err('\ncancelling (the last checkpoint is kept)…'); job.cancel(); };
    process.once('SIGINT', onSignal);
    try {
      const done = await job.done;
      return done.reason === 'non-finite-loss' ? 1 : 0;
    } finally {
      process.off('SIGINT', onSignal);
    }
  },
};
