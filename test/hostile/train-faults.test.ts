// kill -9 during training: `osteon train` on tiny phantom cases is SIGKILLed at seeded random
// moments (the first always during epoch 1). Each time the run folder must be resumable and lose
// at most one epoch: the last checkpoint's epoch is at least (last epoch reported − 1), and
// `osteon train --resume` starts right after it and completes, with the early-stopping counter
// and best Dice carried in the checkpoint. OSTEON_TRAIN_FAULT_POINTS raises the number of kill
// points (each costs a tfjs start-up, so npm test runs 2; the report quotes a run of 20).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../../app/learning/checkpoint.ts';
import { writePhantomSet } from '../../app/phantom/write.ts';
import { repoRoot } from '../helpers/env.ts';
import { Rng } from './fuzz.ts';

const root = mkdtempSync(join(tmpdir(), 'osteon-train-faults-'));
const data = join(root, 'data');
const POINTS = Number(process.env.OSTEON_TRAIN_FAULT_POINTS ?? 2);
const bin = join(repoRoot, 'bin', 'osteon.mjs');
const TRAIN = ['--dims', '2', '--filters', '4,8', '--epochs', '4', '--steps', '2', '--batch', '2', '--seed', '3', '--val-cases', 'case-002', '--early-stop', '3', '--backend', 'cpu', '--json'];

beforeAll(() => { writePhantomSet(data, { cases: 3, seed: 2, dims: [16, 16, 8], spacing: 3, noiseHu: 25 }); });
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Killed { lastEpoch: number; steps: number }

/** Starts a run, kills it `afterSteps` training steps in (plus a random few ms), reports what it had said. */
function trainAndKill(out: string, afterSteps: number, jitterMs: number): Promise<Killed> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'train', '--data', data, '--out', out, ...TRAIN], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '', lastEpoch = 0, steps = 0, armed = false, err = '';
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) {
        const e = JSON.parse(l) as { type: string; epoch?: number };
        if (e.type === 'epoch') lastEpoch = e.epoch!;
        if (e.type === 'step') steps++;
        if (!armed && steps >= afterSteps) {
          armed = true;
          setTimeout(() => child.kill('SIGKILL'), jitterMs);
        }
      }
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve({ lastEpoch, steps }) : reject(new Error(`train ended before the kill (${code}): ${err.slice(-500)}`))));
  });
}

describe('kill -9 during training', () => {
  it(`${POINTS} kill points: resumable, at most one epoch lost, resume completes`, async () => {
    const rng = new Rng(77);
    for (let k = 0; k < POINTS; k++) {
      const out = join(root, `run-${k}`);
      // The first kill lands during epoch 1 (after its first step); the rest anywhere in 8 steps.
      const killed = await trainAndKill(out, k === 0 ? 1 : 1 + rng.int(7), rng.int(150));
      expect(existsSync(join(out, 'checkpoints', 'last.ckpt')), `kill ${k}: no checkpoint`).toBe(true);
      const ck = readCheckpoint(join(out, 'checkpoints', 'last.ckpt'));
      expect(killed.lastEpoch - ck.epoch, `kill ${k}: epochs lost`).toBeLessThanOrEqual(1);
      expect(typeof ck.meta.sinceBest).toBe('number');
      const r = spawnSync(process.execPath, [bin, 'train', '--resume', out, '--json'], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 });
      expect(r.status, r.stderr.slice(-500)).toBe(0);
      const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; startEpoch?: number; reason?: string });
      expect(events[0].type).toBe('start');
      expect(events[0].startEpoch).toBe(ck.epoch + 1);
      expect(events.at(-1)!.type).toBe('done');
      // Every epoch 1..4 has a record in the history the charts read (the last one of each wins).
      const epochs = new Set(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').flatMap((l) => {
        try { const e = JSON.parse(l) as { type: string; epoch?: number }; return e.type === 'epoch' ? [e.epoch] : []; } catch { return []; }
      }));
      const done = JSON.parse(readFileSync(join(out, 'status.json'), 'utf8')) as { epoch: number };
      for (let e = 1; e <= done.epoch; e++) expect(epochs.has(e), `kill ${k}: epoch ${e} missing from metrics.jsonl`).toBe(true);
    }
  }, 60_000 + POINTS * 60_000);
});
