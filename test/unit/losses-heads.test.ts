// Head configurations (the discriminated union in app/learning/heads.ts): parsing accepts the
// legal heads and names the field of an illegal one; lossFor() checks the logits' channels against
// the config and the target's form against the head; the components add up to the total; and no
// loss leaks tensors (tf.memory().numTensors is unchanged after a burn-in, errors included).
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../app/learning/backend.ts';
import { headChannels, lossFor, parseHeadConfig, type HeadConfig } from '../../app/learning/heads.ts';
import { bceWithLogits, crossEntropy } from '../../app/learning/losses.ts';
import { softDice } from '../../app/learning/losses-dice.ts';
import { jointHeadLoss } from '../../app/learning/losses-joint.ts';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

// Illegal combinations do not type-check (tsc runs over test/ in `npm test`).
// @ts-expect-error a sigmoid head has per-channel pos_weight, not class weights
const _sigmoidWithClassWeights: HeadConfig = { kind: 'sigmoid', channels: 3, classWeights: [1, 2, 3] };
// @ts-expect-error a joint head needs its scalar pos_weight and a, b, c
const _jointWithoutWeights: HeadConfig = { kind: 'joint', parts: 3 };
// @ts-expect-error a softmax head's pos_weight does not exist
const _softmaxWithPosWeight: HeadConfig = { kind: 'softmax', classes: 4, posWeight: [3] };

describe('parseHeadConfig', () => {
  const good: HeadConfig[] = [
    { kind: 'softmax', classes: 4 },
    { kind: 'softmax', classes: 4, classWeights: [0.1, 1, 1, 2], ceWeight: 1, diceWeight: 1 },
    { kind: 'sigmoid', channels: 4, posWeight: [3, 10, 12, 9], diceWeight: 1 },
    { kind: 'joint', parts: 3, posWeight: 3, a: 1, b: 1, c: 0 },
  ];
  it.each(good)('accepts %j', (h) => {
    expect(parseHeadConfig(JSON.parse(JSON.stringify(h)), 'model.json')).toEqual(h);
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['unknown kind', { kind: 'softmax-sigmoid', classes: 4 }, /model\.json: head\.kind:/],
    ['sigmoid with class weights', { kind: 'sigmoid', channels: 3, classWeights: [1, 1, 1] }, /model\.json: head: .*classWeights/i],
    ['softmax with one class', { kind: 'softmax', classes: 1 }, /head\.classes:/],
    ['pos_weight per channel count', { kind: 'sigmoid', channels: 3, posWeight: [1, 2] }, /head\.posWeight: needs one pos_weight per channel/],
    ['negative pos_weight', { kind: 'sigmoid', channels: 1, posWeight: [-1] }, /head\.posWeight\.0:/],
    ['class weights per class', { kind: 'joint', parts: 3, posWeight: 3, classWeights: [1, 1, 1], a: 1, b: 1, c: 0 }, /head\.classWeights: needs parts \+ 1 weights/],
    ['joint without a', { kind: 'joint', parts: 3, posWeight: 3, b: 1, c: 0 }, /head\.a:/],
    ['every term weight 0', { kind: 'softmax', classes: 3, ceWeight: 0 }, /head\.ceWeight: ceWeight and diceWeight are both 0/],
  ];
  it.each(bad)('rejects %s', (_name, value, message) => {
    expect(() => parseHeadConfig(value, 'model.json')).toThrow(message);
  });
});

describe('lossFor', () => {
  const logits = (c: number, seed = 1) => tf.tensor(Array.from({ length: 2 * 3 * 2 * c }, (_, i) => Math.sin(i * 1.7 + seed) * 3), [2, 3, 2, c]);
  const labels = (k: number) => tf.tensor(Array.from({ length: 12 }, (_, i) => (i * 7) % k), [2, 3, 2], 'int32');
  const scalar = (t: tf.Tensor | undefined): number => {
    if (!t) throw new Error('missing component');
    return t.dataSync()[0];
  };

  it('headChannels: softmax classes, sigmoid channels, joint 1 + parts + 1', () => {
    expect(headChannels({ kind: 'softmax', classes: 4 })).toBe(4);
    expect(headChannels({ kind: 'sigmoid', channels: 3, posWeight: null })).toBe(3);
    expect(headChannels({ kind: 'joint', parts: 3, posWeight: 3, a: 1, b: 1, c: 0 })).toBe(5);
  });

  it('softmax head: total = ceWeight·CE + diceWeight·Dice (background not scored by default)', () => {
    tf.tidy(() => {
      const x = logits(4);
      const y = labels(4);
      const r = lossFor({ kind: 'softmax', classes: 4, classWeights: [0.5, 1, 2, 3], ceWeight: 2, diceWeight: 0.5 })(x, y);
      const ce = scalar(crossEntropy(x, y, { weight: [0.5, 1, 2, 3] }));
      const dice = scalar(softDice(x, { activation: 'softmax', labels: y }, { includeBackground: false }));
      expect(scalar(r.components.ce)).toBeCloseTo(ce, 6);
      expect(scalar(r.components.dice)).toBeCloseTo(dice, 6);
      expect(scalar(r.total)).toBeCloseTo(2 * ce + 0.5 * dice, 5);
      expect(r.components.bce).toBeUndefined();
    });
  });

  it('sigmoid head: BCE only by default; multi-hot targets may overlap', () => {
    tf.tidy(() => {
      const x = logits(3);
      // channel 0 = whole, 1 and 2 = overlapping parts: several ones per voxel (not a one-hot)
      const y = tf.tensor(Array.from({ length: 36 }, (_, i) => (i % 3 === 0 || i % 5 === 0 ? 1 : 0)), [2, 3, 2, 3]);
      const r = lossFor({ kind: 'sigmoid', channels: 3, posWeight: [2, 5, 5] })(x, y);
      expect(scalar(r.total)).toBeCloseTo(scalar(bceWithLogits(x, y, { posWeight: [2, 5, 5] })), 6);
      expect(Object.keys(r.components)).toEqual(['bce']);
    });
  });

  it('joint head: the same numbers as jointHeadLoss; Dice reported (and computed) only when c > 0', () => {
    tf.tidy(() => {
      const x = logits(5);
      const y = labels(4);
      const whole = tf.cast(tf.greater(y, 0), 'float32');
      const r = lossFor({ kind: 'joint', parts: 3, posWeight: 3, a: 1, b: 1, c: 0 })(x, { whole, labels: y });
      const direct = jointHeadLoss(x, { whole, labels: y }, { parts: 3, posWeight: 3, a: 1, b: 1, c: 0 });
      expect(scalar(r.total)).toBeCloseTo(scalar(direct.total), 6);
      expect(scalar(r.total)).toBeCloseTo(scalar(r.components.bce) + scalar(r.components.ce), 5);
      expect(r.components.dice).toBeUndefined();
      const withDice = lossFor({ kind: 'joint', parts: 3, posWeight: 3, a: 1, b: 1, c: 0.5 })(x, { whole, labels: y });
      expect(scalar(withDice.components.dice)).toBeGreaterThan(0);
      expect(scalar(withDice.total)).toBeCloseTo(scalar(r.total) + 0.5 * scalar(withDice.components.dice), 5);
    });
  });

  const errors: Array<[string, () => unknown, RegExp]> = [
    ['joint logits with 4 channels', () => lossFor({ kind: 'joint', parts: 3, posWeight: 3, a: 1, b: 1, c: 0 })(logits(4), { whole: tf.zeros([2, 3, 2]), labels: labels(4) }),
      /logits: shape \[2,3,2,4\], expected \[N, \.\.\.spatial, 5\] for the joint head/],
    ['softmax logits with 3 channels for 4 classes', () => lossFor({ kind: 'softmax', classes: 4 })(logits(3), labels(3)), /expected \[N, \.\.\.spatial, 4\] for the softmax head/],
    ['sigmoid head given a class map', () => lossFor({ kind: 'sigmoid', channels: 3 })(logits(3), labels(3)), /targets: dtype int32, expected float32/],
    ['sigmoid head given [N,H,W]', () => lossFor({ kind: 'sigmoid', channels: 3 })(logits(3), tf.zeros([2, 3, 2])), /targets: shape \[2,3,2\], expected the logits' shape \[2,3,2,3\]/],
  ];
  it.each(errors)('%s fails with a clear message', (_name, fn, message) => {
    tf.tidy(() => {
      expect(fn).toThrow(message);
    });
  });
});

describe.each(['cpu', 'wasm'])('no tensor leaks on the %s backend', (backend) => {
  beforeAll(async () => {
    expect(await tf.setBackend(backend)).toBe(true);
  });

  it('numTensors is unchanged after a burn-in of losses, gradients, optimizer steps and errors', () => {
    const x = tf.variable(tf.randomNormal([2, 4, 3, 5], 0, 2, 'float32', 3));
    const labels = tf.tensor(Array.from({ length: 24 }, (_, i) => (i * 5) % 4), [2, 4, 3], 'int32');
    const whole = tf.cast(tf.greater(labels, 0), 'float32');
    const multiHot = tf.cast(tf.greater(tf.randomUniform([2, 4, 3, 5], 0, 1, 'float32', 4), 0.6), 'float32');
    const heads = {
      joint: lossFor({ kind: 'joint', parts: 3, posWeight: 3, classWeights: [0.2, 1, 1, 2], a: 1, b: 1, c: 0.5 }),
      softmax: lossFor({ kind: 'softmax', classes: 5, diceWeight: 1 }),
      sigmoid: lossFor({ kind: 'sigmoid', channels: 5, posWeight: [1, 2, 3, 4, 5], diceWeight: 1 }),
    };
    const optimizer = tf.train.adam(1e-3);
    const labels5 = tf.tensor(Array.from({ length: 24 }, (_, i) => (i * 3) % 5), [2, 4, 3], 'int32');
    const round = (): void => {
      for (const r of [heads.joint(x, { whole, labels }), heads.softmax(x, labels5), heads.sigmoid(x, multiHot)]) {
        r.total.dispose();
        Object.values(r.components).forEach((t) => t?.dispose());
      }
      optimizer.minimize(() => heads.joint(x, { whole, labels }).total);
      tf.tidy(() => {
        tf.grad((v: tf.Tensor) => softDice(v, { activation: 'sigmoid', targets: multiHot }))(x);
        tf.grad((v: tf.Tensor) => crossEntropy(v, labels5, { weight: [1, 2, 3, 4, 5] }))(x);
      });
      tf.tidy(() => { heads.softmax(x, labels); }); // labels 0..3 are legal for 5 classes
      // A failing call (labels out of range, wrong channel count) must not leave tensors behind.
      tf.tidy(() => {
        const bad = tf.add(labels5, tf.scalar(1, 'int32'));
        expect(() => crossEntropy(x, bad)).toThrow(/values span 1\.\.5/);
        expect(() => heads.joint(tf.slice(x, [0, 0, 0, 0], [2, 4, 3, 4]), { whole, labels })).toThrow(/for the joint head/);
      });
    };
    round();
    round(); // burn-in: the optimizer creates its slots on the first step
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) round();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, labels, whole, multiHot, labels5]);
    optimizer.dispose();
  });
});
