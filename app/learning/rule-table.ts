/**
 * The pos_weight × threshold comparison behind Osteon's defaults (`osteon posweight-table`,
 * docs/pos-weight.md): for each head and pos_weight rule one short training run; then for each
 * threshold rule, thresholds chosen on the calibration cases and everything scored on held-out
 * test cases: Dice, HD95 and volume error per structure.
 *
 * Three disjoint sets, so the threshold is never scored on the voxels that chose it:
 *   train        the network's training cases;
 *   calibration  validation during training and threshold choice;
 *   test         scored only.
 * A single study (the pelvis) is cut into axial blocks of 8 slices: two of every three train, the
 * third alternately calibrates and tests (one cut would train on the hips and test on the iliac
 * wings, anatomy the model never saw).
 */
import { join } from 'node:path';
import type { Vec3 } from '../imaging/volume.ts';
import { evaluateCase } from '../metrics/evaluate.ts';
import { nanMean } from '../metrics/dice.ts';
import { probabilityHistogram, BINS } from '../metrics/thresholds.ts';
import { headPosWeight, sigmoidChannels, type PosWeightRule } from '../labels/pos-weight.ts';
import { pickThreshold, volumeError } from './calibrate.ts';
import type { TrainingCase } from './data/case.ts';
import { findCases, resolveSchema } from './dataset.ts';
import { paddingValue } from './data/normalize.ts';
import type { HeadKind } from './heads.ts';
import { loadParams, readCheckpoint } from './checkpoint.ts';
import { createParams, disposeParams } from './model/unet.ts';
import { binarize, predictVolume } from './predict.ts';
import { prepareRun, type RunOptions } from './run.ts';
import { train } from './train.ts';

/** Threshold rules compared: calibrate.ts's rules plus pw/(1+pw), the "undo the weight" rule. */
export type TableThresholdRule = 'fixed' | 'dice' | 'volume' | 'pw';
export const TABLE_THRESHOLD_RULES: readonly TableThresholdRule[] = ['fixed', 'dice', 'volume', 'pw'];

export interface RuleTableOptions {
  /** Folder of cases (phantom set) or one case folder (the pelvis). */
  dataDir: string;
  schemaPath?: string;
  /** Case ids for calibration and test (several cases); ignored for a single case (slabs). */
  calibrationIds?: string[];
  testIds?: string[];
  heads: HeadKind[];
  posWeightRules: PosWeightRule[];
  workDir: string;
  epochs: number;
  stepsPerEpoch: number;
  batchSize: number;
  filters: number[];
  seed: number;
  learningRate?: number;
  onProgress?: (text: string) => void;
}

export interface RuleRow {
  head: HeadKind;
  /** null for the softmax head (no sigmoid channel). */
  posWeightRule: PosWeightRule | null;
  posWeight: number[];
  thresholdRule: TableThresholdRule | null;
  thresholds: Array<number | null>;
  structures: string[];
  dice: number[];
  /** HD95 in mm per structure: the median over the test cases. */
  hd95: number[];
  /** (predicted − true)/true per structure, pooled over the test cases. */
  volumeError: number[];
  meanDice: number;
  meanAbsVolumeError: number;
}

/** Thresholds of a rule for the head's sigmoid channels, chosen on calibration probabilities. */
function thresholdsFor(rule: TableThresholdRule, sig: number[], S: number, pw: number[], calProbs: Float32Array[][], cal: TrainingCase[]): number[] {
  return Array.from({ length: S }, (_, k) => {
    const i = sig.indexOf(k);
    if (i < 0) return 0.5;
    if (rule === 'pw') return Math.round((pw[i] / (1 + pw[i])) * 1000) / 1000;
    let h: { pos: Float64Array; neg: Float64Array } | undefined;
    calProbs.forEach((p, n) => { h = probabilityHistogram(p[k], cal[n].masks[k], h); });
    return pickThreshold(h ?? { pos: new Float64Array(BINS + 1), neg: new Float64Array(BINS + 1) }, rule);
  });
}

function score(head: HeadKind, ids: string[], hasWhole: boolean, probs: Float32Array[][], test: TrainingCase[], thresholds: number[], cfgHead: Parameters<typeof binarize>[1]): Pick<RuleRow, 'dice' | 'hd95' | 'volumeError' | 'meanDice' | 'meanAbsVolumeError'> {
  const S = ids.length;
  const perCase = test.map((c, n) => {
    const masks = binarize(probs[n], cfgHead, hasWhole, thresholds);
    return { masks, metrics: evaluateCase(masks, c.masks, { dims: c.geometry.dims as Vec3, spacing: c.geometry.spacing as Vec3 }) };
  });
  const dice = Array.from({ length: S }, (_, k) => nanMean(perCase.map((p) => p.metrics[k].dice)).mean);
  // Median over test cases (a slab block where one side is empty has HD95 Infinity; the median keeps the rest visible).
  const hd95 = Array.from({ length: S }, (_, k) => median(perCase.map((p) => p.metrics[k].hd95 ?? NaN).filter((x) => !Number.isNaN(x))));
  const volumeErr = Array.from({ length: S }, (_, k) => volumeError(
    perCase.reduce((s, p) => s + p.metrics[k].predCount, 0), perCase.reduce((s, p) => s + p.metrics[k].gtCount, 0)));
  return { dice, hd95, volumeError: volumeErr, meanDice: nanMean(dice).mean, meanAbsVolumeError: nanMean(volumeErr.map(Math.abs)).mean };
}

function median(xs: number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Trains one run per head × pos_weight rule and scores every threshold rule on the test cases. */
export async function ruleTable(o: RuleTableOptions): Promise<RuleRow[]> {
  const found = findCases(o.dataDir);
  const single = found.length === 1;
  const { path } = resolveSchema(o.dataDir, o.schemaPath);
  const rows: RuleRow[] = [];
  for (const head of o.heads) {
    const rules: Array<PosWeightRule | null> = head === 'softmax' ? [null] : o.posWeightRules;
    for (const rule of rules) {
      const runDir = join(o.workDir, `${head}-${rule ?? 'none'}`);
      o.onProgress?.(`training ${head} head, pos_weight ${rule ?? '(none)'} → ${runDir}`);
      const options: RunOptions = {
        dataDir: o.dataDir, schemaPath: path, runDir, head, spatialDims: 2, filters: o.filters, normalization: 'none', context: 0,
        epochs: o.epochs, stepsPerEpoch: o.stepsPerEpoch, batchSize: o.batchSize, learningRate: o.learningRate ?? 1e-3, validateEvery: o.epochs,
        earlyStoppingPatience: 0, seed: o.seed, posWeight: rule ?? 'one', lossWeights: { a: 1, b: 1, c: 0 }, flipAxes: [], thresholdRule: 'fixed',
        split: single ? { kind: 'blocks', block: 8, every: 3 } : { kind: 'cases', ids: [...(o.calibrationIds ?? []), ...(o.testIds ?? [])] },
      };
      const p = prepareRun(options, null);
      let cal: TrainingCase[], test: TrainingCase[];
      if (single) {
        // Blocks of 8 slices: two of every three train, the third alternately calibrates and tests.
        cal = p.val.filter((_, i) => i % 2 === 0);
        test = p.val.filter((_, i) => i % 2 === 1);
      } else {
        cal = p.val.filter((c) => o.calibrationIds?.includes(c.id));
        test = p.val.filter((c) => o.testIds?.includes(c.id));
      }
      // Training validates (and keeps its best checkpoint) on the calibration cases only.
      await train(p.config, p.train, cal, { runDir, onEvent: () => {} });
      const cfg = p.config;
      const params = createParams(cfg.model);
      try {
        const ck = join(runDir, 'checkpoints', 'best.ckpt');
        loadParams(readCheckpoint(ck), params, ck);
        const predict = (cases: TrainingCase[]) => Promise.all(cases.map((c) => predictVolume(params, cfg.model, cfg.head, c.image, c.geometry, {
          context: cfg.sampling.context, patch: cfg.sampling.patch, fill: paddingValue(cfg.normalization), hasWhole: cfg.layout.hasWhole,
        })));
        const calProbs = await predict(cal), testProbs = await predict(test);
        const { ids, hasWhole } = cfg.layout;
        const sig = sigmoidChannels(head, ids.length, hasWhole);
        const pw = headPosWeight(cfg.head);
        const tRules: Array<TableThresholdRule | null> = sig.length ? [...TABLE_THRESHOLD_RULES] : [null];
        for (const tr of tRules) {
          const thresholds = tr ? thresholdsFor(tr, sig, ids.length, pw, calProbs, cal) : ids.map(() => 0.5);
          rows.push({
            head, posWeightRule: rule, posWeight: pw, thresholdRule: tr, thresholds: thresholds.map((t, k) => (sig.includes(k) ? t : null)), structures: ids,
            ...score(head, ids, hasWhole, testProbs, test, thresholds, cfg.head),
          });
        }
      } finally {
        disposeParams(params);
      }
    }
  }
  return rows;
}

/** The best row of each head by mean test Dice (ties: smaller mean volume error). */
export function bestRows(rows: readonly RuleRow[]): RuleRow[] {
  const byHead = new Map<HeadKind, RuleRow>();
  for (const r of rows) {
    const b = byHead.get(r.head);
    if (!b || r.meanDice > b.meanDice || (r.meanDice === b.meanDice && r.meanAbsVolumeError < b.meanAbsVolumeError)) byHead.set(r.head, r);
  }
  return [...byHead.values()];
}

/** A text table: one row per head × pos_weight rule × threshold rule. */
export function renderRuleTable(rows: readonly RuleRow[]): string {
  if (!rows.length) return '(no rows)';
  const ids = rows[0].structures;
  const f = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
  const pct = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}%` : '—');
  const head = ['head', 'pos_weight', 'threshold', 'mean Dice', 'mean |vol err|', ...ids.flatMap((id) => [`${id} Dice`, `${id} HD95`, `${id} vol`])];
  const body = rows.map((r) => [
    r.head, r.posWeightRule ? `${r.posWeightRule} [${r.posWeight.join(', ')}]` : '—',
    r.thresholdRule ? `${r.thresholdRule} [${r.thresholds.map((t) => (t === null ? '·' : t.toFixed(3))).join(', ')}]` : 'arg-max',
    f(r.meanDice), pct(r.meanAbsVolumeError).replace('+', ''), ...ids.flatMap((_, k) => [f(r.dice[k]), f(r.hd95[k], 1), pct(r.volumeError[k])]),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(head), ...body.map(line)].join('\n');
}

