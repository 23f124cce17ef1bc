// A run's prediction written in the encoding of the case's labels file (compare mode reads it with
// the truth's per-structure selectors): label maps with a whole made of its parts' values, and
// multi-channel volumes at each structure's channel.
import { describe, expect, it } from 'vitest';
import { fromLabelMap } from '../../app/labels/labelset.ts';
import { validateLabelSchema } from '../../app/labels/schema.ts';
import { encodePrediction } from '../../app/services/training-prediction.ts';
import { IDENTITY3, type Geometry } from '../../app/imaging/volume.ts';

const st = (id: string, role: 'whole' | 'part', source: unknown) => ({ id, name: id, colour: '#112233', role, source });
const geometry: Geometry = { dims: [6, 1, 1], spacing: [1, 1, 1], origin: [0, 0, 0], direction: IDENTITY3 };
const m = (...bits: number[]) => Uint8Array.from(bits);

describe('encodePrediction', () => {
  it('label map: each voxel gets the value whose structures match the prediction, whole = union of parts', () => {
    const schema = validateLabelSchema({
      schema: 'osteon-labels/1', name: 't',
      structures: [st('hip', 'whole', { kind: 'labelmap', values: [4, 7] }), st('ilium', 'part', { kind: 'labelmap', values: [4] }), st('ischium', 'part', { kind: 'labelmap', values: [7] })],
    });
    // voxels: nothing, whole+ilium, whole+ischium, ilium alone (no whole), whole alone, whole+both parts
    const masks = new Map([['hip', m(0, 1, 1, 0, 1, 1)], ['ilium', m(0, 1, 0, 1, 0, 1)], ['ischium', m(0, 0, 1, 0, 0, 1)]]);
    const enc = encodePrediction(schema, masks, 6, 1);
    expect(enc.channels).toBe(1);
    // Representable voxels exactly. A differing part costs 2, a differing whole 1: "ilium alone"
    // → 4 (cost 1; 0 costs 2); "whole alone" → 0 (cost 1; 4 or 7 cost 2); whole+both parts → 4
    // (cost 2, the missed ischium; 7 also costs 2, 0 costs 5): the earlier of the tie.
    expect([...enc.data]).toEqual([0, 4, 7, 4, 0, 4]);
    // Read back with the schema, as the store and the viewer do.
    const back = fromLabelMap(schema, geometry, enc.data, 'pred');
    expect(back.masks.map((x) => [...x])).toEqual([[0, 1, 1, 1, 0, 1], [0, 1, 0, 1, 0, 1], [0, 0, 1, 0, 0, 0]]);
  });

  it('multi-channel: each structure at its channel, as many channels as the labels file', () => {
    const schema = validateLabelSchema({
      schema: 'osteon-labels/1', name: 't',
      structures: [st('a', 'part', { kind: 'channel', index: 1 }), st('b', 'part', { kind: 'channel', index: 0 })],
    });
    const enc = encodePrediction(schema, new Map([['a', m(1, 1, 0)], ['b', m(0, 1, 1)]]), 3, 3);
    expect(enc.channels).toBe(3);
    expect([...enc.data]).toEqual([0, 1, 1, 1, 1, 0, 0, 0, 0]);
  });
});
