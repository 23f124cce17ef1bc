// Whole-U-Net gradient check: the loss and every parameter gradient of the engine's U-Net
// (app/learning/model/unet.ts, 2D [2,32,32,1] 8-16-32 and 3D [1,8,8,8,1] 4-8) on three paths:
// wasm with the oneDNN kernels, pure wasm (Osteon's kernels), and tfjs's cpu backend (reference).
// Skips with a notice when the addon is not built.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../app/learning/backend.ts';
import { createParams, disposeParams, forward, type Params, type UNetConfig } from '../../app/learning/model/unet.ts';
import { loadNative } from '../../app/learning/native/addon.ts';
import { registerNativeKernels, unregisterNativeKernels } from '../../app/learning/native/register.ts';
import { nativeCounts } from '../../app/learning/native/run.ts';
import { skipNotice } from '../helpers/env.ts';
import { rand, relDiff } from './kernels-helpers.ts';

const native = loadNative();
if (!native.addon) skipNotice('oneDNN whole-U-Net gradient check', `the addon (${native.reason})`);

interface Result { loss: number; grads: Map<string, Float32Array> }

/** Softmax cross-entropy of the logits against fixed random labels, and d loss / d every parameter. */
async function lossAndGrads(backend: string, p: Params, cfg: UNetConfig, xShape: number[]): Promise<Result> {
  await tf.setBackend(backend);
  const names = [...p.keys()];
  const out = tf.tidy(() => {
    const x = tf.tensor(rand(xShape.reduce((a, b) => a * b, 1), 21), xShape);
    const labelShape = [...xShape.slice(0, -1), cfg.outChannels];
    const onehot = tf.oneHot(tf.tensor(rand(labelShape.reduce((a, b) => a * b, 1) / cfg.outChannels, 22).map((v) => Math.floor((v + 1) * 2.5) % cfg.outChannels), labelShape.slice(0, -1), 'int32'), cfg.outChannels);
    const f = (): tf.Scalar => tf.losses.softmaxCrossEntropy(onehot, forward(p, cfg, x));
    const { value, grads } = tf.variableGrads(f, [...p.values()]);
    return [value, ...names.map((n) => grads[p.get(n)!.name])];
  });
  const [loss, ...gs] = out.map((t) => t.dataSync() as Float32Array);
  tf.dispose(out);
  return { loss: loss[0], grads: new Map(names.map((n, i) => [n, gs[i]])) };
}

async function check(cfg: UNetConfig, xShape: number[]): Promise<void> {
  const p = createParams(cfg);
  try {
    registerNativeKernels();
    const before = nativeCounts();
    const nat = await lossAndGrads('wasm', p, cfg, xShape);
    expect(nativeCounts().native).toBeGreaterThan(before.native);
    expect(nativeCounts().errors).toBe(before.errors);
    unregisterNativeKernels();
    const wasm = await lossAndGrads('wasm', p, cfg, xShape);
    const cpu = await lossAndGrads('cpu', p, cfg, xShape);
    expect(Math.abs(nat.loss - cpu.loss) / Math.abs(cpu.loss)).toBeLessThan(1e-5);
    expect(Math.abs(wasm.loss - cpu.loss) / Math.abs(cpu.loss)).toBeLessThan(1e-5);
    let worstNat = 0;
    let worstWasm = 0;
    for (const [name, ref] of cpu.grads) {
      const dn = relDiff(nat.grads.get(name)!, ref);
      const dw = relDiff(wasm.grads.get(name)!, ref);
      worstNat = Math.max(worstNat, dn);
      worstWasm = Math.max(worstWasm, dw);
      expect(dn, `${name}: native vs cpu`).toBeLessThan(1e-4);
      expect(dw, `${name}: pure wasm vs cpu`).toBeLessThan(1e-4);
    }
    process.stderr.write(`\nU-Net ${cfg.spatialDims}D loss cpu ${cpu.loss} native ${nat.loss} wasm ${wasm.loss}; worst gradient max|diff|/max|ref| native ${worstNat.toExponential(2)}, pure wasm ${worstWasm.toExponential(2)} over ${cpu.grads.size} parameters\n`);
  } finally {
    unregisterNativeKernels();
    disposeParams(p);
  }
}

beforeAll(async () => {
  expect((await initBackend({ prefer: 'wasm' })).name).toBe('wasm');
});
afterAll(() => unregisterNativeKernels());

describe.skipIf(!native.addon)('whole U-Net: oneDNN vs pure wasm vs cpu', () => {
  it('2D [2,32,32,1] filters 8-16-32: loss and every parameter gradient agree', () =>
    check({ spatialDims: 2, inChannels: 1, outChannels: 5, filters: [8, 16, 32], normalization: 'none', seed: 3 }, [2, 32, 32, 1]));

  it('3D [1,8,8,8,1] filters 4-8: loss and every parameter gradient agree', () =>
    check({ spatialDims: 3, inChannels: 1, outChannels: 3, filters: [4, 8], normalization: 'none', seed: 4 }, [1, 8, 8, 8, 1]));
});
