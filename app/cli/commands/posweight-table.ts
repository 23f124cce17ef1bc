/**
 * `osteon posweight-table --data DIR [--schema FILE] …`: the measurement behind Osteon's
 * pos_weight and threshold defaults (app/learning/rule-table.ts, docs/pos-weight.md).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from '../command.ts';
import { intOpt, numListOpt, numOpt, schemaOpt } from '../options.ts';
import { usageError } from '../../util/errors.ts';
import { POS_WEIGHT_RULES, type PosWeightRule } from '../../labels/pos-weight.ts';
import type { HeadKind } from '../../learning/heads.ts';

function listOpt<T extends string>(v: unknown, name: string, allowed: readonly T[], def: readonly T[]): T[] {
  if (v === undefined) return [...def];
  const items = String(v).split(',').filter(Boolean);
  const bad = items.find((x) => !(allowed as readonly string[]).includes(x));
  if (bad !== undefined || !items.length) throw usageError(`--${name} ${String(v)}: expected a comma-separated list of ${allowed.join(', ')}`);
  return items as T[];
}

export const command: Command = {
  name: 'posweight-table',
  summary: 'Compare head × pos_weight rule × threshold rule on held-out cases: Dice, HD95, volume error',
  usage: '--data DIR [--schema FILE] [--cal-cases id,..] [--test-cases id,..] [--heads sigmoid,joint,softmax] [--rules one,sqrt,ratio] [--epochs N] [--steps N] [--batch N] [--filters 8,16,32] [--lr 0.001] [--seed S] [--out DIR] [--json]',
  help: [
    'For each head and pos_weight rule (one = 1, sqrt = √(negatives/positives), ratio =',
    'negatives/positives of the sampled training targets) trains one short 2D run, then for each',
    'threshold rule (fixed 0.5, dice = best Dice on the calibration cases, volume = the volume of',
    'the calibration cases, pw = pw/(1+pw)) scores the held-out test cases: Dice, HD95 and volume',
    'error per structure. DIR is a folder of cases (give --cal-cases and --test-cases; the rest',
    'train) or one case folder (ct.* + labels.*), cut into axial blocks of 8 slices: two of every',
    'three train, the third alternately calibrates and tests. The last lines name the best row per head.',
    'Example: osteon posweight-table --data resources/sample/pelvis --schema resources/presets/pelvis.json',
  ].join('\n'),
  options: {
    data: { type: 'string' }, schema: { type: 'string' }, 'cal-cases': { type: 'string' }, 'test-cases': { type: 'string' },
    heads: { type: 'string' }, rules: { type: 'string' }, epochs: { type: 'string' }, steps: { type: 'string' }, batch: { type: 'string' },
    filters: { type: 'string' }, seed: { type: 'string' }, lr: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' },
  },
  optionHelp: {
    data: 'DIR: a folder of cases, or one case folder (ct.* + labels.*) cut into axial blocks (required)',
    schema: 'FILE or preset name (e.g. pelvis): the label schema (default: DIR/schema.json)',
    'cal-cases': 'id,..: cases that calibrate the thresholds (folder of cases)',
    'test-cases': 'id,..: held-out cases that are scored (folder of cases)',
    heads: 'sigmoid,joint,softmax: the heads to compare (default all three)',
    rules: 'one,sqrt,ratio: the pos_weight rules to compare (default all three)',
    epochs: 'N: epochs per run (default 6)',
    steps: 'N: optimiser steps per epoch (default 30)',
    batch: 'N: batch size (default 4)',
    filters: 'n1,n2,..: U-Net filters per level (default 8,16,32)',
    lr: 'X: Adam learning rate (default 0.001)',
    seed: 'S: random seed (default 0)',
    out: 'DIR: where the runs go (default: a new temporary folder)',
    json: 'print the table rows as JSON',
  },
  allowPositionals: false,
  async run({ values: v, io }) {
    if (typeof v.data !== 'string') throw usageError('--data DIR is required\nRun `osteon posweight-table --help`.');
    const ids = (k: string) => (typeof v[k] === 'string' ? String(v[k]).split(',').filter(Boolean) : undefined);
    const { initBackend } = await import('../../learning/backend.ts');
    const report = await initBackend();
    io.err(`backend: ${report.name}`);
    const { ruleTable, renderRuleTable, bestRows } = await import('../../learning/rule-table.ts');
    const rows = await ruleTable({
      dataDir: resolve(v.data), schemaPath: typeof v.schema === 'string' ? resolve(schemaOpt(v.schema)!) : undefined,
      calibrationIds: ids('cal-cases'), testIds: ids('test-cases'),
      heads: listOpt<HeadKind>(v.heads, 'heads', ['sigmoid', 'joint', 'softmax'], ['sigmoid', 'joint', 'softmax']),
      posWeightRules: listOpt<PosWeightRule>(v.rules, 'rules', POS_WEIGHT_RULES, POS_WEIGHT_RULES),
      workDir: typeof v.out === 'string' ? resolve(v.out) : mkdtempSync(join(tmpdir(), 'osteon-pwtable-')),
      epochs: intOpt(v.epochs, 'epochs', 6, 1, 10000), stepsPerEpoch: intOpt(v.steps, 'steps', 30, 1, 100000), batchSize: intOpt(v.batch, 'batch', 4, 1, 256),
      filters: numListOpt(v.filters, 'filters', { min: 1, max: 1024, integer: true }) ?? [8, 16, 32], seed: intOpt(v.seed, 'seed', 0, 0, 2 ** 31 - 1),
      learningRate: numOpt(v.lr, 'lr', 1e-3, 1e-6, 1),
      onProgress: (t) => io.err(t),
    });
    if (v.json) { io.out(JSON.stringify(rows, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x))); return 0; }
    io.out(renderRuleTable(rows));
    io.out('');
    for (const b of bestRows(rows)) io.out(`best ${b.head}: pos_weight ${b.posWeightRule ?? '—'}, threshold ${b.thresholdRule ?? 'arg-max'} (mean Dice ${b.meanDice.toFixed(3)})`);
    return 0;
  },
};
