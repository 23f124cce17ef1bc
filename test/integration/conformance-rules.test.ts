// The in-process pieces behind `osteon conformance`: the oracle's comparison rule as
// app/learning/conformance.ts implements it (README "Comparison": |a - e| <= 1e-5 + 1e-4·|e|,
// NaN only NaN with null accepted, ±Infinity only itself, shapes must agree), and how a case that
// cannot run becomes `{error}` instead of stopping the run.
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../app/learning/backend.ts';
import { compareCase, encodeNumber, parseOracleDoc, runCase, runCases, type OracleCase } from '../../app/learning/conformance.ts';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

describe('compareCase (the oracle rule)', () => {
  const table: Array<[string, Record<string, unknown>, unknown, number]> = [
    ['within 1e-4 relative', { loss: 2 }, { loss: 2 * (1 + 9e-5) }, 0],
    ['outside 1e-4 relative', { loss: 2 }, { loss: 2 * (1 + 2e-4) }, 1],
    ['atol near zero', { loss: 0 }, { loss: 9e-6 }, 0],
    ['NaN as "NaN" or null', { d: { shape: [2], data: ['NaN', 'NaN'] } }, { d: ['NaN', null] }, 0],
    ['a number for NaN', { d: 'NaN' }, { d: 0 }, 1],
    ['a large number for Infinity', { h: { shape: [1], data: ['Infinity'] } }, { h: { shape: [1], data: [1e30] } }, 1],
    ['-Infinity for Infinity', { h: 'Infinity' }, { h: '-Infinity' }, 1],
    ['nested list of the right shape', { d: { shape: [2, 2], data: [1, 2, 3, 4] } }, { d: [[1, 2], [3, 4]] }, 0],
    ['tensor object of another shape', { d: { shape: [2, 2], data: [1, 2, 3, 4] } }, { d: { shape: [4, 1], data: [1, 2, 3, 4] } }, 1],
    ['wrong size', { d: { shape: [2], data: [1, 2] } }, { d: [1, 2, 3] }, 1],
    ['a missing output', { loss: 1, bce: 1 }, { loss: 1 }, 1],
    ['a runner error', { loss: 1 }, { error: 'boom' }, 1],
  ];
  it.each(table)('%s', (_name, expected, actual, problems) => {
    expect(compareCase(expected, actual)).toHaveLength(problems);
  });

  it('encodes non-finite numbers as the oracle strings', () => {
    expect([NaN, Infinity, -Infinity, 1.5].map(encodeNumber)).toEqual(['NaN', 'Infinity', '-Infinity', 1.5]);
  });
});

describe('runCase', () => {
  const tensor = (shape: number[], data: number[], dtype: 'float32' | 'int32' = 'float32') => ({ dtype, shape, data });
  const bce = (params: Record<string, unknown>): OracleCase => ({
    id: 'b', kind: 'bce_with_logits', inputs: { logits: tensor([1, 1, 2], [100, -100]), targets: tensor([1, 1, 2], [0, 0]) }, params,
  });

  it('computes a loss case and leaves no tensors behind', () => {
    const before = tf.memory().numTensors;
    expect(runCase(bce({ pos_weight: null, reduction: 'mean' }))).toEqual({ loss: 50 });
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each([
    ['an unknown kind', { ...bce({}), kind: 'focal' }, /unknown kind 'focal'/],
    ['a reduction other than mean', bce({ reduction: 'sum' }), /params\.reduction/],
    ['an ignore_index', { id: 'c', kind: 'cross_entropy', inputs: { logits: tensor([1, 1, 2], [0, 0]), labels: tensor([1, 1], [0], 'int32') }, params: { weight: null, ignore_index: 255 } }, /params\.ignore_index/],
    ['a missing input', { ...bce({}), inputs: {} }, /inputs\.logits: missing/],
    ['labels out of range', { id: 'c', kind: 'cross_entropy', inputs: { logits: tensor([1, 1, 2], [0, 0]), labels: tensor([1, 1], [7], 'int32') }, params: { weight: null } }, /labels: values span 7\.\.7, expected 0\.\.1/],
  ])('turns %s into {error}', (_name, c, message) => {
    const r = runCase(c as OracleCase);
    expect('error' in r && r.error).toMatch(message);
  });

  it('a run counts errors per kind and keeps going', () => {
    const doc = parseOracleDoc(JSON.stringify({ schema: 'ct-seg-oracle/1', cases: [bce({ pos_weight: [2] }), { ...bce({ pos_weight: [1, 2] }), id: 'b2' }] }), 'cases.json');
    const { results, summary } = runCases(doc);
    expect(summary).toMatchObject({ cases: 2, errors: 1, leakedTensors: 0, byKind: { bce_with_logits: { cases: 2, errors: 1 } } });
    expect(results.b).toEqual({ error: 'posWeight: 1 values, expected 2 (one per channel of the logits)' });
    expect(results.b2).toEqual({ loss: 50 });
  });

  it('refuses a file of another schema, naming the field', () => {
    expect(() => parseOracleDoc('{"schema":"other/2","cases":[]}', '/x/cases.json')).toThrow(/cases\.json: schema:/);
    expect(() => parseOracleDoc('{', '/x/cases.json')).toThrow(/cases\.json: json:/);
  });
});
