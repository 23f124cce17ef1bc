// Gradients of every loss with respect to the logits (tf.grad, i.e. what training uses) against
// central finite differences of the same loss, on the cpu and the wasm backend. tfjs has no
// float64, so the shapes are tiny, the step is 1e-2 (balancing the O(h²) truncation against
// float32 rounding of the loss, ~6e-8·|loss|/h) and the tolerance is relative to the largest
// gradient entry: 1e-2·max|g| + 1e-5. A wrong gradient (a missing pos_weight factor, softmax
// mixed up with sigmoid, a sign at a kink) is off by far more.
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../app/learning/backend.ts';
import { bceWithLogits, crossEntropy } from '../../app/learning/losses.ts';
import { softDice } from '../../app/learning/losses-dice.ts';
import { jointHeadLoss } from '../../app/learning/losses-joint.ts';
import { lossFor } from '../../app/learning/heads.ts';
import { setFusion } from '../../app/learning/native/loss-adam.ts';

/** Deterministic values in [-3, 3) with one decimal (a small LCG; no Math.random in tests). */
function values(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.round(((s / 2 ** 32) * 6 - 3) * 10) / 10;
  });
}

function ints(n: number, k: number, seed: number): number[] {
  return values(n, seed).map((v) => Math.floor(((v + 3) / 6) * k));
}

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

function checkGradient(loss: (x: tf.Tensor) => tf.Scalar, shape: number[], seed: number, edit?: (x: number[]) => void): void {
  const x0 = values(size(shape), seed);
  edit?.(x0);
  const h = 1e-2;
  const analytic = tf.tidy(() => Array.from(tf.grad(loss)(tf.tensor(x0, shape)).dataSync()));
  const at = (x: number[]): number => tf.tidy(() => loss(tf.tensor(x, shape)).dataSync()[0]);
  const numeric = x0.map((_, i) => {
    const plus = x0.slice();
    const minus = x0.slice();
    plus[i] += h;
    minus[i] -= h;
    return (at(plus) - at(minus)) / (2 * h);
  });
  const scale = Math.max(...analytic.map(Math.abs));
  expect(scale).toBeGreaterThan(0);
  analytic.forEach((g, i) => {
    expect(Math.abs(g - numeric[i]), `element ${i}: tf.grad ${g}, finite difference ${numeric[i]}`).toBeLessThanOrEqual(1e-2 * scale + 1e-5);
  });
}

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

describe.each(['cpu', 'wasm'])('loss gradients on the %s backend', (backend) => {
  beforeAll(async () => {
    expect(await tf.setBackend(backend)).toBe(true);
  });

  it('bceWithLogits, pos_weight [3, 0.5], soft targets, a logit exactly 0', () => {
    const shape = [2, 2, 2, 2];
    const y = values(size(shape), 7).map((v) => Math.round(((v + 3) / 6) * 4) / 4);
    checkGradient((x) => tf.tidy(() => bceWithLogits(x, tf.tensor(y, shape), { posWeight: [3, 0.5] })), shape, 1, (x) => { x[3] = 0; });
  });

  it('crossEntropy, class weights [0.5, 2, 4]', () => {
    const shape = [2, 2, 2, 3];
    const labels = ints(8, 3, 11);
    checkGradient((x) => tf.tidy(() => crossEntropy(x, tf.tensor(labels, [2, 2, 2], 'int32'), { weight: [0.5, 2, 4] })), shape, 2);
  });

  it('softDice sigmoid, includeBackground false', () => {
    const shape = [2, 2, 2, 3];
    const y = ints(size(shape), 2, 13);
    checkGradient((x) => tf.tidy(() => softDice(x, { activation: 'sigmoid', targets: tf.tensor(y, shape) }, { includeBackground: false })), shape, 3);
  });

  it('softDice softmax, includeBackground false', () => {
    const shape = [2, 2, 2, 3];
    const labels = ints(8, 3, 17);
    checkGradient((x) => tf.tidy(() => softDice(x, { activation: 'softmax', labels: tf.tensor(labels, [2, 2, 2], 'int32') }, { includeBackground: false })), shape, 4);
  });

  it('jointHeadLoss total, a=0.7 b=1.3 c=0.5, class weights, 3D [1,2,2,2,5]', () => {
    const shape = [1, 2, 2, 2, 5];
    const labels = ints(8, 4, 19);
    const whole = labels.map((l, i) => (i === 0 ? 1 - Number(l > 0) : Number(l > 0)));
    checkGradient((x) => tf.tidy(() => jointHeadLoss(x, { whole: tf.tensor(whole, [1, 2, 2, 2]), labels: tf.tensor(labels, [1, 2, 2, 2], 'int32') },
      { parts: 3, posWeight: 3, classWeights: [0.2, 1, 2, 3], a: 0.7, b: 1.3, c: 0.5 }).total), shape, 5);
  });

  it('the joint components each have the right gradient', () => {
    const shape = [1, 2, 3, 5];
    const labels = ints(6, 4, 23);
    const whole = labels.map((l) => Number(l > 0));
    // The fused losses (the addon's, or the SIMD module's on pure wasm) differentiate the total
    // only; their components are reported values. The components' graph is tfjs's ops.
    const fused = setFusion(false);
    try {
      for (const part of ['bce', 'ce', 'dice'] as const) {
        checkGradient((x) => tf.tidy(() => jointHeadLoss(x, { whole: tf.tensor(whole, [1, 2, 3]), labels: tf.tensor(labels, [1, 2, 3], 'int32') },
          { parts: 3, posWeight: 2, a: 1, b: 1, c: 1 }).components[part]!), shape, 6);
      }
    } finally {
      setFusion(fused);
    }
  });

  it('a sigmoid head with a Dice term (lossFor), BCE + 0.5·Dice', () => {
    const shape = [2, 3, 1, 2];
    const y = ints(size(shape), 2, 29);
    const loss = lossFor({ kind: 'sigmoid', channels: 2, posWeight: [4, 1], diceWeight: 0.5 });
    checkGradient((x) => tf.tidy(() => loss(x, tf.tensor(y, shape)).total), shape, 7);
  });
});
