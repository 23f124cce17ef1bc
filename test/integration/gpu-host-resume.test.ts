// Resume on the GPU host: a run stopped after epoch 1 and resumed from the last.ckpt the services
// wrote (parameters and Adam's state sent back with setWeights) ends where the uninterrupted run
// ends. The page's protocol server and compute run here on tfjs's cpu backend, joined to the
// driver by an in-memory link (the Chromium page itself is tested in test/e2e/gpu-host.test.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readCheckpoint } from '../../app/learning/checkpoint.ts';
import type { HostLink } from '../../app/learning/gpu-host/protocol.ts';
import { serveHost } from '../../app/learning/gpu-host/serve.ts';
import { resumeRun } from '../../app/learning/resume.ts';
import { prepareRun, type RunOptions } from '../../app/learning/run.ts';
import { writePhantomSet } from '../../app/phantom/write.ts';
import { GpuHostDriver } from '../../app/learning/gpu-host-driver.ts';
import { trainOnGpuHost } from '../../app/learning/gpu-host-train.ts';

let root: string;

/** A driver joined to a fresh page-side server (structured clones each way, as Electron's IPC does). */
function host(): GpuHostDriver {
  const toPage = new Set<(m: unknown) => void>(), toDriver = new Set<(m: unknown) => void>();
  const page: HostLink = { send: (m) => setImmediate(() => { for (const cb of toDriver) cb(structuredClone(m)); }), onMessage: (cb) => { toPage.add(cb); return () => toPage.delete(cb); } };
  const driverSide: HostLink = { send: (m) => setImmediate(() => { for (const cb of toPage) cb(structuredClone(m)); }), onMessage: (cb) => { toDriver.add(cb); return () => toDriver.delete(cb); } };
  const adapter = { vendor: 'tfjs', architecture: 'cpu backend (test stand-in)', device: '', description: '', software: true, limits: { maxStorageBufferBindingSize: 2 ** 27 }, features: [] };
  const d = new GpuHostDriver(driverSide);
  serveHost(page, { backend: tf.getBackend(), adapter, kernels: [] });
  return d;
}

const options = (runDir: string, epochs: number): RunOptions => ({
  dataDir: join(root, 'data'), runDir, head: 'joint', spatialDims: 2, filters: [4, 8], normalization: 'none', context: 0,
  epochs, stepsPerEpoch: 2, batchSize: 2, learningRate: 1e-2, validateEvery: 1, earlyStoppingPatience: 0, seed: 3,
  posWeight: 'auto', lossWeights: { a: 1, b: 1, c: 0 }, split: { kind: 'cases', ids: ['case-001'] }, flipAxes: [],
});

beforeAll(async () => {
  await tf.setBackend('cpu');
  root = mkdtempSync(join(tmpdir(), 'osteon-gpuhost-resume-'));
  writePhantomSet(join(root, 'data'), { cases: 2, seed: 2, dims: [16, 16, 8], spacing: 3, noiseHu: 25 });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

it('resumes from the services\' last.ckpt onto the host and ends where the uninterrupted run ends', async () => {
  const full = prepareRun(options(join(root, 'full'), 2), null);
  const a = host();
  await trainOnGpuHost(a, full.config, full.train, full.val, { runDir: join(root, 'full'), onEvent: () => {} });
  a.close();

  const half = prepareRun(options(join(root, 'half'), 1), null);
  const b = host();
  await trainOnGpuHost(b, half.config, half.train, half.val, { runDir: join(root, 'half'), onEvent: () => {} });
  b.close();
  const r = resumeRun(join(root, 'half'), 2);
  const c = host();
  const done = await trainOnGpuHost(c, r.config, r.train, r.val, { runDir: join(root, 'half'), resumeFrom: join(root, 'half', 'checkpoints', 'last.ckpt'), onEvent: () => {} });
  c.close();
  expect(done).toMatchObject({ reason: 'completed', epoch: 2 });

  const x = readCheckpoint(join(root, 'full', 'checkpoints', 'last.ckpt'));
  const y = readCheckpoint(join(root, 'half', 'checkpoints', 'last.ckpt'));
  // Parameters by name; Adam's state by position (its names carry the model instance's prefix).
  const params = (k: string[]) => k.filter((n) => n.startsWith('param:'));
  expect(params([...y.tensors.keys()])).toEqual(params([...x.tensors.keys()]));
  expect(y.tensors.size).toBe(x.tensors.size);
  // As for the worker path (engine-train.test.ts): Adam's bias correction after setWeights is
  // recomputed as β^t, a float32 rounding difference from stepping β.
  let worst = 0;
  const ys = [...y.tensors.values()];
  [...x.tensors.values()].forEach((t, j) => { for (let i = 0; i < t.data.length; i++) worst = Math.max(worst, Math.abs(t.data[i] - ys[j].data[i])); });
  process.stderr.write(`GPU host resume vs uninterrupted: max abs difference ${worst.toExponential(2)}\n`);
  expect(worst).toBeLessThan(1e-5);
});
