// Losses against golden values from PyTorch. Every `expected` below was computed with torch
// 1.13.0a0 in float64 on Debian's /usr/bin/python3 by test/fixtures/oracle/losses-golden.py
// (F.binary_cross_entropy_with_logits, F.cross_entropy, MONAI-style soft Dice written in torch,
// channels moved first; inputs rounded to float32 first) and pasted here. Layout channels-last:
// `shape` is [N, ...spatial, C]; label maps are shape without the last axis. Every table runs on
// the cpu and the wasm backend.
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../app/learning/backend.ts';
import { bceWithLogits, crossEntropy } from '../../app/learning/losses.ts';
import { softDice } from '../../app/learning/losses-dice.ts';
import { jointHeadLoss } from '../../app/learning/losses-joint.ts';

interface Row { name: string; shape: number[]; logits: number[] }
interface BceRow extends Row { targets: number[]; posWeight: number[] | null; expected: number }
interface CeRow extends Row { labels: number[]; weight: number[] | null; expected: number }
interface DiceSigmoidRow extends Row { targets: number[]; includeBackground: boolean; expected: number }
interface DiceSoftmaxRow extends Row { labels: number[]; includeBackground: boolean; expected: number }
interface JointRow extends Row {
  whole: number[]; labels: number[]; posWeight: number; classWeights: number[] | null; a: number; b: number; c: number;
  expected: { total: number; bce: number; ce: number; dice: number };
}

const bceTable: BceRow[] = [
  { name: '2d [1,2,2,2], pos_weight null', shape: [1, 2, 2, 2], logits: [-1.1, 0.8, 0.5, 3.2, -1.7, -3.3, -0.8, 0.2], targets: [0, 1, 0, 0, 1, 0, 1, 0], posWeight: null, expected: 1.0932139025045386 },
  { name: '2d [1,2,2,2], pos_weight [3, 0.5]', shape: [1, 2, 2, 2], logits: [-1.1, 0.8, 0.5, 3.2, -1.7, -3.3, -0.8, 0.2], targets: [0, 1, 0, 0, 1, 0, 1, 0], posWeight: [3, 0.5], expected: 1.8297417970831442 },
  { name: 'logits ±100 all confidently wrong, pos_weight [2, 1]', shape: [1, 2, 1, 2], logits: [100, -100, -100, 100], targets: [0, 1, 1, 0], posWeight: [2, 1], expected: 125 },
  { name: 'soft targets, N=2, C=1, pos_weight [50]', shape: [2, 3, 1, 1], logits: [3.4, -2.6, 1.5, 1.3, -1.7, 0.4], targets: [0.17, 0.25, 0.19, 0.86, 0.09, 0.59], posWeight: [50], expected: 12.41904421787443 },
  { name: '3d [1,2,2,3,3], channel 0 empty, channel 1 full', shape: [1, 2, 2, 3, 3], logits: [-0.7, 0.3, -3.4, -1.7, 2.3, -0.9, 0.6, 3.5, 1, -1.7, 0, -1.2, 1.1, 1.6, 0.3, 1.4, -3.7, -3.1, -2, -1.3, 3.8, 0.6, -2.5, -1.1, -2.1, -4.4, 2.2, -0.3, -0.9, -1.2, -0.9, 0.4, 0.4, -1.5, -0.9, 3.3], targets: [0, 1, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 0], posWeight: [0.5, 4, 1.25], expected: 2.427766569211746 },
];

const ceTable: CeRow[] = [
  { name: '2d [1,2,3,3], K=3, no weight', shape: [1, 2, 3, 3], logits: [1.6, -1.5, 0.3, 2.4, 0.2, -0.7, 0.3, -1, -1.2, 1, -1, 0.3, -1.5, 4.7, -0.9, 2, -0.5, 0.9], labels: [2, 0, 1, 2, 0, 0], weight: null, expected: 1.8609618746738252 },
  { name: 'same, weight [0.2, 1, 3] (weighted mean)', shape: [1, 2, 3, 3], logits: [1.6, -1.5, 0.3, 2.4, 0.2, -0.7, 0.3, -1, -1.2, 1, -1, 0.3, -1.5, 4.7, -0.9, 2, -0.5, 0.9], labels: [2, 0, 1, 2, 0, 0], weight: [0.2, 1, 3], expected: 1.491942574720362 },
  { name: 'logits ±100, both wrong', shape: [1, 1, 2, 3], logits: [100, -100, 0, -100, 100, 0], labels: [1, 0], weight: null, expected: 200 },
  { name: '3d [2,2,1,2,4], K=4, class 2 absent, weight [1, 2, 5, 0.5]', shape: [2, 2, 1, 2, 4], logits: [3.1, 1.5, -4.1, -2, -3.9, 1.7, -0.2, -0.4, 0.2, -0.4, -1.6, -1, 0.7, -2.2, -1.5, -0.6, -1.1, -2.4, -0.1, -0.3, -1.8, -0.4, -5.6, -3.1, 0.3, -2.1, 2.7, 2.2, -1, -0.8, 2.9, -2.1], labels: [3, 0, 0, 1, 1, 0, 1, 1], weight: [1, 2, 5, 0.5], expected: 3.63618036020555 },
];

const diceSigmoidTable: DiceSigmoidRow[] = [
  { name: 'sigmoid [2,2,2,3], includeBackground true, an empty channel', shape: [2, 2, 2, 3], logits: [1, -2.1, -0.5, -4.4, 0.5, 0.4, 0.8, 0.5, 4.1, 0.5, 1.4, 3, 1, 0.4, -1.3, -0.5, -2.4, -4.9, 1, 4.3, 2.3, 0.2, -2.7, -1.5], targets: [1, 1, 0, 0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0], includeBackground: true, expected: 0.46124614619874454 },
  { name: 'sigmoid [2,2,2,3], includeBackground false, an empty channel', shape: [2, 2, 2, 3], logits: [1, -2.1, -0.5, -4.4, 0.5, 0.4, 0.8, 0.5, 4.1, 0.5, 1.4, 3, 1, 0.4, -1.3, -0.5, -2.4, -4.9, 1, 4.3, 2.3, 0.2, -2.7, -1.5], targets: [1, 1, 0, 0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0], includeBackground: false, expected: 0.5018126824931501 },
  { name: 'sigmoid C=1: includeBackground false is ignored', shape: [2, 3, 1, 1], logits: [-0.9, -0.4, -0.9, 4.1, -1.3, 0.3], targets: [0, 0, 1, 0, 0, 1], includeBackground: false, expected: 0.6467612423664234 },
];

const diceSoftmaxTable: DiceSoftmaxRow[] = [
  { name: 'softmax [2,2,3,3], includeBackground true, sample 1 all background', shape: [2, 2, 3, 3], logits: [-2.5, 2.6, -0.4, -2.3, -1.6, 1.9, -0.9, 0, 0.4, -0.3, 1.6, 0.8, -3.8, -2, -1.8, -2.3, 1.1, 0.1, -1.2, -1.6, -2.3, 0.4, 2.2, -1.2, -3.3, 2.9, 1.7, -2.1, 2.6, -0.4, 0.8, -1, -3.3, 2.9, -1, 2.3], labels: [2, 0, 2, 2, 2, 1, 0, 0, 0, 0, 0, 0], includeBackground: true, expected: 0.7820881273303035 },
  { name: 'softmax [2,2,3,3], includeBackground false, sample 1 all background', shape: [2, 2, 3, 3], logits: [-2.5, 2.6, -0.4, -2.3, -1.6, 1.9, -0.9, 0, 0.4, -0.3, 1.6, 0.8, -3.8, -2, -1.8, -2.3, 1.1, 0.1, -1.2, -1.6, -2.3, 0.4, 2.2, -1.2, -3.3, 2.9, 1.7, -2.1, 2.6, -0.4, 0.8, -1, -3.3, 2.9, -1, 2.3], labels: [2, 0, 2, 2, 2, 1, 0, 0, 0, 0, 0, 0], includeBackground: false, expected: 0.8094875266126923 },
  { name: 'softmax 3d [1,2,2,2,2], K=2', shape: [1, 2, 2, 2, 2], logits: [0.4, 0.2, 0.3, -1, -3.5, 0.9, -3.1, 1, 3, -1.6, 0.2, 0.6, -1.4, 4.4, -0.8, -2.1], labels: [1, 0, 1, 0, 0, 1, 0, 1], includeBackground: true, expected: 0.4958463704069806 },
];

const jointTable: JointRow[] = [
  { name: '[2,2,3,5], a=b=1, c=0, pos_weight 3 (benchmark)', shape: [2, 2, 3, 5], logits: [-1.2, 2.6, 2, -2.1, 0.1, -0.5, -1.8, -1.3, -2.3, 0, -3, 0.2, 0.1, -2.3, 1.3, -1, 0.3, 0.7, 0.1, -0.3, 1.2, -3.6, -3, -1.6, 0.5, -3.1, -4.6, -3.1, -2.7, 3.1, -0.4, 0.3, -2, 0.3, 0.8, 1, -2.7, 0.4, -0.7, -3.2, 3.7, -4.9, -0.6, -2.1, 2.5, -2.6, -2.6, -1.1, -0.4, 0.1, -1.4, -0.8, -0.4, -0.1, -2.2, 0.7, -0.5, 2.6, -1.6, 5.6], whole: [1, 1, 0, 1, 1, 1, 0, 0, 1, 0, 1, 1], labels: [3, 1, 0, 2, 2, 1, 0, 0, 1, 0, 3, 1], posWeight: 3, classWeights: null, a: 1, b: 1, c: 0, expected: { total: 5.26801614158955, bce: 2.4637075315756594, ce: 2.8043086100138903, dice: 0.8007229011725007 } },
  { name: 'whole != labels>0, a=0.7 b=1.3 c=0.5, class weights', shape: [2, 2, 3, 5], logits: [-1.2, 2.6, 2, -2.1, 0.1, -0.5, -1.8, -1.3, -2.3, 0, -3, 0.2, 0.1, -2.3, 1.3, -1, 0.3, 0.7, 0.1, -0.3, 1.2, -3.6, -3, -1.6, 0.5, -3.1, -4.6, -3.1, -2.7, 3.1, -0.4, 0.3, -2, 0.3, 0.8, 1, -2.7, 0.4, -0.7, -3.2, 3.7, -4.9, -0.6, -2.1, 2.5, -2.6, -2.6, -1.1, -0.4, 0.1, -1.4, -0.8, -0.4, -0.1, -2.2, 0.7, -0.5, 2.6, -1.6, 5.6], whole: [0, 1, 0, 1, 1, 1, 0, 0, 1, 0, 1, 0], labels: [3, 1, 0, 2, 2, 1, 0, 0, 1, 0, 3, 1], posWeight: 0.5, classWeights: [0.1, 2, 1, 4], a: 0.7, b: 1.3, c: 0.5, expected: { total: 4.834854860468996, bce: 0.581895008750848, ce: 3.091215900688339, dice: 0.8178953668971233 } },
  { name: '2 parts: [1,2,2,4], a=b=c=1', shape: [1, 2, 2, 4], logits: [-4.6, 1.1, 0.3, 3.1, -2.2, 1.8, -3.3, -1.5, -2.7, 1.3, 3, 2, -0.7, 2.2, -2.3, 2], whole: [0, 0, 0, 0], labels: [0, 0, 0, 0], posWeight: 2, classWeights: null, a: 1, b: 1, c: 1, expected: { total: 2.386823304958032, bce: 0.14582864490792657, ce: 1.2410081195614673, dice: 0.9999865404886382 } },
];

/** float32 vs float64 reference: 1e-5 relative plus 1e-6 absolute. */
function expectClose(t: tf.Tensor, expected: number): void {
  expect(t.shape).toEqual([]);
  const v = t.dataSync()[0];
  expect(Math.abs(v - expected), `got ${v}, expected ${expected}`).toBeLessThanOrEqual(1e-5 * Math.abs(expected) + 1e-6);
}

const labelShape = (s: number[]): number[] => s.slice(0, -1);

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

describe.each(['cpu', 'wasm'])('losses on the %s backend', (backend) => {
  beforeAll(async () => {
    expect(await tf.setBackend(backend)).toBe(true);
  });

  it.each(bceTable)('bceWithLogits: $name', (r) => {
    tf.tidy(() => expectClose(bceWithLogits(tf.tensor(r.logits, r.shape), tf.tensor(r.targets, r.shape), { posWeight: r.posWeight }), r.expected));
  });

  it.each(ceTable)('crossEntropy: $name', (r) => {
    tf.tidy(() => expectClose(crossEntropy(tf.tensor(r.logits, r.shape), tf.tensor(r.labels, labelShape(r.shape), 'int32'), { weight: r.weight }), r.expected));
  });

  it.each(diceSigmoidTable)('softDice: $name', (r) => {
    tf.tidy(() => expectClose(softDice(tf.tensor(r.logits, r.shape), { activation: 'sigmoid', targets: tf.tensor(r.targets, r.shape) }, { includeBackground: r.includeBackground }), r.expected));
  });

  it.each(diceSoftmaxTable)('softDice: $name', (r) => {
    tf.tidy(() => expectClose(softDice(tf.tensor(r.logits, r.shape), { activation: 'softmax', labels: tf.tensor(r.labels, labelShape(r.shape), 'int32') }, { includeBackground: r.includeBackground }), r.expected));
  });

  it.each(jointTable)('jointHeadLoss: $name', (r) => {
    tf.tidy(() => {
      const parts = r.shape[r.shape.length - 1] - 2;
      const out = jointHeadLoss(tf.tensor(r.logits, r.shape), { whole: tf.tensor(r.whole, labelShape(r.shape)), labels: tf.tensor(r.labels, labelShape(r.shape), 'int32') },
        { parts, posWeight: r.posWeight, classWeights: r.classWeights, a: r.a, b: r.b, c: r.c });
      expectClose(out.total, r.expected.total);
      expectClose(out.components.bce, r.expected.bce);
      expectClose(out.components.ce, r.expected.ce);
      if (r.c > 0) expectClose(out.components.dice!, r.expected.dice);
      else {
        // Dice is neither computed nor reported at weight 0; with weight 1 it is the oracle's value.
        expect(out.components.dice).toBeUndefined();
        const withDice = jointHeadLoss(tf.tensor(r.logits, r.shape), { whole: tf.tensor(r.whole, labelShape(r.shape)), labels: tf.tensor(r.labels, labelShape(r.shape), 'int32') },
          { parts, posWeight: r.posWeight, classWeights: r.classWeights, a: r.a, b: r.b, c: 1 });
        expectClose(withDice.components.dice!, r.expected.dice);
        expectClose(withDice.total, r.expected.total + r.expected.dice);
      }
    });
  });

  it('stays finite for logits of ±100 where the naive log(1 - sigmoid(x)) is -Infinity in float32', () => {
    tf.tidy(() => {
      const x = tf.tensor([-100, 100, -100, 100], [1, 2, 2, 1]);
      expect(tf.log(tf.sub(1, tf.sigmoid(x))).dataSync()[1]).toBe(-Infinity); // what the naive form gives
      const y = tf.tensor([1, 0, 0, 1], [1, 2, 2, 1]);
      // l = 100 for the two wrong elements, 0 for the two right ones
      expectClose(bceWithLogits(x, y), 50);
      const g = tf.grad((v: tf.Tensor) => bceWithLogits(v, y, { posWeight: [4] }))(x).dataSync();
      // dl/dx = ((1-y) - (1+(pw-1)y)·(1-σ(x)))/numel: -4/4, 1/4, 0, 0
      [-1, 0.25, 0, 0].forEach((e, k) => expect(g[k]).toBeCloseTo(e, 7));
    });
  });

  it('pos_weight broadcasts over the channel axis only', () => {
    tf.tidy(() => {
      // Two channels, one positive voxel each; pw = [1, 9] changes only channel 1's positive term.
      const x = tf.tensor([0.3, -0.2, 1.1, 0.4], [1, 2, 1, 2]);
      const y = tf.tensor([1, 1, 0, 0], [1, 2, 1, 2]);
      const base = bceWithLogits(x, y).dataSync()[0];
      const w = bceWithLogits(x, y, { posWeight: [1, 9] }).dataSync()[0];
      const sp = Math.log1p(Math.exp(0.2)); // -log σ(-0.2), channel 1's positive voxel
      expect(w - base).toBeCloseTo((8 * sp) / 4, 5);
    });
  });
});

describe('loss input errors name the field', () => {
  const f = (data: number[], shape: number[]) => tf.tensor(data, shape);
  const i = (data: number[], shape: number[]) => tf.tensor(data, shape, 'int32');
  const table: Array<[string, () => unknown, RegExp]> = [
    ['bce targets shape', () => bceWithLogits(f([0, 0], [1, 1, 2]), f([0, 0], [1, 2])), /targets: shape \[1,2\], expected the logits' shape \[1,1,2\]/],
    ['bce int32 targets (a class map)', () => bceWithLogits(f([0, 0], [1, 1, 2]), i([0, 1], [1, 1, 2])), /targets: dtype int32, expected float32/],
    ['bce posWeight length', () => bceWithLogits(f([0, 0], [1, 1, 2]), f([0, 1], [1, 1, 2]), { posWeight: [1, 2, 3] }), /posWeight: 3 values, expected 2/],
    ['bce negative posWeight', () => bceWithLogits(f([0, 0], [1, 1, 2]), f([0, 1], [1, 1, 2]), { posWeight: [1, -2] }), /posWeight\[1\]: -2/],
    ['bce rank 1', () => bceWithLogits(f([0, 0], [2]), f([0, 1], [2])), /logits: shape \[2\] has rank 1, expected >= 2/],
    ['ce float labels', () => crossEntropy(f([0, 0], [1, 1, 2]), f([1], [1, 1])), /labels: dtype float32, expected int32/],
    ['ce one-hot labels', () => crossEntropy(f([0, 0], [1, 1, 2]), i([0, 1], [1, 1, 2])), /labels: shape \[1,1,2\], expected \[1,1\]/],
    ['ce label out of range', () => crossEntropy(f([0, 0, 0, 0], [1, 2, 2]), i([0, 2], [1, 2])), /labels: values span 0\.\.2, expected 0\.\.1/],
    ['ce negative label', () => crossEntropy(f([0, 0, 0, 0], [1, 2, 2]), i([-1, 1], [1, 2])), /values span -1\.\.1/],
    ['ce weight length', () => crossEntropy(f([0, 0], [1, 1, 2]), i([1], [1, 1]), { weight: [1] }), /weight: 1 values, expected 2/],
    ['dice softmax on one channel', () => softDice(f([0, 0], [1, 2, 1]), { activation: 'softmax', labels: i([0, 0], [1, 2]) }), /softmax over 1 channel/],
    ['dice without a spatial axis', () => softDice(f([0, 0], [1, 2]), { activation: 'sigmoid', targets: f([0, 0], [1, 2]) }), /rank 2, expected >= 3/],
    ['dice negative smoothing', () => softDice(f([0, 0], [1, 1, 2]), { activation: 'sigmoid', targets: f([0, 0], [1, 1, 2]) }, { smoothDr: -1 }), /smoothDr: -1/],
    ['joint channel count', () => jointHeadLoss(f(new Array(8).fill(0), [1, 2, 4]), { whole: f([0, 0], [1, 2]), labels: i([0, 0], [1, 2]) }, { parts: 3, posWeight: 1, a: 1, b: 1, c: 0 }), /logits: 4 channels .* expected 1 \+ 4 = 5 for 3 parts/],
    ['joint whole shape', () => jointHeadLoss(f(new Array(10).fill(0), [1, 2, 5]), { whole: f([0, 0], [1, 2, 1]), labels: i([0, 0], [1, 2]) }, { parts: 3, posWeight: 1, a: 1, b: 1, c: 0 }), /whole: shape \[1,2,1\], expected \[1,2\]/],
    ['joint labels above parts', () => jointHeadLoss(f(new Array(10).fill(0), [1, 2, 5]), { whole: f([0, 0], [1, 2]), labels: i([0, 4], [1, 2]) }, { parts: 3, posWeight: 1, a: 1, b: 1, c: 0 }), /labels: values span 0\.\.4, expected 0\.\.3/],
    ['joint negative term weight', () => jointHeadLoss(f(new Array(10).fill(0), [1, 2, 5]), { whole: f([0, 0], [1, 2]), labels: i([0, 0], [1, 2]) }, { parts: 3, posWeight: 1, a: 1, b: -1, c: 0 }), /b: -1, expected a finite number >= 0/],
  ];
  it.each(table)('%s', (_name, fn, message) => {
    tf.tidy(() => {
      expect(fn).toThrow(message);
    });
  });
});
