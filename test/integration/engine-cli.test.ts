// `osteon train`, `osteon infer` and `osteon eval` as a user runs them, on tiny phantom cases,
// plus their bad-input exits (2, with the file or option named, nothing written).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';

const root = mkdtempSync(join(tmpdir(), 'osteon-engine-cli-'));
const data = join(root, 'data');
const run = join(root, 'run');
const small = ['--filters', '4,8', '--epochs', '1', '--steps', '2', '--batch', '2'];

beforeAll(() => {
  const r = runCli(['phantom', '--out', data, '--cases', '3', '--seed', '4', '--size', '24x24x12', '--spacing', '3']);
  expect(r.code, r.stderr).toBe(0);
});

describe('osteon train / infer / eval', () => {
  it('trains, infers every validation case and evaluates them', () => {
    const t = runCli(['train', '--data', data, '--out', run, ...small, '--val-cases', 'case-001,case-002', '--json']);
    expect(t.code, t.stderr).toBe(0);
    const events = t.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; reason?: string });
    expect(events[0].type).toBe('start');
    expect(events.at(-1)).toMatchObject({ type: 'done', reason: 'completed' });
    for (const c of ['case-001', 'case-002']) {
      const i = runCli(['infer', '--run', run, '--ct', join(data, c, 'ct.nii.gz'), '--out', join(root, 'pred', c)]);
      expect(i.code, i.stderr).toBe(0);
      expect(i.stdout).toMatch(/bone\s+\d+ voxels/);
    }
    const gt = join(root, 'gt');
    mkdirSync(gt);
    for (const c of ['case-001', 'case-002']) {
      mkdirSync(join(gt, c));
      for (const f of ['ct.nii.gz', 'labels.nii.gz']) writeFileSync(join(gt, c, f), '');
    }
    // eval reads the ground truth from the phantom folder itself; case-000 has no prediction,
    // so it is skipped and named, and the two predicted cases are scored.
    const e = runCli(['eval', '--pred', join(root, 'pred'), '--gt', data, '--csv', join(root, 'eval.csv')]);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/Evaluation of 2 case\(s\)/);
    expect(e.stdout).toContain(`Skipped 1 case(s) with no prediction in ${join(root, 'pred')}: case-000`);
    const csv = readFileSync(join(root, 'eval.csv'), 'utf8');
    expect(csv).toMatch(/^case-001,bone,/m);
    expect(csv).not.toMatch(/^case-000,/m);
  });

  it('eval: a prediction folder missing some masks exits 2 naming the full path; none at all exits 2', () => {
    const partial = join(root, 'pred-partial', 'case-001');
    mkdirSync(partial, { recursive: true });
    writeFileSync(join(partial, 'bone.nii.gz'), readFileSync(join(root, 'pred', 'case-001', 'bone.nii.gz')));
    const e = runCli(['eval', '--pred', join(root, 'pred-partial'), '--gt', data, '--csv', join(root, 'eval-partial.csv')]);
    expect(e.code).toBe(2);
    expect(e.stderr).toContain(`${partial}/`);
    expect(e.stderr).toMatch(/missing: no prediction of "\w+" for case case-001/);
    expect(existsSync(join(root, 'eval-partial.csv'))).toBe(false);
    const none = runCli(['eval', '--pred', join(root, 'gt'), '--gt', data]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no predictions for any of the 3 case\(s\)/);
  });

  it('refuses bad input with exit 2 and writes nothing', () => {
    const cases: Array<[string[], RegExp]> = [
      [['train', '--data', join(root, 'nope'), '--out', join(root, 'r1')], /nope: path: does not exist/],
      [['train', '--data', data, '--out', run, ...small], /run: path: the run folder exists/],
      [['train', '--data', data, '--out', join(root, 'r2'), '--patch', '31,31', ...small], /--patch 31,31: every size must be a multiple of 2/],
      [['train', '--data', data, '--out', join(root, 'r3'), '--head', 'softmaxx'], /--head softmaxx: expected one of joint, sigmoid, softmax/],
      [['infer', '--run', join(root, 'nope'), '--ct', join(data, 'case-000', 'ct.nii.gz'), '--out', join(root, 'p1')], /config\.json: missing/],
      [['infer', '--run', run, '--ct', join(data, 'case-000', 'ct.nii.gz'), '--out', join(root, 'p2'), '--thresholds', '0.5'], /thresholds: 1 values for 4 structures/],
    ];
    for (const [args, msg] of cases) {
      const r = runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(msg);
    }
    for (const d of ['r1', 'r2', 'r3', 'p1', 'p2']) expect(existsSync(join(root, d)), d).toBe(false);
    expect(readdirSync(root).some((f) => f.includes('.partial'))).toBe(false);
  });
});
