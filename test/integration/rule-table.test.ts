// `osteon posweight-table` on tiny phantoms, as a user runs it: one row per head × pos_weight rule
// × threshold rule, thresholds chosen on the calibration cases, scores from the test cases.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writePhantomSet } from '../../app/phantom/write.ts';
import { runCli } from '../helpers/cli.ts';

describe('osteon posweight-table', () => {
  it('prints the table and the best row per head', () => {
    const root = mkdtempSync(join(tmpdir(), 'osteon-pwtable-'));
    writePhantomSet(join(root, 'data'), { cases: 4, seed: 4, dims: [24, 24, 12], spacing: 4, noiseHu: 25 });
    const args = ['posweight-table', '--data', join(root, 'data'), '--cal-cases', 'case-002', '--test-cases', 'case-003',
      '--heads', 'sigmoid,softmax', '--rules', 'one,ratio', '--epochs', '1', '--steps', '2', '--filters', '4,8', '--out', join(root, 'runs')];
    const r = runCli([...args, '--json'], { timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ head: string; posWeightRule: string | null; thresholdRule: string | null; thresholds: Array<number | null>; dice: number[]; volumeError: unknown[] }>;
    // sigmoid: 2 pos_weight rules × 4 threshold rules; softmax: one arg-max row
    expect(rows.map((x) => `${x.head}/${x.posWeightRule}/${x.thresholdRule}`)).toEqual([
      'sigmoid/one/fixed', 'sigmoid/one/dice', 'sigmoid/one/volume', 'sigmoid/one/pw',
      'sigmoid/ratio/fixed', 'sigmoid/ratio/dice', 'sigmoid/ratio/volume', 'sigmoid/ratio/pw', 'softmax/null/null',
    ]);
    expect(rows[0].thresholds).toEqual([0.5, 0.5, 0.5, 0.5]);
    for (const x of rows) expect(x.dice).toHaveLength(4);
    expect(runCli(['posweight-table'], {}).code).toBe(2);
  }, 300_000);
});
