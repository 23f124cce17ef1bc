// `osteon train --profile` and `osteon infer` with OSTEON_PROFILE=1 print the per-op table
// (app/learning/profile.ts) on stderr, as a user runs them, on a tiny phantom. The numbers are
// not checked (no timing assertions): the table, its columns and the engine row are.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';

const root = mkdtempSync(join(tmpdir(), 'osteon-profile-cli-'));
const data = join(root, 'data');
const run = join(root, 'run');

beforeAll(() => {
  const r = runCli(['phantom', '--out', data, '--cases', '2', '--seed', '5', '--size', '24x24x8', '--spacing', '3']);
  expect(r.code, r.stderr).toBe(0);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The table's rows as [kernel, backend, calls/step, ms/step, %]. */
function rows(stderr: string, title: RegExp): string[][] {
  const lines = stderr.split('\n');
  const at = lines.findIndex((l) => title.test(l));
  expect(at, stderr).toBeGreaterThanOrEqual(0);
  expect(lines[at + 1]).toMatch(/^kernel\s+backend\s+calls\/step\s+ms\/step\s+% of step$/);
  const end = lines.findIndex((l, i) => i > at && l.startsWith('by backend'));
  expect(end).toBeGreaterThan(at + 2);
  return lines.slice(at + 2, end).map((l) => l.trim().split(/\s{2,}/));
}

describe('per-op profile on the CLI', () => {
  it('osteon train --profile: a table of training steps 2-4 with the engine row; percentages add up', () => {
    const t = runCli(['train', '--data', data, '--out', run, '--filters', '4,8', '--epochs', '1', '--steps', '5', '--batch', '2', '--val-cases', 'case-001', '--profile']);
    expect(t.code, t.stderr).toBe(0);
    const r = rows(t.stderr, /^profile: training step, 3 step\(s\), [\d.]+ ms\/step wall \(backend \w+\)$/);
    expect(r.map((x) => x[0])).toContain('(engine, tape, JS outside kernels)');
    for (const x of r) expect(['native', 'wasm', 'js', 'webgpu', '-']).toContain(x[1]);
    const pct = r.reduce((a, x) => a + Number(x[4]), 0);
    expect(pct).toBeGreaterThan(98);
    expect(pct).toBeLessThan(102);
  });

  it('osteon infer with OSTEON_PROFILE=1: a table of the whole inference', () => {
    // fp32: the model's tfjs pass, one row per kernel; auto (bf16 where the CPU has it): one row for the native whole-network pass.
    const i = runCli(['infer', '--run', run, '--ct', join(data, 'case-001', 'ct.nii.gz'), '--out', join(root, 'pred'), '--precision', 'fp32'], { env: { OSTEON_PROFILE: '1' } });
    expect(i.code, i.stderr).toBe(0);
    const r = rows(i.stderr, /^profile: inference of ct\.nii\.gz \(read, predict, write\), 1 step\(s\)/);
    expect(r.some((x) => /Conv/.test(x[0]))).toBe(true);
    const a = runCli(['infer', '--run', run, '--ct', join(data, 'case-001', 'ct.nii.gz'), '--out', join(root, 'pred-auto')], { env: { OSTEON_PROFILE: '1' } });
    expect(a.code, a.stderr).toBe(0);
    const ra = rows(a.stderr, /^profile: inference of ct\.nii\.gz \(read, predict, write\), 1 step\(s\)/);
    expect(ra.some((x) => /Conv/.test(x[0]))).toBe(true);
    // The precision is recorded with the prediction (here: auto, bf16 where the CPU has it).
    const rec = JSON.parse(readFileSync(join(root, 'pred-auto', 'prediction.json'), 'utf8')) as { backend: { precision: string; precisionDetail: string } };
    expect(['fp32', 'bf16']).toContain(rec.backend.precision);
    expect(rec.backend.precisionDetail).toMatch(new RegExp(`^auto: ${rec.backend.precision} `));
    // Asked for bf16 where oneDNN has none (simulated): refused, exit 2, naming why; nothing written.
    const no = runCli(['infer', '--run', run, '--ct', join(data, 'case-001', 'ct.nii.gz'), '--out', join(root, 'pred-bf16'), '--precision', 'bf16'], { env: { ONEDNN_MAX_CPU_ISA: 'AVX512_CORE' } });
    expect(no.code, no.stderr).toBe(2);
    expect(no.stderr).toMatch(/--precision bf16 is not available here: (this CPU has no bf16 instructions|the oneDNN addon)/);
    expect(existsSync(join(root, 'pred-bf16', 'prediction.json'))).toBe(false);
  });
});
