// Losses at training size against PyTorch: a [1,32,64,64,4] volume (524,288 values), where float32
// sums that run voxel by voxel lose digits (the wasm backend's Sum and Mean). Inputs are drawn by
// mulberry32 on both sides (app/phantom/prng.ts and test/fixtures/oracle/losses-large-golden.py,
// which printed test/fixtures/oracle/losses-large.json with torch 1.13 float64). Tolerance: the
// oracle's 1e-4 relative (the PyTorch contract).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../app/learning/backend.ts';
import { bceWithLogits, crossEntropy } from '../../app/learning/losses.ts';
import { softDice } from '../../app/learning/losses-dice.ts';
import { jointHeadLoss } from '../../app/learning/losses-joint.ts';
import { mulberry32 } from '../../app/phantom/prng.ts';
import { fixtures } from '../helpers/env.ts';

interface Golden {
  bce: { posWeight: number[]; expected: number };
  ce: { expected: number };
  ceWeighted: { weight: number[]; expected: number };
  diceSigmoid: { expected: number };
  joint: { posWeight: number; a: number; b: number; c: number; expected: { bce: number; ce: number; dice: number; total: number } };
}
const golden = JSON.parse(readFileSync(join(fixtures, 'oracle', 'losses-large.json'), 'utf8')) as Golden;

const SHAPE = [1, 32, 64, 64];
const V = 32 * 64 * 64;
const C = 4;

/** The inputs of losses-large-golden.py, drawn in the same order. */
function inputs(): { logits5: Float32Array; targets: Float32Array; labels: Int32Array } {
  const r = mulberry32(16001);
  const logits5 = new Float32Array(V * (C + 1));
  for (let i = 0; i < logits5.length; i++) logits5[i] = r.next() * 12 - 6;
  const probs = [0.3, 0.08, 0.06, 0.04];
  const targets = new Float32Array(V * C);
  for (let i = 0; i < targets.length; i++) targets[i] = r.next() < probs[i % C] ? 1 : 0;
  const labels = new Int32Array(V);
  for (let i = 0; i < V; i++) labels[i] = Math.floor(r.next() * 4);
  return { logits5, targets, labels };
}

function rel(t: tf.Tensor, expected: number): number {
  return Math.abs(t.dataSync()[0] - expected) / Math.abs(expected);
}

const data = inputs();

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

describe.each(['wasm', 'cpu'])('losses at training size [1,32,64,64,4] on the %s backend, within 1e-4 of PyTorch', (backend) => {
  beforeAll(async () => {
    expect(await tf.setBackend(backend)).toBe(true);
  });
  const logits = () => tf.slice(tf.tensor(data.logits5, [...SHAPE, C + 1]), [0, 0, 0, 0, 0], [...SHAPE, C]);

  it('bceWithLogits, pos_weight [3, 20, 25, 40]', () => {
    tf.tidy(() => { expect(rel(bceWithLogits(logits(), tf.tensor(data.targets, [...SHAPE, C]), { posWeight: golden.bce.posWeight }), golden.bce.expected)).toBeLessThan(1e-4); });
  });
  it('crossEntropy, plain and weighted', () => {
    tf.tidy(() => {
      const lab = tf.tensor(data.labels, SHAPE, 'int32');
      expect(rel(crossEntropy(logits(), lab), golden.ce.expected)).toBeLessThan(1e-4);
      expect(rel(crossEntropy(logits(), lab, { weight: golden.ceWeighted.weight }), golden.ceWeighted.expected)).toBeLessThan(1e-4);
    });
  });
  it('softDice, sigmoid', () => {
    tf.tidy(() => { expect(rel(softDice(logits(), { activation: 'sigmoid', targets: tf.tensor(data.targets, [...SHAPE, C]) }), golden.diceSigmoid.expected)).toBeLessThan(1e-4); });
  });
  it('jointHeadLoss, every component and the total', () => {
    tf.tidy(() => {
      const whole = tf.tensor(data.targets.filter((_, i) => i % C === 0), SHAPE);
      const g = golden.joint;
      const out = jointHeadLoss(tf.tensor(data.logits5, [...SHAPE, C + 1]), { whole, labels: tf.tensor(data.labels, SHAPE, 'int32') }, { parts: 3, posWeight: g.posWeight, a: g.a, b: g.b, c: g.c });
      for (const k of ['bce', 'ce', 'dice', 'total'] as const) {
        const t = k === 'total' ? out.total : out.components[k]!;
        expect(rel(t, g.expected[k]), k).toBeLessThan(1e-4);
      }
    });
  });
});
