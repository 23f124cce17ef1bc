// The native training step of the wasm+dnnl rung (app/learning/native/net-step.ts, through
// app/learning/step.ts, the entry point of the training loop and the bench) against today's tfjs
// step on the same backend (optimizer.minimize over the model's ops, with the fused kernels, loss
// and Adam): three steps of a 2D and a 3D U-Net for every head kind the loss takes (sigmoid with
// pos_weight, with and without Dice; joint without and with Dice and class weights; softmax
// without and with Dice and class weights): the loss and its components after each step, and
// every parameter after the last, within 1e-5 relative. Then resume: a checkpoint written after
// native steps gives the same next step as going on. Then the fallbacks: normalisation,
// OSTEON_NATIVE_STEP=0, the cpu backend. Skips with a notice when the addon is absent.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../app/learning/backend.ts';
import { loadOptimizer, loadParams, readCheckpoint, saveCheckpoint } from '../../app/learning/checkpoint.ts';
import { lossFor, type HeadConfig } from '../../app/learning/heads.ts';
import { createParams, disposeParams, type UNetConfig } from '../../app/learning/model/unet.ts';
import { loadNative } from '../../app/learning/native/addon.ts';
import { createAdam, fusedCounts } from '../../app/learning/native/loss-adam.ts';
import { nativeStepCounts, setNativeStep } from '../../app/learning/native/net-step.ts';
import { registerNativeKernels, unregisterNativeKernels } from '../../app/learning/native/register.ts';
import { createTrainStep } from '../../app/learning/step.ts';
import { skipNotice } from '../helpers/env.ts';
import { rand, relDiff, size } from './kernels-helpers.ts';

const native = loadNative();
const a = native.addon as unknown as Record<string, unknown> | null;
const has = !!a && ['deconv', 'maxPoolGradAdd', 'lossFused', 'adamFused', 'reluBiasGrad'].every((k) => typeof a[k] === 'function');
if (!has) skipNotice('native training step tests', `the addon with deconv, maxPoolGradAdd, lossFused, adamFused (${native.reason ?? 'built before them'})`);

beforeAll(async () => {
  expect((await initBackend({ prefer: 'wasm' })).name).toBe('wasm');
  if (has) registerNativeKernels();
});
afterAll(() => {
  setNativeStep(true);
  unregisterNativeKernels();
});

const heads: Array<[string, HeadConfig]> = [
  ['sigmoid, pos_weight', { kind: 'sigmoid', channels: 3, posWeight: [2, 3, 0.5] }],
  ['sigmoid, pos_weight + Dice', { kind: 'sigmoid', channels: 3, posWeight: [2, 3, 0.5], bceWeight: 1, diceWeight: 0.5 }],
  ['joint', { kind: 'joint', parts: 3, posWeight: 3, a: 1, b: 1, c: 0 }],
  ['joint + Dice, class weights', { kind: 'joint', parts: 3, posWeight: 3, a: 1, b: 0.7, c: 0.5, classWeights: [0.2, 1, 2, 1.5] }],
  ['softmax', { kind: 'softmax', classes: 4 }],
  ['softmax + Dice, class weights', { kind: 'softmax', classes: 4, ceWeight: 1, diceWeight: 0.5, classWeights: [0.3, 1, 1.5, 2] }],
];

function outChannels(h: HeadConfig): number {
  return h.kind === 'softmax' ? h.classes : h.kind === 'sigmoid' ? h.channels : h.parts + 2;
}

/** A batch for the head: x and the head's target, from fixed seeds (a different batch per step). */
function batch(h: HeadConfig, xShape: number[], step: number): { x: tf.Tensor; target: unknown; dispose(): void } {
  const sp = xShape.slice(0, -1);
  const x = tf.tensor(rand(size(xShape), 31 + step), xShape);
  const labels = Int32Array.from(rand(size(sp), 41 + step), (v) => Math.floor((v + 1) * 2) % 4);
  let target: tf.Tensor | { whole: tf.Tensor; labels: tf.Tensor };
  if (h.kind === 'sigmoid') target = tf.tensor(Float32Array.from({ length: size(sp) * 3 }, (_, i) => ((labels[Math.floor(i / 3)] >> (i % 3)) & 1)), [...sp, 3]);
  else if (h.kind === 'softmax') target = tf.tensor(labels, sp, 'int32');
  else target = { whole: tf.tensor(Float32Array.from(labels, (v) => (v > 0 ? 1 : 0)), sp), labels: tf.tensor(labels, sp, 'int32') };
  return { x, target, dispose: () => tf.dispose([x, ...(target instanceof tf.Tensor ? [target] : [target.whole, target.labels])]) };
}

interface Run { losses: number[][]; params: Map<string, Float32Array>; paths: string[] }

/** `steps` training steps through createTrainStep (the loop's entry point), native or not; optionally a checkpoint after `saveAfter` steps. */
async function train(cfg: UNetConfig, xShape: number[], h: HeadConfig, steps: number, nativeOn: boolean, ck?: { saveAfter?: number; path: string; resume?: boolean }, hook?: (l: tf.Tensor) => tf.Tensor, releaseEach = false): Promise<Run> {
  setNativeStep(nativeOn);
  const params = createParams(cfg);
  const opt = createAdam(1e-3);
  const stepper = createTrainStep(params, cfg, lossFor(h) as never, opt, hook);
  const out: Run = { losses: [], params: new Map(), paths: [] };
  try {
    if (ck?.resume) {
      const c = readCheckpoint(ck.path);
      loadParams(c, params, ck.path);
      await loadOptimizer(c, opt);
    }
    for (let s = 0; s < steps; s++) {
      const b = batch(h, xShape, s + (ck?.resume ? ck.saveAfter ?? 0 : 0));
      const r = stepper.run(b.x, b.target);
      out.paths.push(stepper.last!);
      const comps = Object.keys(r.components).sort();
      out.losses.push([(await r.total!.data())[0], ...comps.map((k) => r.components[k].dataSync()[0])]);
      tf.dispose([r.total!, ...Object.values(r.components)]);
      b.dispose();
      if (ck?.saveAfter === s + 1 && !ck.resume) await saveCheckpoint(ck.path, 1, params, opt, {});
      if (releaseEach) stepper.release();
    }
    for (const [k, v] of params) out.params.set(k, v.dataSync() as Float32Array);
    return out;
  } finally {
    stepper.dispose();
    opt.dispose();
    disposeParams(params);
    setNativeStep(true);
  }
}

function expectSame(got: Run, ref: Run, label: string, tol = 1e-5): number {
  let worst = 0;
  expect(got.losses.length).toBe(ref.losses.length);
  got.losses.forEach((l, s) => {
    expect(l.length, `${label} step ${s + 1}: components`).toBe(ref.losses[s].length);
    l.forEach((v, i) => {
      const d = Math.abs(v - ref.losses[s][i]) / Math.max(Math.abs(ref.losses[s][i]), 1e-12);
      worst = Math.max(worst, d);
      expect(d, `${label} step ${s + 1} loss value ${i}: ${v} vs ${ref.losses[s][i]}`).toBeLessThan(tol);
    });
  });
  for (const [k, r] of ref.params) {
    const d = relDiff(got.params.get(k)!, r);
    worst = Math.max(worst, d);
    expect(d, `${label} ${k}`).toBeLessThan(tol);
  }
  return worst;
}

const cfg2: UNetConfig = { spatialDims: 2, inChannels: 1, outChannels: 0, filters: [4, 8, 16], normalization: 'none', seed: 3 };
const cfg3: UNetConfig = { spatialDims: 3, inChannels: 1, outChannels: 0, filters: [4, 8], normalization: 'none', seed: 4 };
const cases: Array<[string, UNetConfig, number[]]> = [['2D [2,16,16,1] 4-8-16', cfg2, [2, 16, 16, 1]], ['3D [1,8,8,8,1] 4-8', cfg3, [1, 8, 8, 8, 1]]];

const hasInPlace = !!a && typeof a.reluBiasGradInPlace === 'function';

describe.skipIf(!hasInPlace)('reluBiasGradInPlace (native/dnnl/src/fused.cc, output on input)', () => {
  it('gives reluBiasGrad\'s bits, written over its input; with and without the bias sum, SSE lanes and scalar tail', () => {
    const addon = native.addon!;
    for (const [rows, cols] of [[1000, 16], [333, 7], [64 * 5 + 3, 5], [20000, 1]]) {
      const y = rand(rows * cols, 61).map((v) => (Math.abs(v) < 0.05 ? 0 : v));
      const dy = rand(rows * cols, 62);
      const out = new Float32Array(rows * cols), db = new Float32Array(cols);
      addon.reluBiasGrad(rows, cols, y, dy, out, db);
      for (const withSum of [true, false]) {
        const g = Float32Array.from(dy), db2 = new Float32Array(cols);
        addon.reluBiasGradInPlace!(rows, cols, y, g, withSum ? db2 : null);
        expect(Buffer.from(g.buffer).equals(Buffer.from(out.buffer)), `${rows}x${cols} gradient`).toBe(true);
        if (withSum) expect(Buffer.from(db2.buffer).equals(Buffer.from(db.buffer)), `${rows}x${cols} bias gradient`).toBe(true);
      }
    }
    expect(() => addon.reluBiasGradInPlace!(10, 4, new Float32Array(40), new Float32Array(39), null)).toThrow(/g/);
  });
});

describe.skipIf(!has)('the native training step against the tfjs step (wasm+dnnl)', () => {
  for (const [dims, base, xShape] of cases) {
    for (const [name, h] of heads) {
      it(`${dims}, ${name}: 3 steps, losses and parameters within 1e-5`, async () => {
        const cfg = { ...base, outChannels: outChannels(h) };
        const before = nativeStepCounts();
        const adam = fusedCounts().adam;
        const nat = await train(cfg, xShape, h, 3, true);
        expect(nat.paths).toEqual(['native', 'native', 'native']);
        expect(nativeStepCounts().steps - before.steps).toBe(3);
        expect(nativeStepCounts().errors).toBe(before.errors);
        expect(fusedCounts().adam - adam).toBe(3);
        const ref = await train(cfg, xShape, h, 3, false);
        expect(ref.paths).toEqual(['tfjs', 'tfjs', 'tfjs']);
        const worst = expectSame(nat, ref, `${dims} ${name}`);
        process.stderr.write(`native step vs tfjs step, ${dims}, ${name}: losses ${nat.losses.map((l) => l[0].toFixed(5)).join(' ')}, worst relative difference ${worst.toExponential(2)}\n`);
      });
    }
  }

  it('other shapes: one level, two input channels; filters that shrink with depth (8-4-6)', async () => {
    const h = heads[2][1];
    for (const [cfg, xShape] of [
      [{ ...cfg2, inChannels: 2, filters: [4], outChannels: outChannels(h) }, [2, 8, 8, 2]],
      [{ ...cfg2, inChannels: 2, filters: [8, 4, 6], outChannels: outChannels(h) }, [1, 16, 8, 2]],
      [{ ...cfg3, filters: [6, 3], outChannels: outChannels(h) }, [2, 4, 6, 4, 1]],
    ] as Array<[UNetConfig, number[]]>) {
      const nat = await train(cfg, xShape, h, 2, true);
      expect(nat.paths).toEqual(['native', 'native']);
      expectSame(nat, await train(cfg, xShape, h, 2, false), `filters ${cfg.filters.join('-')} x [${xShape.join(',')}]`);
    }
  });

  it('release (as the loop does before validation) frees the buffers; the next step rebuilds them, same results', async () => {
    const h = heads[0][1];
    const cfg = { ...cfg3, outChannels: outChannels(h) };
    const released = await train(cfg, [1, 8, 8, 8, 1], h, 3, true, undefined, undefined, true);
    expect(released.paths).toEqual(['native', 'native', 'native']);
    expectSame(released, await train(cfg, [1, 8, 8, 8, 1], h, 3, true), 'released between steps', 1e-7);
  });

  it('a loss input hook (the loss through tf.valueAndGrad inside the native step) gives the tfjs step\'s results', async () => {
    const h = heads[1][1];
    const cfg = { ...cfg2, outChannels: outChannels(h) };
    const hook = (l: tf.Tensor): tf.Tensor => tf.mul(tf.tanh(l), 3);
    const nat = await train(cfg, [2, 16, 16, 1], h, 2, true, undefined, hook);
    expect(nat.paths).toEqual(['native', 'native']);
    const ref = await train(cfg, [2, 16, 16, 1], h, 2, false, undefined, hook);
    expectSame(nat, ref, 'with a loss input hook');
  });

  it('resume: a checkpoint written after two native steps gives the same third step', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'osteon-native-step-'));
    try {
      const h = heads[3][1];
      const cfg = { ...cfg2, outChannels: outChannels(h) };
      const path = join(dir, 'last.ckpt');
      const through = await train(cfg, [2, 16, 16, 1], h, 3, true, { saveAfter: 2, path });
      const resumed = await train(cfg, [2, 16, 16, 1], h, 1, true, { saveAfter: 2, path, resume: true });
      expect(resumed.paths).toEqual(['native']);
      // Adam's restored beta powers differ from the running products in the last bits, so a
      // resumed step matches going on within 1e-5 (the tfjs step alike), and the tfjs step
      // resumed from the same checkpoint exactly.
      expectSame(resumed, { ...through, losses: through.losses.slice(2) }, 'resumed');
      const tfjs = await train(cfg, [2, 16, 16, 1], h, 1, false, { saveAfter: 2, path, resume: true });
      expect(tfjs.paths).toEqual(['tfjs']);
      expectSame(resumed, tfjs, 'resumed native vs resumed tfjs', 1e-7);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('falls back to the tfjs step: normalisation, OSTEON_NATIVE_STEP=0, the cpu backend', async () => {
    const h = heads[2][1];
    const cfg = { ...cfg2, outChannels: outChannels(h) };
    const norm = await train({ ...cfg, normalization: 'instance' }, [2, 16, 16, 1], h, 1, true);
    expect(norm.paths).toEqual(['tfjs']);
    expect(Number.isFinite(norm.losses[0][0])).toBe(true);
    process.env.OSTEON_NATIVE_STEP = '0';
    try {
      const off = await train(cfg, [2, 16, 16, 1], h, 1, true);
      expect(off.paths).toEqual(['tfjs']);
    } finally {
      delete process.env.OSTEON_NATIVE_STEP;
    }
    await tf.setBackend('cpu');
    try {
      const cpu = await train(cfg, [2, 16, 16, 1], h, 1, true);
      expect(cpu.paths).toEqual(['tfjs']);
      expect(Number.isFinite(cpu.losses[0][0])).toBe(true);
    } finally {
      await tf.setBackend('wasm');
    }
  });

  it('frees its buffers: no more tensors left after dispose than the tfjs step leaves', async () => {
    // createParams keeps each parameter's initial tensor alive (a tfjs variable shares its data),
    // so both paths leave the same count; the native plan's buffers must not add to it.
    const h = heads[0][1];
    const left = async (on: boolean): Promise<number> => {
      const before = tf.memory().numTensors;
      await train({ ...cfg3, outChannels: outChannels(h) }, [1, 8, 8, 8, 1], h, 2, on);
      return tf.memory().numTensors - before;
    };
    expect(await left(true)).toBe(await left(false));
  });
});
