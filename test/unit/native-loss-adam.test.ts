// the fused loss and Adam of the wasm+dnnl rung (native/dnnl/src/loss.cc, adam.cc,
// app/learning/native/loss-adam.ts) against
// - PyTorch: every loss case of the oracle's example set (../shared/oracle/cases-example, torch
//   float64 on float32 inputs; skipped without ../shared), through the heads that use them;
// - the unfused tfjs ops on the same backend: values and gradients w.r.t. the logits, 2D and 3D,
//   within 1e-5 relative;
// - tf.train.adam: weights and moments over several steps within 1e-6 relative, and a checkpoint
//   save / resume of the optimizer state in between;
// - a full U-Net training step (fused loss + Adam) against the unfused step, 2D and 3D, 1e-5.
// Skips when the addon is not built or lacks the fused entry points.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../app/learning/backend.ts';
import { lossFor, type HeadConfig } from '../../app/learning/heads.ts';
import { jointHeadLoss } from '../../app/learning/losses-joint.ts';
import { loadOptimizer, readCheckpoint, saveCheckpoint } from '../../app/learning/checkpoint.ts';
import { createParams, disposeParams, forward, type UNetConfig } from '../../app/learning/model/unet.ts';
import { loadNative } from '../../app/learning/native/addon.ts';
import { FusedAdam, fusedCounts, setFusion } from '../../app/learning/native/loss-adam.ts';
import { registerNativeKernels, unregisterNativeKernels } from '../../app/learning/native/register.ts';
import { sharedDir, skipNotice } from '../helpers/env.ts';
import { evaluate, rng, type LossFn } from './fused-loss-helpers.ts';

const native = loadNative();
const has = !!native.addon && typeof native.addon.lossFused === 'function' && typeof native.addon.adamFused === 'function';
if (!has) skipNotice('fused loss and Adam tests', `the addon with lossFused/adamFused (${native.reason ?? 'built before them'})`);

beforeAll(async () => {
  const r = await initBackend({ prefer: 'wasm' });
  expect(r.name).toBe('wasm');
  if (has) registerNativeKernels();
});
afterAll(() => {
  setFusion(true);
  unregisterNativeKernels();
});

/** max |a - b| / max |b| over all elements (a norm-wise relative error). */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return m === 0 ? d : d / m;
}

/** Runs fused and unfused; asserts the fused path ran and both agree within 1e-5 (values and gradient). */
function compareFused(fn: LossFn, logits: Float32Array, shape: number[]): ReturnType<typeof evaluate> {
  const before = fusedCounts().loss;
  const f = evaluate(fn, logits, shape, true);
  expect(fusedCounts().loss, 'the fused loss ran').toBeGreaterThan(before);
  const u = evaluate(fn, logits, shape, false);
  expect(Math.abs(f.total - u.total), `total ${f.total} vs ${u.total}`).toBeLessThanOrEqual(1e-5 * Math.abs(u.total) + 1e-7);
  expect(Object.keys(f.comps).sort()).toEqual(Object.keys(u.comps).sort());
  for (const k of Object.keys(u.comps)) expect(Math.abs(f.comps[k] - u.comps[k]), k).toBeLessThanOrEqual(1e-5 * Math.abs(u.comps[k]) + 1e-7);
  expect(relErr(f.grad, u.grad), 'gradient vs unfused').toBeLessThanOrEqual(1e-5);
  return f;
}

describe.skipIf(!has)('fused loss vs the unfused tfjs ops (wasm+dnnl), values and gradients', () => {
  const cases: Array<{ name: string; shape: number[]; head: HeadConfig; scale?: number }> = [
    { name: 'joint 2D [2,6,5,5] a=b=1 c=0 (the default head)', shape: [2, 6, 5, 5], head: { kind: 'joint', parts: 3, posWeight: 3, a: 1, b: 1, c: 0 } },
    { name: 'joint 3D [1,4,5,3,5] a=0.7 b=1.3 c=0.5, class weights', shape: [1, 4, 5, 3, 5], head: { kind: 'joint', parts: 3, posWeight: 2.5, classWeights: [0.2, 1, 2, 3], a: 0.7, b: 1.3, c: 0.5 } },
    { name: 'joint 2D [2,4,4,4] 2 parts, Dice only', shape: [2, 4, 4, 4], head: { kind: 'joint', parts: 2, posWeight: 1, a: 0, b: 0, c: 1 } },
    { name: 'sigmoid 2D [2,5,4,3] pos_weight, BCE + 0.5 Dice without channel 0', shape: [2, 5, 4, 3], head: { kind: 'sigmoid', channels: 3, posWeight: [3, 0.5, 9], diceWeight: 0.5, includeBackground: false } },
    { name: 'sigmoid 2D [4,64,64,4] pos_weight = ratio-sized (30..900), BCE only (the calibration test\'s head)', shape: [4, 64, 64, 4], head: { kind: 'sigmoid', channels: 4, posWeight: [30, 150, 400, 900] } },
    { name: 'sigmoid 3D [1,3,4,5,2] BCE only', shape: [1, 3, 4, 5, 2], head: { kind: 'sigmoid', channels: 2, posWeight: null } },
    { name: 'softmax 2D [2,4,6,4] weighted CE + Dice', shape: [2, 4, 6, 4], head: { kind: 'softmax', classes: 4, classWeights: [0.5, 2, 1, 4], diceWeight: 1 } },
    { name: 'softmax 3D [2,3,3,3,3] CE, Dice with background', shape: [2, 3, 3, 3, 3], head: { kind: 'softmax', classes: 3, diceWeight: 0.3, includeBackground: true } },
    // Logits far outside exp's float range (the SIMD exp clamps at -87 / +88; loss.cc).
    { name: 'joint 2D [2,8,9,5] logits in ±150, class weights', shape: [2, 8, 9, 5], head: { kind: 'joint', parts: 3, posWeight: 3, classWeights: [0.5, 1, 2, 3], a: 1, b: 1, c: 0 }, scale: 300 },
  ];
  it.each(cases)('$name', ({ shape, head, scale }) => {
    const r = rng(shape.reduce((a, b) => a * b, 7));
    const n = shape.reduce((a, b) => a * b, 1);
    const c = shape[shape.length - 1];
    const vox = n / c;
    const logits = Float32Array.from({ length: n }, () => (r() - 0.5) * (scale ?? 10));
    const labelsOf = (k: number) => Int32Array.from({ length: vox }, () => Math.floor(r() * k));
    const spatial = shape.slice(0, -1);
    let fn: LossFn;
    if (head.kind === 'joint') {
      const labels = labelsOf(head.parts + 1);
      const whole = Float32Array.from(labels, (l) => (l > 0 ? 1 : r() < 0.1 ? 1 : 0));
      fn = (x) => lossFor(head)(x, { whole: tf.tensor(whole, spatial), labels: tf.tensor(labels, spatial, 'int32') }) as ReturnType<LossFn>;
    } else if (head.kind === 'sigmoid') {
      const t = Float32Array.from({ length: n }, () => (r() < 0.3 ? 1 : 0));
      fn = (x) => lossFor(head)(x, tf.tensor(t, shape)) as ReturnType<LossFn>;
    } else {
      const labels = labelsOf(head.classes);
      fn = (x) => lossFor(head)(x, tf.tensor(labels, spatial, 'int32')) as ReturnType<LossFn>;
    }
    const f = compareFused(fn, logits, shape);
    if (head.kind === 'joint' && head.c === 0) expect(f.comps.dice, 'no Dice at c = 0').toBeUndefined();
  });
});

interface OracleTensor { dtype: string; shape: number[]; data: Array<number | string> }
interface OracleCase { id: string; kind: string; inputs: Record<string, OracleTensor>; params: Record<string, unknown>; expected: Record<string, number> }
const shared = sharedDir();
const oracleCases: OracleCase[] = shared
  ? (JSON.parse(readFileSync(join(shared, 'oracle', 'cases-example', 'cases.json'), 'utf8')) as { cases: OracleCase[] }).cases
    .filter((c) => ['bce_with_logits', 'cross_entropy', 'soft_dice', 'joint_head_loss'].includes(c.kind))
  : [];
if (!shared) skipNotice('fused loss vs the PyTorch oracle', '../shared (oracle/cases-example)');

describe.skipIf(!has || !shared)('fused loss vs PyTorch (../shared/oracle/cases-example), within 1e-5 relative + 1e-6', () => {
  const num = (v: number | string): number => (typeof v === 'number' ? v : Number(v));
  const t = (o: OracleTensor, dtype: 'float32' | 'int32' = 'float32') => tf.tensor(o.data.map(num), o.shape, dtype);
  const close = (got: number, want: number, what: string) => expect(Math.abs(got - want), `${what}: ${got} vs PyTorch ${want}`).toBeLessThanOrEqual(1e-5 * Math.abs(want) + 1e-6);
  it.each(oracleCases.map((c) => [c.id, c] as const))('%s', (_id, c) => {
    const p = c.params;
    const logits = Float32Array.from(c.inputs.logits.data.map(num));
    const shape = c.inputs.logits.shape;
    const k = shape[shape.length - 1];
    let fn: LossFn;
    switch (c.kind) {
      case 'bce_with_logits': fn = (x) => lossFor({ kind: 'sigmoid', channels: k, posWeight: p.pos_weight as number[] | null })(x, t(c.inputs.targets)) as ReturnType<LossFn>; break;
      case 'cross_entropy': fn = (x) => lossFor({ kind: 'softmax', classes: k, classWeights: p.weight as number[] | null })(x, t(c.inputs.labels, 'int32')) as ReturnType<LossFn>; break;
      case 'soft_dice':
        fn = p.activation === 'sigmoid'
          ? (x) => lossFor({ kind: 'sigmoid', channels: k, bceWeight: 0, diceWeight: 1, includeBackground: p.include_background as boolean })(x, t(c.inputs.targets)) as ReturnType<LossFn>
          : (x) => lossFor({ kind: 'softmax', classes: k, ceWeight: 0, diceWeight: 1, includeBackground: p.include_background as boolean })(x, t(c.inputs.labels, 'int32')) as ReturnType<LossFn>;
        break;
      default: {
        // The oracle reports Dice at c = 0 too: score it with c = 1 there and take the total from c = 0.
        const opts = { parts: k - 2, posWeight: p.pos_weight as number, classWeights: p.ce_weight as number[] | null, a: p.a as number, b: p.b as number };
        fn = (x) => jointHeadLoss(x, { whole: t(c.inputs.whole), labels: t(c.inputs.labels, 'int32') }, { ...opts, c: p.c as number });
        const withDice = tf.tidy(() => jointHeadLoss(tf.tensor(logits, shape), { whole: t(c.inputs.whole), labels: t(c.inputs.labels, 'int32') }, { ...opts, c: (p.c as number) || 1 }).components.dice!.dataSync()[0]);
        close(withDice, c.expected.dice, 'dice');
      }
    }
    const f = compareFused(fn, logits, shape);
    close(f.total, c.expected.loss, 'loss');
    if (c.kind === 'joint_head_loss') {
      close(f.comps.bce, c.expected.bce, 'bce');
      close(f.comps.ce, c.expected.ce, 'ce');
    }
  });
});

describe.skipIf(!has)('fused Adam vs tf.train.adam', () => {
  const shapes = [[3, 3, 1, 8], [8], [3, 3, 3, 8, 16], [20000], [1, 1, 16, 5]];

  function setup(seed: number, tag: string): { vars: tf.Variable[]; grads: Float32Array[][] } {
    const r = rng(seed);
    const vars = shapes.map((s, i) => tf.variable(tf.tensor(Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => r() - 0.5), s), true, `adamtest${tag}_${i}`));
    const grads = Array.from({ length: 6 }, () => shapes.map((s) => Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => (r() - 0.5) * (r() < 0.1 ? 10 : 0.01))));
    return { vars, grads };
  }
  const apply = (opt: tf.Optimizer, vars: tf.Variable[], g: Float32Array[]) => tf.tidy(() => opt.applyGradients(Object.fromEntries(vars.map((v, i) => [v.name, tf.tensor(g[i], v.shape)]))));

  it('six steps, weights and moments within 1e-6 relative, with a checkpoint save and resume after step 3', async () => {
    const a = setup(11, 'ref'), b = setup(11, 'fused');
    const ref = tf.train.adam(0.01);
    let fused: FusedAdam = new FusedAdam(0.01);
    const before = fusedCounts().adam;
    const dir = mkdtempSync(join(tmpdir(), 'osteon-adam-'));
    try {
      for (let s = 0; s < 6; s++) {
        apply(ref, a.vars, a.grads[s]);
        apply(fused, b.vars, b.grads[s]);
        if (s === 2) {
          // Save the fused optimizer's state, throw it away, resume from the file (checkpoint.ts).
          const params = new Map(b.vars.map((v, i) => [`p${i}`, v]));
          const file = join(dir, 'last.ckpt');
          await saveCheckpoint(file, 1, params, fused, {});
          fused.dispose();
          fused = new FusedAdam(0.01);
          await loadOptimizer(readCheckpoint(file), fused);
        }
      }
      expect(fusedCounts().adam - before).toBe(6);
      a.vars.forEach((v, i) => expect(relErr(b.vars[i].dataSync(), v.dataSync()), `weights ${i}`).toBeLessThanOrEqual(1e-6));
      const wa = await ref.getWeights(), wb = await fused.getWeights();
      expect(wb.map((w) => w.name.replace(/adamtest\w+?_/, ''))).toEqual(wa.map((w) => w.name.replace(/adamtest\w+?_/, '')));
      wa.forEach((w, i) => expect(relErr(wb[i].tensor.dataSync(), w.tensor.dataSync()), w.name).toBeLessThanOrEqual(1e-6));
    } finally {
      rmSync(dir, { recursive: true, force: true });
      ref.dispose();
      fused.dispose();
      tf.dispose([...a.vars, ...b.vars]);
    }
  });
});

describe.skipIf(!has)('fused Adam and shared buffers', () => {
  it('a moment whose buffer another tensor shares (setWeights\' input) is copied, not written in place', async () => {
    const v = tf.variable(tf.ones([4]), true, 'cowtest');
    const o = new FusedAdam(0.1);
    const held = tf.zeros([4]);
    const before = fusedCounts().adam;
    try {
      await o.setWeights([{ name: 'iter', tensor: tf.scalar(0, 'int32') }, { name: 'cowtest/m', tensor: held }, { name: 'cowtest/v', tensor: tf.zeros([4]) }]);
      tf.tidy(() => o.applyGradients([{ name: 'cowtest', tensor: tf.ones([4]) }]));
      expect(fusedCounts().adam).toBe(before + 1);
      expect([...held.dataSync()]).toEqual([0, 0, 0, 0]);
      expect((await o.getWeights())[1].tensor.dataSync()[0]).toBeCloseTo(0.1, 6);
    } finally {
      o.dispose();
      tf.dispose([v, held]);
    }
  });
});

describe.skipIf(!has)('a full training step with the fused loss and Adam vs the unfused step', () => {
  it.each([2, 3] as const)('%dD U-Net, joint head, 3 steps: every parameter within 1e-5 relative', (dims) => {
    const cfg: UNetConfig = { spatialDims: dims, inChannels: 1, outChannels: 5, filters: [4, 8], normalization: 'none', seed: 3 };
    const size = dims === 2 ? 16 : 8;
    const spatial = Array<number>(dims).fill(size);
    const n = (dims === 2 ? 2 : 1) * spatial.reduce((a, b) => a * b, 1);
    const r = rng(dims * 101);
    const labels = Int32Array.from({ length: n }, () => Math.floor(r() * 4));
    const xs = Float32Array.from({ length: n }, () => r() * 2 - 1);
    const batch = [dims === 2 ? 2 : 1, ...spatial];
    const head = lossFor({ kind: 'joint', parts: 3, posWeight: 3, a: 1, b: 1, c: 0.5 });
    const runSteps = (fused: boolean): Float32Array[] => {
      setFusion(fused);
      const params = createParams(cfg);
      const opt = new FusedAdam(1e-2);
      try {
        const x = tf.tensor(xs, [...batch, 1]);
        const target = { whole: tf.tensor(Float32Array.from(labels, (l) => (l > 0 ? 1 : 0)), batch), labels: tf.tensor(labels, batch, 'int32') };
        for (let s = 0; s < 3; s++) opt.minimize(() => head(forward(params, cfg, x), target).total, false, [...params.values()]);
        tf.dispose([x, target.whole, target.labels]);
        return [...params.values()].map((v) => Float32Array.from(v.dataSync()));
      } finally {
        opt.dispose();
        disposeParams(params);
        setFusion(true);
      }
    };
    const before = fusedCounts();
    const f = runSteps(true);
    const after = fusedCounts();
    expect(after.loss - before.loss).toBe(3);
    expect(after.adam - before.adam).toBe(3);
    const u = runSteps(false);
    expect(fusedCounts()).toEqual(after);
    u.forEach((w, i) => expect(relErr(f[i], w), `parameter ${i}`).toBeLessThanOrEqual(1e-5));
  });
});
