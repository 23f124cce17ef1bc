// binarize / binarizeInto (app/learning/predict.ts) and the addon's thresholdSlab against the rule written out per voxel:
// sigmoid channels ≥ threshold; softmax parts by arg-max over background (1 − Σ parts) and parts;
// a joint head's whole by its threshold, a softmax head's whole as the union of its parts.
import { describe, expect, it } from 'vitest';
import { binarize, binarizeInto } from '../../app/learning/predict.ts';
import type { HeadConfig } from '../../app/learning/heads.ts';
import { rand } from './kernels-helpers.ts';
import { nativeThresholder } from '../../app/learning/native/infer-net.ts';

// The addon's multi-threaded version (accumulate.cc thresholdSlab), where the addon has it.
const native = nativeThresholder();

function rule(probs: Float32Array[], head: HeadConfig, hasWhole: boolean, th: number[]): Uint8Array[] {
  const n = probs[0].length;
  const out = probs.map(() => new Uint8Array(n));
  for (let v = 0; v < n; v++) {
    if (head.kind === 'sigmoid') { probs.forEach((p, k) => { out[k][v] = p[v] >= th[k] ? 1 : 0; }); continue; }
    const first = hasWhole ? 1 : 0;
    const parts = probs.slice(first).map((p) => p[v]);
    const bg = 1 - parts.reduce((a, b) => a + b, 0);
    const best = parts.indexOf(Math.max(...parts));
    if (parts[best] > bg) out[first + best][v] = 1;
    if (hasWhole) out[0][v] = head.kind === 'joint' ? (probs[0][v] >= th[0] ? 1 : 0) : (parts.some((_, k) => out[first + k][v]) ? 1 : 0);
  }
  return out;
}

describe('binarize', () => {
  const n = 2000;
  const raw = [0, 1, 2, 3].map((k) => rand(n, 40 + k).map((x) => (x + 1) / 2));
  // parts that sum to at most 1 (softmax-like), whole independent
  const parts = (K: number) => { const s = new Float32Array(n).map((_, v) => 1.2 * (raw.slice(0, K).reduce((a, r) => a + r[v], 0) + 0.1)); return raw.slice(0, K).map((r) => r.map((x, v) => x / s[v])); };
  const cases: Array<[string, HeadConfig, boolean, Float32Array[]]> = [
    ['sigmoid', { kind: 'sigmoid', channels: 3 } as HeadConfig, true, raw.slice(0, 3)],
    ['joint', { kind: 'joint', parts: 3 } as HeadConfig, true, [raw[3], ...parts(3)]],
    ['softmax with whole', { kind: 'softmax', classes: 4 } as HeadConfig, true, [raw[3], ...parts(3)]],
    ['softmax parts only', { kind: 'softmax', classes: 4 } as HeadConfig, false, parts(3)],
  ];
  for (const [name, head, hasWhole, probs] of cases) {
    it(`${name}: the per-voxel rule, whole arrays and written into a larger mask at an offset`, () => {
      const th = [0.45, 0.5, 0.55, 0.6];
      const want = rule(probs, head, hasWhole, th);
      binarize(probs, head, hasWhole, th).forEach((m, k) => expect(m).toEqual(want[k]));
      const big = probs.map(() => new Uint8Array(n + 10).fill(7));
      binarizeInto(probs, head, hasWhole, th, big, 5);
      big.forEach((m, k) => { expect(m.subarray(5, 5 + n)).toEqual(want[k]); expect([...m.subarray(0, 5), ...m.subarray(5 + n)].every((x) => x === 7)).toBe(true); });
      expect(want.some((m) => m.some((x) => x === 1)) && want.some((m) => m.some((x) => x === 0))).toBe(true);
    });
    it.skipIf(!native)(`${name}: the addon's thresholdSlab gives the same masks${native ? '' : ' (skipped: no addon with thresholdSlab)'}`, () => {
      const th = [0.45, 0.5, 0.55, 0.6];
      const want = rule(probs, head, hasWhole, th);
      const big = probs.map(() => new Uint8Array(n + 10).fill(7));
      native!(probs, head, hasWhole, th, big, 5);
      big.forEach((m, k) => { expect(m.subarray(5, 5 + n)).toEqual(want[k]); expect([...m.subarray(0, 5), ...m.subarray(5 + n)].every((x) => x === 7)).toBe(true); });
    });
  }
});
