// runMetricCase (app/metrics/conformance.ts) against the project oracle (PyTorch/numpy/scipy in
// float64, ../shared/oracle/README.md): the seed-0 metric cases copied into
// test/fixtures/metrics/ (see PROVENANCE.md), and, when /usr/bin/python3 has torch and numpy, the
// metric cases of a freshly generated random seed (`oracle.py gen --seed S`).
// Rule (the oracle's): |actual − expected| ≤ 1e-5 + 1e-4·|expected|; NaN only matches NaN,
// ±Infinity only the same infinity.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMetricCase, type MetricCaseKind, type MetricOutput, type TensorInput } from '../../app/metrics/conformance.ts';
import { OsteonError } from '../../app/util/errors.ts';
import { fixtures, hasTorch, python, sharedDir, skipNotice } from '../helpers/env.ts';

type Encoded = number | string | null;
interface OracleCase {
  id: string;
  kind: string;
  inputs: Record<string, TensorInput>;
  params: Record<string, unknown>;
  expected: Record<string, Encoded | { shape: number[]; data: Encoded[] }>;
}

const decode = (v: Encoded): number => (v === null || v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : Number(v));

/** Problems found comparing one case's outputs with the expected values; empty when it passes. */
function compare(expected: OracleCase['expected'], actual: Record<string, MetricOutput>): string[] {
  const problems: string[] = [];
  for (const [k, e] of Object.entries(expected)) {
    const a = actual[k];
    if (a === undefined) { problems.push(`${k}: missing`); continue; }
    const ev = typeof e === 'object' && e !== null ? e.data.map(decode) : [decode(e)];
    const av = typeof a === 'number' ? [a] : a.data;
    if (typeof e === 'object' && e !== null && typeof a !== 'number' && a.shape.join(',') !== e.shape.join(',')) problems.push(`${k}: shape [${a.shape}] vs [${e.shape}]`);
    if (av.length !== ev.length) { problems.push(`${k}: ${av.length} values vs ${ev.length}`); continue; }
    ev.forEach((x, i) => {
      const y = av[i];
      const ok = Number.isNaN(x) ? Number.isNaN(y) : !Number.isFinite(x) ? y === x : Math.abs(y - x) <= 1e-5 + 1e-4 * Math.abs(x);
      if (!ok) problems.push(`${k}[${i}]: ${y} vs ${x}`);
    });
  }
  return problems;
}

function metricCases(file: string): OracleCase[] {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { cases: OracleCase[] };
  return doc.cases.filter((c) => c.kind === 'seg_metrics' || c.kind === 'pos_weight');
}

const fixtureCases = metricCases(join(fixtures, 'metrics', 'oracle-seed0-metric-cases.json'));

describe('oracle seed 0 (test/fixtures/metrics)', () => {
  it('has the 5 seg_metrics and 3 pos_weight cases', () => {
    expect(fixtureCases.map((c) => c.kind)).toEqual([...new Array(5).fill('seg_metrics'), ...new Array(3).fill('pos_weight')]);
  });
  it.each(fixtureCases.map((c) => [c.id, c] as const))('%s', (_id, c) => {
    expect(compare(c.expected, runMetricCase(c.kind as MetricCaseKind, c.inputs, c.params))).toEqual([]);
  });
});

describe('oracle, fresh random seed', () => {
  const oracle = [join(fixtures, 'oracle', 'oracle.py'), join(sharedDir() ?? '/nonexistent', 'oracle', 'oracle.py')].find((p) => existsSync(p));
  const ready = hasTorch() && oracle !== undefined;
  if (!ready) skipNotice('metric cases of a fresh oracle seed', oracle ? '/usr/bin/python3 with torch and numpy' : 'oracle.py');
  it.skipIf(!ready)('every seg_metrics and pos_weight case passes', () => {
    const seed = 1 + Math.floor(Math.random() * 1e6);
    const dir = mkdtempSync(join(tmpdir(), 'osteon-oracle-'));
    try {
      python([oracle as string, 'gen', '--seed', String(seed), '--out', dir]);
      const cases = metricCases(join(dir, 'cases.json'));
      expect(cases.length).toBe(8);
      const failures = cases.map((c) => ({ id: c.id, problems: compare(c.expected, runMetricCase(c.kind as MetricCaseKind, c.inputs, c.params)) }))
        .filter((f) => f.problems.length > 0);
      expect(failures, `oracle seed ${seed}`).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('runMetricCase input errors', () => {
  const t = (shape: number[], data: number[]): TensorInput => ({ dtype: 'int32', shape, data });
  const err = (f: () => unknown): OsteonError => {
    try { f(); } catch (e) { if (e instanceof OsteonError) return e; throw e; }
    throw new Error('did not throw');
  };
  it('names the field at fault', () => {
    expect(err(() => runMetricCase('seg_metrics', { pred: t([1, 2, 2, 1], [0, 1, 1, 0]) }, {})).field).toBe('inputs.target');
    expect(err(() => runMetricCase('seg_metrics', { pred: t([1, 2, 2, 1], [0, 1, 1, 0]), target: t([1, 2, 1, 2], [0, 1, 1, 0]) }, {})).code).toBe('mismatch');
    expect(err(() => runMetricCase('seg_metrics', { pred: t([1, 1, 2, 2, 1], [0, 1, 1, 0]), target: t([1, 1, 2, 2, 1], [0, 1, 1, 0]) }, { spacing: null })).field).toBe('params.spacing');
    expect(err(() => runMetricCase('pos_weight', { masks: t([1, 2, 1], [0, 2]) }, {})).field).toBe('inputs.masks.data[1]');
    expect(err(() => runMetricCase('pos_weight', { masks: t([1, 3, 1], [0, 1]) }, {})).field).toBe('inputs.masks.data');
  });
  it('maps [N,D,H,W,C] onto x = W, y = H, z = D with spacing [sw, sh, sd]', () => {
    // one voxel at d=0 and one at d=1 (same h, w), spacing sd = 4: they are 4 mm apart
    const pred = t([1, 2, 1, 2, 1], [1, 0, 0, 0]), target = t([1, 2, 1, 2, 1], [0, 0, 1, 0]);
    const r = runMetricCase('seg_metrics', { pred, target }, { spacing: [4, 1, 0.5] });
    expect(r.hd95).toEqual({ shape: [1, 1], data: [4] });
    expect(r.dice_mean).toBe(0);
  });
});
