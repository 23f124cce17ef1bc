// One colour and one display name per structure (renderer/src/lib/structures.svelte.ts): the
// schema's, whoever registers it; the viewer's fallback palette otherwise.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StructureLooks, fallbackColour } from '../../renderer/src/lib/structures.svelte.ts';
import { paletteColour } from '../../renderer/src/lib/slices.ts';
import { repoRoot } from '../helpers/env.ts';

const pelvis = JSON.parse(readFileSync(join(repoRoot, 'resources', 'presets', 'pelvis.json'), 'utf8')) as { structures: Array<{ id: string; name: string; colour: string }> };

describe('structure looks', () => {
  it('takes names and colours from the schema, whatever the index a chart shows it at', () => {
    const s = new StructureLooks();
    s.register(pelvis.structures);
    expect(s.look('pelvis', 3)).toEqual({ name: 'Pelvis', colour: '#e8dcc4' });
    expect(s.look('hip_left', 0)).toEqual({ name: 'Left hip', colour: '#4fc3f7' });
  });

  it('a run layout (ids, names, colours) registers the same looks', () => {
    const s = new StructureLooks();
    s.registerLayout({ ids: pelvis.structures.map((x) => x.id), names: pelvis.structures.map((x) => x.name), colours: pelvis.structures.map((x) => x.colour) });
    expect(s.name('sacrum')).toBe('Sacrum');
    expect(s.colour('sacrum', 0)).toBe('#aed581');
  });

  it('names without colours keep an earlier colour; unknown structures fall back to the viewer palette and their id', () => {
    const s = new StructureLooks();
    s.register([{ id: 'bone', colour: '#112233' }]);
    s.register([{ id: 'bone', name: 'Bone' }]);
    expect(s.look('bone', 5)).toEqual({ name: 'Bone', colour: '#112233' });
    expect(s.look('x', 2)).toEqual({ name: 'x', colour: fallbackColour(2) });
    expect(fallbackColour(2)).toBe(`#${paletteColour(2).map((c) => c.toString(16).padStart(2, '0')).join('')}`);
  });
});
