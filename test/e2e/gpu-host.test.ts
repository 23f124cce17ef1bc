/**
 * The in-app WebGPU path without Electron: the GPU host page that Electron's hidden window loads
 * (gpuhost/, built by vite as for the app) runs in Debian's Chromium on its own WebGPU (SwiftShader,
 * flags in test/helpers/browser.ts), fed over its WebSocket by the same GpuHostDriver and training
 * loop the services use in the app. A 3-epoch phantom run trains end to end; its loss curve is
 * the wasm worker path's (the same batches from the same seeds); checkpoints are written by the
 * services side and load into the CPU model; pause, resume and cancel behave as on the CPU; a page
 * that goes away fails the job with a clear error. Inference: a trained run's model loaded on the
 * page predicts a phantom case with its windows streamed there one at a time (a small forced window
 * budget), equal to wasm voxel for voxel except at threshold ties, and cancels between windows. Skipped, with a notice, where Chromium or its
 * WebGPU adapter is missing.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../app/learning/backend.ts';
import { loadParams, readCheckpoint } from '../../app/learning/checkpoint.ts';
import type { Hello } from '../../app/learning/gpu-host/protocol.ts';
import { createParams, disposeParams } from '../../app/learning/model/unet.ts';
import { structureProbs } from '../../app/learning/predict.ts';
import { forward } from '../../app/learning/model/unet.ts';
import { prepareRun, type RunOptions } from '../../app/learning/run.ts';
import { TrainControl, train, type TrainEvent } from '../../app/learning/train.ts';
import { writePhantomSet } from '../../app/phantom/write.ts';
import { GpuHostDriver } from '../../app/learning/gpu-host-driver.ts';
import { serveGpuHost, type GpuHostServer } from '../../app/services/gpu-host-server.ts';
import { trainOnGpuHost } from '../../app/learning/gpu-host-train.ts';
import { loadOnGpuHost } from '../../app/learning/gpu-host-infer.ts';
import { loadModel, predictCt, releaseModel } from '../../app/learning/infer.ts';
import { largestTensorBytes } from '../../app/learning/webgpu/memory.ts';
import { readVolume } from '../../app/imaging/io.ts';
import { geometryOf } from '../../app/imaging/volume.ts';
import { launchBrowser, webgpuArgs, type BrowserSession } from '../helpers/browser.ts';
import { hasChromium, repoRoot, skipNotice } from '../helpers/env.ts';

if (!hasChromium()) skipNotice('GPU host e2e', '/usr/bin/chromium');

const stepLosses = (events: TrainEvent[]) => events.flatMap((e) => (e.type === 'step' ? [e.loss.total] : []));

describe.skipIf(!hasChromium())('GPU host page in Chromium (WebGPU on SwiftShader)', () => {
  let tmp: string;
  let server: GpuHostServer;
  let browser: BrowserSession;
  let hello: Hello;
  let driver: GpuHostDriver;

  const options = (runDir: string, over: Partial<RunOptions> = {}): RunOptions => ({
    dataDir: join(tmp, 'data'), runDir, head: 'joint', spatialDims: 2, filters: [4, 8], normalization: 'none', context: 0, patch: [24, 24],
    epochs: 3, stepsPerEpoch: 3, batchSize: 2, learningRate: 1e-2, validateEvery: 1, earlyStoppingPatience: 0, seed: 5,
    posWeight: 'auto', lossWeights: { a: 1, b: 1, c: 0 }, split: { kind: 'cases', ids: ['case-001'] }, flipAxes: [], ...over,
  });

  /** Opens the page (again) and returns a driver over its socket. */
  const connect = async (): Promise<GpuHostDriver> => {
    const link = server.nextLink();
    await browser.page.goto(server.url);
    return new GpuHostDriver(await link);
  };

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'osteon-e2e-gpuhost-'));
    const pageDir = join(tmp, 'gpu-host');
    await build({ configFile: join(repoRoot, 'gpuhost', 'vite.config.ts'), logLevel: 'warn', build: { outDir: pageDir } });
    writePhantomSet(join(tmp, 'data'), { cases: 2, seed: 4, dims: [24, 24, 8], spacing: 3, noiseHu: 25 });
    server = await serveGpuHost({ dir: pageDir });
    browser = await launchBrowser({ args: webgpuArgs, width: 400, height: 300 });
    driver = await connect();
    hello = await Promise.race([driver.hello, new Promise<never>((_r, fail) => setTimeout(() => fail(new Error('the GPU host page sent no hello in 60 s')), 60_000))]);
    process.stderr.write(`GPU host adapter: ${JSON.stringify(hello.adapter ?? hello.reason)}\nGPU host kernels: ${hello.kernels.join(' ')}\n`);
    await initBackend({ prefer: 'wasm' });
  }, 120_000);

  afterAll(async () => {
    driver?.close();
    await browser?.close();
    await server?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('reports its WebGPU adapter and limits', (ctx) => {
    if (!hello.adapter) { skipNotice('GPU host e2e', `a WebGPU adapter in Chromium (${hello.reason})`); ctx.skip(); }
    expect(hello.backend).toBe('webgpu');
    expect(hello.adapter!.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
    // The device asks for the adapter's limits, not tfjs's default 8 storage buffers per stage.
    expect(hello.adapter!.limits.maxStorageBuffersPerShaderStage).toBeGreaterThanOrEqual(8);
  });

  it('trains a 3-epoch phantom run with the wasm worker path\'s loss curve, checkpoints written by the services', async (ctx) => {
    if (!hello.adapter) ctx.skip();
    const ref: TrainEvent[] = [];
    const a = prepareRun(options(join(tmp, 'wasm')), null);
    await train(a.config, a.train, a.val, { runDir: join(tmp, 'wasm'), onEvent: (e) => ref.push(e) });

    const events: TrainEvent[] = [];
    const runDir = join(tmp, 'gpu');
    const g = prepareRun(options(runDir), null);
    const done = await trainOnGpuHost(driver, g.config, g.train, g.val, { runDir, onEvent: (e) => events.push(e) });
    expect(done.reason).toBe('completed');

    const want = stepLosses(ref), got = stepLosses(events);
    process.stderr.write(`step losses wasm   ${want.map((v) => v.toFixed(6)).join(' ')}\nstep losses webgpu ${got.map((v) => v.toFixed(6)).join(' ')}\n`);
    expect(got).toHaveLength(9);
    // First step: the same batch through the same initial weights: float32 agreement.
    expect(Math.abs(got[0] - want[0]) / Math.abs(want[0])).toBeLessThan(1e-4);
    // The curve: Adam carries small rounding differences forward; the runs stay together.
    for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - want[i]) / Math.abs(want[i]), `step ${i + 1}`).toBeLessThan(1e-3);
    expect(got.at(-1)!).toBeLessThan(got[0]);
    const epochs = (ev: TrainEvent[]) => ev.flatMap((e) => (e.type === 'epoch' ? [e] : []));
    const [ve, vg] = [epochs(ref), epochs(events)];
    expect(vg.map((e) => e.validation?.dice.length)).toEqual(ve.map((e) => e.validation?.dice.length));
    for (let i = 0; i < vg.length; i++) {
      expect(vg[i].validation!.loss!.total).toBeCloseTo(ve[i].validation!.loss!.total, 3);
      vg[i].validation!.dice.forEach((d, k) => { if (Number.isFinite(d)) expect(d).toBeCloseTo(ve[i].validation!.dice[k], 2); });
    }

    for (const f of ['metrics.jsonl', 'status.json', 'postprocessing.json', 'checkpoints/last.ckpt', 'checkpoints/best.ckpt']) expect(existsSync(join(runDir, f)), f).toBe(true);
    expect(readdirSync(join(runDir, 'checkpoints')).some((f) => f.endsWith('.tmp'))).toBe(false);
    expect(JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')).backend).toMatchObject({ name: 'webgpu', adapter: { vendor: hello.adapter!.vendor } });

    // The services' checkpoint is an ordinary one: it loads into the CPU model, and that model's
    // prediction of a window equals the page's for the same weights.
    const last = readCheckpoint(join(runDir, 'checkpoints', 'last.ckpt'));
    expect(last.epoch).toBe(3);
    expect([...last.tensors.keys()].some((k) => k.startsWith('opt:'))).toBe(true);
    const params = createParams(g.config.model);
    loadParams(last, params, 'last.ckpt');
    await driver.call({ op: 'init', model: g.config.model, head: g.config.head, learningRate: 1e-3, hasWhole: true });
    await driver.call({ op: 'setWeights', tensors: [...last.tensors].map(([name, t]) => ({ name, ...t })) });
    const x = Float32Array.from({ length: 24 * 24 }, (_, i) => Math.sin(i / 7));
    const page = await driver.call({ op: 'predict', x, shape: [1, 24, 24, 1] });
    const local = tf.tidy(() => structureProbs(forward(params, g.config.model, tf.tensor(x, [1, 24, 24, 1])), g.config.head, true).dataSync());
    let worst = 0;
    for (let i = 0; i < local.length; i++) worst = Math.max(worst, Math.abs(local[i] - page.probs[i]));
    process.stderr.write(`prediction window, page vs wasm: max abs difference ${worst.toExponential(2)}\n`);
    expect(worst).toBeLessThan(1e-4);
    disposeParams(params);
  });

  it('predicts a phantom case on the page, streamed window by window, equal to wasm voxel for voxel except at threshold ties; cancels between windows', async (ctx) => {
    if (!hello.adapter) ctx.skip();
    // A run trained here on wasm (the services' checkpoint is what the app's prediction jobs load).
    const runDir = join(tmp, 'infer-run');
    const r = prepareRun(options(runDir, { epochs: 1, stepsPerEpoch: 3 }), null);
    await train(r.config, r.train, r.val, { runDir, onEvent: () => undefined });
    const model = loadModel(runDir, 'best');
    const ctPath = join(tmp, 'data', 'case-001', 'ct.nii.gz');
    const ct = readVolume(ctPath);
    const g = geometryOf(ct);
    const base = { postprocess: 'none' as const, hierarchy: 'none' as const, thresholds: [0.5, 0.5, 0.5, 0.5], probabilities: true };
    const wasm = await predictCt(model, ct.data, g, base);

    const inf = await loadOnGpuHost(driver, model);
    expect(inf.backend).toMatchObject({ name: 'webgpu', host: 'GPU host page', adapter: { vendor: hello.adapter!.vendor } });
    // A window budget of one slice: the 8 slices stream to the page one per call.
    const oneSlice = largestTensorBytes({ batch: 1, patch: [24, 24], filters: r.config.model.filters, inChannels: 1, outChannels: r.config.model.outChannels });
    const progress: number[] = [];
    const gpu = await predictCt(model, ct.data, g, { ...base, windows: inf.windows, windowBudget: oneSlice, onProgress: (d) => progress.push(d) });
    expect(gpu.stats.plan).toMatchObject({ windows: 8, batch: 1, calls: 8, limitBytes: hello.adapter!.limits.maxStorageBufferBindingSize });
    expect(progress).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(gpu.stats.peakGpuBytes).toBeGreaterThan(0);
    process.stderr.write(`GPU host inference: ${gpu.stats.plan.text}; peak device memory ${gpu.stats.peakGpuBytes} bytes, ${gpu.stats.seconds.toFixed(1)} s\n`);

    if (!wasm.probs || !gpu.probs) throw new Error('predictCt gave no probabilities');
    const wp = wasm.probs, gp = gpu.probs;
    let worstProb = 0, differing = 0, untied = 0;
    const n = ct.data.length;
    for (let k = 0; k < wp.length; k++) for (let v = 0; v < n; v++) worstProb = Math.max(worstProb, Math.abs(wp[k][v] - gp[k][v]));
    for (let v = 0; v < n; v++) {
      if (wasm.masks.every((m, k) => m[v] === gpu.masks[k][v])) continue;
      differing++;
      // A tie: the whole's probability at its threshold, or the two most probable of background and parts equal.
      const q = [1 - wp[1][v] - wp[2][v] - wp[3][v], wp[1][v], wp[2][v], wp[3][v]].sort((a, b) => b - a);
      if (!(Math.abs(wp[0][v] - 0.5) < 1e-4 || q[0] - q[1] < 2e-4)) untied++;
    }
    process.stderr.write(`GPU host vs wasm inference of case-001: max probability difference ${worstProb.toExponential(2)}, ${differing} of ${n} voxels differ, ${untied} not at a tie\n`);
    expect(worstProb).toBeLessThan(1e-4);
    expect(untied).toBe(0);

    // Cancel: the signal is checked before each window batch; the page keeps serving.
    const ac = new AbortController();
    await expect(predictCt(model, ct.data, g, { ...base, windows: inf.windows, windowBudget: oneSlice, signal: ac.signal, onProgress: (d) => { if (d === 2) ac.abort(); } })).rejects.toMatchObject({ code: 'cancelled' });
    await inf.close();
    const again = await loadOnGpuHost(driver, model);
    const p2 = await predictCt(model, ct.data, g, { ...base, windows: again.windows });
    expect(p2.masks.map((m) => m.reduce((a, b) => a + b, 0))).toEqual(gpu.masks.map((m) => m.reduce((a, b) => a + b, 0)));
    await again.close();
    releaseModel(model);
  });

  it('takes a 3D step (rank-5 kernels, with the workarounds) equal to the same step on the cpu backend', async (ctx) => {
    if (!hello.adapter) ctx.skip();
    const model = { spatialDims: 3 as const, inChannels: 1, outChannels: 4, filters: [2, 4], normalization: 'instance' as const, seed: 7 };
    const head = { kind: 'joint' as const, parts: 2, posWeight: 2, a: 1, b: 1, c: 1 };
    const n = 2 * 8 * 8 * 8;
    const batch = {
      n: 2, shape: [8, 8, 8], inChannels: 1, structures: 3,
      x: Float32Array.from({ length: n }, (_, i) => Math.sin(i / 5)), whole: Float32Array.from({ length: n }, (_, i) => (i % 5 < 2 ? 1 : 0)),
      labels: Int32Array.from({ length: n }, (_, i) => (i % 5 < 2 ? 1 + (i % 2) : 0)), multiHot: null,
    };
    // The reference: the page's own compute code, on tfjs's cpu backend in this process.
    const { HostCompute } = await import('../../app/learning/gpu-host/compute.ts');
    const before = tf.getBackend();
    await tf.setBackend('cpu');
    const cpu = new HostCompute();
    cpu.init(model, head, 1e-2, true);
    const want = [(await cpu.step(batch)).loss, (await cpu.step(batch)).loss];
    const wantW = await cpu.weights(false);
    cpu.dispose();
    await tf.setBackend(before);
    await driver.call({ op: 'init', model, head, learningRate: 1e-2, hasWhole: true });
    const got = [(await driver.call({ op: 'step', batch })).loss, (await driver.call({ op: 'step', batch })).loss];
    const gotW = (await driver.call({ op: 'weights', optimizer: false })).tensors;
    process.stderr.write(`3D steps cpu ${JSON.stringify(want)}\n3D steps webgpu ${JSON.stringify(got)}\n`);
    for (let s = 0; s < 2; s++) for (const k of ['total', 'bce', 'ce', 'dice'] as const) expect(Math.abs(got[s][k]! - want[s][k]!) / Math.abs(want[s][k]!), `step ${s + 1} ${k}`).toBeLessThan(1e-4);
    // The parameters after two Adam steps: Adam moves each component by about ±lr whatever the
    // gradient's size, so a component whose gradient is ~0 moves by rounding; bounded by one step.
    let worst = 0;
    wantW.forEach((w, i) => { for (let j = 0; j < w.data.length; j++) worst = Math.max(worst, Math.abs(w.data[j] - gotW[i].data[j])); });
    process.stderr.write(`3D parameters after 2 steps, webgpu vs cpu: max abs difference ${worst.toExponential(2)}\n`);
    expect(worst).toBeLessThan(1e-2);
  });

  it('turns a tensor over maxStorageBufferBindingSize into an error that says so, and keeps serving', async (ctx) => {
    if (!hello.adapter) ctx.skip();
    const limit = hello.adapter!.limits.maxStorageBufferBindingSize;
    // A 1-channel window whose first conv output (16 filters) is over the limit: side² · 16 · 4 > limit.
    const side = Math.ceil(Math.sqrt(limit / 64) / 2) * 2 + 2;
    await driver.call({ op: 'init', model: { spatialDims: 2, inChannels: 1, outChannels: 4, filters: [16, 32], normalization: 'none', seed: 1 }, head: { kind: 'joint', parts: 2, posWeight: 1, a: 1, b: 1, c: 0 }, learningRate: 1e-3, hasWhole: true });
    await expect(driver.call({ op: 'predict', x: new Float32Array(side * side), shape: [1, side, side, 1] })).rejects.toThrow(/maxStorageBufferBindingSize/);
    const ok = await driver.call({ op: 'predict', x: new Float32Array(16 * 16), shape: [1, 16, 16, 1] });
    expect(ok.shape).toEqual([1, 16, 16, 3]);
  });

  it('pauses, resumes and cancels between steps as on the CPU', async (ctx) => {
    if (!hello.adapter) ctx.skip();
    const runDir = join(tmp, 'cancel');
    const p = prepareRun(options(runDir, { epochs: 5, stepsPerEpoch: 2 }), null);
    const control = new TrainControl();
    const events: TrainEvent[] = [];
    const done = await trainOnGpuHost(driver, p.config, p.train, p.val, {
      runDir, control, onEvent: (e) => {
        events.push(e);
        if (e.type === 'step' && e.epoch === 1 && e.step === 1) { control.pause(); setTimeout(() => control.resume(), 300); }
        if (e.type === 'checkpoint' && e.kind === 'last' && e.epoch === 1) control.cancel();
      },
    });
    expect(done.reason).toBe('cancelled');
    expect(done.epoch).toBe(1);
    expect(events.map((e) => e.type)).toContain('paused');
    expect(events.map((e) => e.type)).toContain('resumed');
    expect(stepLosses(events)).toHaveLength(2);
    expect(readCheckpoint(join(runDir, 'checkpoints', 'last.ckpt')).epoch).toBe(1);
    expect(JSON.parse(readFileSync(join(runDir, 'status.json'), 'utf8')).reason).toBe('cancelled');
  });

  it('fails the job with a clear error when the page goes away, and a reloaded page serves again', async (ctx) => {
    if (!hello.adapter) ctx.skip();
    const runDir = join(tmp, 'gone');
    const p = prepareRun(options(runDir, { epochs: 50 }), null);
    // The reloaded page connects again by itself: that is the next link.
    const next = server.nextLink();
    let reload: Promise<unknown> = Promise.resolve();
    const run = trainOnGpuHost(driver, p.config, p.train, p.val, {
      // The reload's outcome is checked below, after the job's error (never left unhandled).
      runDir, onEvent: (e) => { if (e.type === 'step' && e.step === 1) reload = browser.page.reload().then(() => null, (err: unknown) => err); },
    });
    await expect(run).rejects.toThrow(/GPU host went away/);
    expect(await reload).toBeNull();
    driver.close();
    driver = new GpuHostDriver(await next);
    expect((await driver.hello).adapter?.vendor).toBe(hello.adapter!.vendor);
  });
});
