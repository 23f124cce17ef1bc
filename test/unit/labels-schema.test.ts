import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLabelSchema, parseLabelSchema, partsOf, wholeOf } from '../../app/labels/schema.ts';
import { PHANTOM_SCHEMA } from '../../app/phantom/schema.ts';
import { OsteonError } from '../../app/util/errors.ts';
import { repoRoot } from '../helpers/env.ts';

const presets = join(repoRoot, 'resources', 'presets');

const base = () => ({
  schema: 'osteon-labels/1',
  name: 't',
  description: '',
  structures: [
    { id: 'w', name: 'W', colour: '#FFFFFF', role: 'whole', source: { kind: 'labelmap', values: [1, 2] } },
    { id: 'a', name: 'A', colour: '#FF0000', role: 'part', source: { kind: 'labelmap', values: [1] } },
    { id: 'b', name: 'B', colour: '#00FF00', role: 'part', source: { kind: 'labelmap', values: [2] } },
  ],
});

type Doc = ReturnType<typeof base> & Record<string, unknown>;

function errorOf(doc: unknown): OsteonError {
  try {
    parseLabelSchema(JSON.stringify(doc), '/x/bad.json');
  } catch (e) {
    if (e instanceof OsteonError) return e;
    throw e;
  }
  throw new Error('expected the schema to be refused');
}

describe('label schema', () => {
  it('parses the shipped presets', () => {
    const pelvis = loadLabelSchema(join(presets, 'pelvis.json'));
    expect(wholeOf(pelvis)?.source).toEqual({ kind: 'labelmap', values: [25, 26, 77, 78] });
    // Class order: 1 left hip (77), 2 right hip (78), 3 sacrum (25).
    expect(partsOf(pelvis).map((p) => [p.id, p.source])).toEqual([
      ['hip_left', { kind: 'labelmap', values: [77] }],
      ['hip_right', { kind: 'labelmap', values: [78] }],
      ['sacrum', { kind: 'labelmap', values: [25] }],
    ]);
    const lumbar = loadLabelSchema(join(presets, 'lumbar-spine.json'));
    expect(wholeOf(lumbar)?.source).toEqual({ kind: 'labelmap', values: [27, 28, 29, 30, 31] });
    // TotalSegmentator v2: 31 = L1 ... 27 = L5.
    expect(partsOf(lumbar).map((p) => p.source.kind === 'labelmap' ? p.source.values[0] : -1)).toEqual([31, 30, 29, 28, 27]);
  });

  it('ships the phantom schema as resources/presets/phantom.json', () => {
    const onDisk = JSON.parse(readFileSync(join(presets, 'phantom.json'), 'utf8')) as unknown;
    expect(onDisk).toEqual(PHANTOM_SCHEMA);
  });

  it('accepts a schema without a whole and fills defaults', () => {
    const doc: Doc = base();
    doc.structures = doc.structures.slice(1);
    delete (doc as Partial<Doc>).description;
    const s = parseLabelSchema(JSON.stringify(doc), 'ok.json');
    expect(wholeOf(s)).toBeUndefined();
    expect(s.description).toBe('');
  });

  it('defaults a mask source file to null', () => {
    const doc = { ...base(), structures: [{ id: 'a', name: 'A', colour: '#FF0000', role: 'part', source: { kind: 'mask' } }] };
    expect(parseLabelSchema(JSON.stringify(doc), 'm.json').structures[0].source).toEqual({ kind: 'mask', file: null });
  });

  const bad: [string, (d: Doc) => unknown, string, RegExp][] = [
    ['wrong tag', (d) => ({ ...d, schema: 'osteon-labels/2' }), 'schema', /osteon-labels\/1/],
    ['bad colour', (d) => { d.structures[1].colour = 'red'; return d; }, 'structures[1].colour', /#4FC3F7/],
    ['bad id', (d) => { d.structures[2].id = 'Left Hip'; return d; }, 'structures[2].id', /lower-case/],
    ['unknown role', (d) => { (d.structures[0] as { role: string }).role = 'parent'; return d; }, 'structures[0].role', /whole|part/],
    ['unknown source kind', (d) => { (d.structures[1] as { source: unknown }).source = { kind: 'atlas' }; return d; }, 'structures[1].source.kind', /./],
    ['negative label value', (d) => { d.structures[1].source.values = [-1]; return d; }, 'structures[1].source.values[0]', /./],
    ['extra field', (d) => ({ ...d, colour: '#000000' }), '(top level)', /colour/],
    ['duplicate id', (d) => { d.structures[2].id = 'a'; return d; }, 'structures[2].id', /duplicate id "a"/],
    ['two wholes', (d) => { d.structures[1].role = 'whole'; return d; }, 'structures', /at most one/],
    ['no parts', (d) => { d.structures = d.structures.slice(0, 1); return d; }, 'structures', /at least one/],
    ['mixed kinds', (d) => { (d.structures[2] as { source: unknown }).source = { kind: 'mask', file: 'b.nii.gz' }; return d; }, 'structures[2].source.kind', /one kind of source/],
    ['duplicate channel', (d) => {
      d.structures.forEach((s) => { (s as { source: unknown }).source = { kind: 'channel', index: 0 }; });
      return d;
    }, 'structures[1].source.index', /already used by "w"/],
  ];
  it.each(bad)('refuses %s, naming file and field', (_name, edit, field, message) => {
    const e = errorOf(edit(base()));
    expect(e.code).toBe('bad-input');
    expect(e.file).toBe('/x/bad.json');
    expect(e.field).toBe(field);
    expect(e.message.startsWith(`/x/bad.json: ${field}: `)).toBe(true);
    expect(e.message).toMatch(message);
  });

  it('refuses invalid JSON and a missing file', () => {
    expect(() => parseLabelSchema('{"schema": ', 'broken.json')).toThrow(/broken\.json: \(json\): not valid JSON/);
    expect(() => loadLabelSchema('/nonexistent/p.json')).toThrow(/p\.json: \(file\): cannot read: ENOENT/);
  });
});
