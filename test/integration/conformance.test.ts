// `osteon conformance` against the project's loss/metric oracle (test/fixtures/oracle, copied
// from ../shared/oracle; expected values are PyTorch float64, see its PROVENANCE.md).
// 1. The example set (seed 0): the CLI's output is compared here, in TypeScript, with
//    expected.json by the oracle's rule (|a - e| <= 1e-5 + 1e-4·|e|; NaN only NaN; ±Infinity only
//    itself), on the default backend and on cpu. Runs on a fresh clone without Python.
// 2. Where /usr/bin/python3 has torch (CI installs python3-torch): a fresh seed (printed; set
//    OSTEON_ORACLE_SEED to replay one) is generated with `oracle.py gen --split-expected`, run
//    through the CLI, and judged by `oracle.py check`, whose last line must be "44 passed, 0 failed".
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { fixtures, hasTorch, python, skipNotice } from '../helpers/env.ts';

const oracleDir = join(fixtures, 'oracle');
const exampleDir = join(oracleDir, 'cases-example');
const tmp = mkdtempSync(join(tmpdir(), 'osteon-conformance-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** The oracle's number encoding: "NaN" (or null), "Infinity", "-Infinity". */
function num(v: Json): number {
  if (v === null || v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (typeof v !== 'number') throw new Error(`not a number: ${JSON.stringify(v)}`);
  return v;
}

function flat(v: Json): number[] {
  if (Array.isArray(v)) return v.flatMap(flat);
  if (v !== null && typeof v === 'object') return flat(v.data);
  return [num(v)];
}

function close(a: number, e: number): boolean {
  if (Number.isNaN(e)) return Number.isNaN(a);
  if (!Number.isFinite(e)) return a === e;
  return Number.isFinite(a) && Math.abs(a - e) <= 1e-5 + 1e-4 * Math.abs(e);
}

/** Failing case ids with their first problem, checked independently of app/learning/conformance.ts. */
function failures(expected: Record<string, Record<string, Json>>, actual: Record<string, Record<string, Json>>): string[] {
  const out: string[] = [];
  for (const [id, outputs] of Object.entries(expected)) {
    const got = actual[id];
    if (!got) { out.push(`${id}: missing`); continue; }
    for (const [key, exp] of Object.entries(outputs)) {
      if (!(key in got)) { out.push(`${id}.${key}: missing (${JSON.stringify(got).slice(0, 200)})`); break; }
      const e = flat(exp), a = flat(got[key]);
      const bad = e.findIndex((x, i) => a.length !== e.length || !close(a[i], x));
      if (bad >= 0) { out.push(`${id}.${key}[${bad}]: actual ${a[bad]} expected ${e[bad]}`); break; }
    }
  }
  return out;
}

const readJson = <T,>(p: string): T => JSON.parse(readFileSync(p, 'utf8')) as T;

describe('osteon conformance on the example set (seed 0, 44 cases)', () => {
  const expected = readJson<Record<string, Record<string, Json>>>(join(exampleDir, 'expected.json'));

  it.each([['default', []], ['cpu', ['--backend', 'cpu']]])('%s backend: every case matches expected.json', (name, extra) => {
    const out = join(tmp, `example-${name}.json`);
    const r = runCli(['conformance', exampleDir, out, '--json', ...extra]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const report = JSON.parse(r.stdout) as { ok: boolean; value: { backend: string; cases: number; errors: number; leakedTensors: number; failed: string[] } };
    expect(report.value).toMatchObject({ cases: 44, errors: 0, leakedTensors: 0, failed: [] });
    if (name === 'cpu') expect(report.value.backend).toBe('cpu');
    const actual = readJson<Record<string, Record<string, Json>>>(out);
    expect(actual._runner).toMatchObject({ backend: report.value.backend });
    expect(Object.keys(expected)).toHaveLength(44);
    const lossFailures = failures(expected, actual).filter((f) => !/^(seg_metrics|pos_weight)-/.test(f));
    expect(lossFailures).toEqual([]);
    // app/metrics/conformance.ts is imported by the runner, so the metric kinds must pass too.
    expect(failures(expected, actual)).toEqual([]);
  });

  it('text summary names the backend; a split set runs without expected.json', () => {
    // Strip `expected` from every case and leave expected.json out: the runner must not need it.
    const split = join(tmp, 'split');
    mkdirSync(split, { recursive: true });
    const doc = readJson<{ cases: Array<Record<string, Json>> }>(join(exampleDir, 'cases.json'));
    doc.cases.forEach((c) => delete c.expected);
    writeFileSync(join(split, 'cases.json'), JSON.stringify(doc));
    const out = join(tmp, 'split-actual.json');
    const r = runCli(['conformance', join(split, 'cases.json'), out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/conformance: 44 cases \(bce_with_logits 9, cross_entropy 8, soft_dice 12, joint_head_loss 7, seg_metrics 5, pos_weight 3\) on backend \w+/);
    expect(r.stdout).toMatch(/expected values are not inline/);
    expect(failures(expected, readJson(out))).toEqual([]);
  });

  it.each([
    ['a missing cases file', ['conformance', join(tmp, 'nope.json'), join(tmp, 'o.json')], /nope\.json: path: not found/],
    ['one positional', ['conformance', exampleDir], /needs CASES\.json and OUT\.json/],
    ['an unknown backend', ['conformance', exampleDir, join(tmp, 'o.json'), '--backend', 'tpu'], /--backend tpu/],
  ])('exits 2 on %s', (_name, args, message) => {
    const r = runCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('exits 2 naming the field of a malformed cases file', () => {
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, JSON.stringify({ schema: 'ct-seg-oracle/1', cases: [{ id: 'x', kind: 'bce_with_logits', inputs: { logits: { dtype: 'float32', shape: [2], data: [1] } }, params: {} }] }));
    const r = runCli(['conformance', bad, join(tmp, 'o.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.json: cases\.0\.inputs\.logits: data length differs/);
  });
});

describe('osteon conformance on a fresh oracle seed, judged by oracle.py check', () => {
  if (!hasTorch()) skipNotice('fresh-seed oracle check', '/usr/bin/python3 with torch');
  it.skipIf(!hasTorch())('oracle.py check: 44 passed, 0 failed', () => {
    const seed = Number(process.env.OSTEON_ORACLE_SEED) || 1 + Math.floor(Math.random() * 2 ** 31);
    process.stderr.write(`oracle seed ${seed} (replay: OSTEON_ORACLE_SEED=${seed})\n`);
    const dir = join(tmp, `seed-${seed}`);
    python([join(oracleDir, 'oracle.py'), 'gen', '--seed', String(seed), '--out', dir, '--split-expected']);
    const out = join(tmp, `seed-${seed}-actual.json`);
    const r = runCli(['conformance', dir, out]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const check = spawnSync('/usr/bin/python3', [join(oracleDir, 'oracle.py'), 'check', '--cases', dir, '--actual', out], { encoding: 'utf8' });
    const lines = check.stdout.trim().split('\n');
    expect(lines[lines.length - 1], `seed ${seed}:\n${check.stdout}`).toBe('44 passed, 0 failed');
    expect(check.status).toBe(0);
  });
});
