// The webgpu rung end to end through the CLI, against the wasm rung: a 3-epoch phantom training
// run gives the same loss curve, and inference with one checkpoint gives the same masks voxel
// for voxel except where a probability sits on the threshold. Skipped (reason in the suite name)
// where Dawn finds no adapter; CI has lavapipe.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readVolume } from '../../app/imaging/io.ts';
import { runCli } from '../helpers/cli.ts';
import { noAdapter } from '../helpers/webgpu.ts';

const title = noAdapter ? `webgpu training via the CLI (SKIPPED: ${noAdapter})` : 'webgpu training via the CLI';
const root = mkdtempSync(join(tmpdir(), 'osteon-webgpu-'));
const data = join(root, 'phantom');
const STRUCTURES = ['bone', 'left', 'centre', 'right'];

function epochLosses(run: string): Array<Record<string, number>> {
  return readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; loss?: Record<string, number>; validation?: { loss?: Record<string, number> } })
    .filter((e) => e.type === 'epoch').map((e) => ({ ...e.loss, ...Object.fromEntries(Object.entries(e.validation?.loss ?? {}).map(([k, v]) => [`val ${k}`, v])) }));
}

function train(backend: string): string {
  const out = join(root, `run-${backend}`);
  const r = runCli(['train', '--data', data, '--out', out, '--dims', '2', '--filters', '4,8', '--epochs', '3', '--steps', '3', '--batch', '2', '--backend', backend], { timeoutMs: 300_000 });
  expect(r.code, r.stderr + r.stdout).toBe(0);
  expect(r.stdout + r.stderr).toContain(`backend: ${backend} (`);
  return out;
}

describe.skipIf(noAdapter !== null)(title, () => {
  let wasmRun = '';
  beforeAll(() => {
    const r = runCli(['phantom', '--out', data, '--cases', '3', '--size', '32x32x8']);
    expect(r.code, r.stderr).toBe(0);
    wasmRun = train('wasm');
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('a 3-epoch run has the loss curve of the wasm run, and records the adapter', () => {
    const gpuRun = train('webgpu');
    const gpu = epochLosses(gpuRun), wasm = epochLosses(wasmRun);
    expect(gpu).toHaveLength(3);
    expect(Object.keys(gpu[0]).sort()).toEqual(Object.keys(wasm[0]).sort());
    // Same data, same seed, same initial weights; float32 sums in another order drift a little.
    gpu.forEach((e, i) => { for (const [k, v] of Object.entries(e)) expect(Math.abs(v - wasm[i][k]) / Math.abs(wasm[i][k]), `epoch ${i + 1} ${k}`).toBeLessThan(1e-3); });
    const run = JSON.parse(readFileSync(join(gpuRun, 'run.json'), 'utf8')) as { backend: { name: string; adapter: { vendor: string; limits: Record<string, number> } | null } };
    expect(run.backend.name).toBe('webgpu');
    expect(run.backend.adapter?.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
  });

  it('inference of a phantom case matches wasm voxel for voxel, except at threshold ties', () => {
    const ct = join(data, 'case-002', 'ct.nii.gz');
    const infer = (backend: string) => {
      const out = join(root, `pred-${backend}`);
      const r = runCli(['infer', '--run', wasmRun, '--ct', ct, '--out', out, '--backend', backend, '--probabilities', '--postprocess', 'none', '--json'], { timeoutMs: 300_000 });
      expect(r.code, r.stderr + r.stdout).toBe(0);
      expect((JSON.parse(r.stdout) as { backend: string }).backend).toBe(backend);
      return out;
    };
    const gpu = infer('webgpu'), wasm = infer('wasm');
    let differing = 0, worstProb = 0;
    for (const id of STRUCTURES) {
      const mg = readVolume(join(gpu, `${id}.nii.gz`)).data, mw = readVolume(join(wasm, `${id}.nii.gz`)).data;
      const pg = readVolume(join(gpu, `${id}.prob.nii.gz`)).data, pw = readVolume(join(wasm, `${id}.prob.nii.gz`)).data;
      for (let v = 0; v < mg.length; v++) {
        worstProb = Math.max(worstProb, Math.abs(pg[v] - pw[v]));
        if (mg[v] !== mw[v]) {
          differing++;
          // A tie: the two backends' probabilities straddle the decision within float error.
          expect(Math.abs(pw[v] - 0.5) < 1e-4 || Math.abs(pg[v] - pw[v]) < 1e-5, `${id} voxel ${v}: ${pg[v]} vs ${pw[v]}`).toBe(true);
        }
      }
    }
    expect(worstProb).toBeLessThan(1e-4);
    expect(differing).toBeLessThanOrEqual(2);
  });
});
