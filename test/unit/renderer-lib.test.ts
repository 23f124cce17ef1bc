// The renderer's pure helpers (renderer/src/lib): slice orientation, label-id parsing, overlay
// colouring, keyboard shortcuts. The components themselves are tested in Chromium (test/e2e).
import { describe, expect, it } from 'vitest';
import { edgeLetters, planSlice, renderSlice, type GridLike } from '../../renderer/src/lib/slices.ts';
import { buildOverlays, distinctValues, sameOverlays } from '../../renderer/src/lib/overlays.ts';
import { parseIdList, parseSchema, withValues } from '../../renderer/src/lib/schemaEdit.ts';
import { matchShortcut, shortcuts } from '../../renderer/src/lib/shortcuts.ts';

const I3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];
/** A NIfTI stored RAS, as Osteon holds it in LPS: index i runs to patient Right, j Anterior. */
const RAS = [-1, 0, 0, 0, -1, 0, 0, 0, 1];
const grid = (direction: number[]): GridLike => ({ dims: [4, 3, 2], spacing: [1, 2, 3], direction });
const off = (i: number, j: number, k: number) => i + 4 * (j + 3 * k);

describe('planSlice: radiological display (screen right = patient left)', () => {
  // [view, direction, pixel (u, v) on slice s, expected voxel (i, j, k)]
  const table: Array<[string, number[], [number, number, number], [number, number, number]]> = [
    ['axial', I3, [0, 0, 1], [0, 0, 1]],
    ['axial', RAS, [0, 0, 1], [3, 2, 1]],
    ['coronal', I3, [0, 0, 0], [0, 0, 1]], // top of the screen is superior: the last k
    ['coronal', I3, [3, 1, 2], [3, 2, 0]],
    ['sagittal', I3, [0, 0, 3], [3, 0, 1]], // screen right is posterior (+j)
    ['sagittal', RAS, [0, 0, 0], [3, 2, 1]],
  ];
  it.each(table)('%s %j: pixel %j → voxel %j', (view, dir, [u, v, s], [i, j, k]) => {
    const plan = planSlice(grid(dir), view as 'axial' | 'coronal' | 'sagittal');
    expect(plan.offset(u, v, s)).toBe(off(i, j, k));
  });

  it('gives each view its size, pixel spacing and depth', () => {
    const g = grid(I3);
    expect(planSlice(g, 'axial')).toMatchObject({ width: 4, height: 3, depth: 2, pixelWidthMm: 1, pixelHeightMm: 2 });
    expect(planSlice(g, 'coronal')).toMatchObject({ width: 4, height: 2, depth: 3, pixelWidthMm: 1, pixelHeightMm: 3 });
    expect(planSlice(g, 'sagittal')).toMatchObject({ width: 3, height: 2, depth: 4, pixelWidthMm: 2, pixelHeightMm: 3 });
    expect(edgeLetters.axial).toEqual(['R', 'L', 'A', 'P']);
  });
});

describe('renderSlice', () => {
  it('maps the window to grey and blends a label colour on top', () => {
    const g = grid(I3);
    const plan = planSlice(g, 'axial');
    const ct = new Int16Array(24).fill(300); // = level → mid grey
    ct[off(1, 0, 0)] = -1000; // below the window → black
    const labels = new Uint8Array(24);
    labels[off(2, 0, 0)] = 7;
    const overlays = buildOverlays({ dims: g.dims, channels: 1, data: labels }, null);
    const rgba = renderSlice({ plan, slice: 0, ct, window: 2000, level: 300, labels, overlays, opacity: 1 });
    expect(rgba.length).toBe(4 * 3 * 4);
    expect([...rgba.slice(0, 4)]).toEqual([128, 128, 128, 255]); // (300 - -700) * 255 / 2000 = 127.5; a clamped array rounds half to even: 128
    expect([...rgba.slice(4, 7)]).toEqual([0, 0, 0]);
    expect([...rgba.slice(8, 11)]).toEqual(overlays[0].colour);
  });
});

describe('overlays', () => {
  it('colours a label map by the schema ids, a whole as an outline', () => {
    const o = buildOverlays({ dims: [2, 1, 1], channels: 1, data: new Uint8Array([25, 77]) }, [
      { id: 'pelvis', colour: '#E8DCC4', role: 'whole', values: [25, 77] },
      { id: 'sacrum', colour: '#AED581', role: 'part', values: [25] },
    ]);
    expect(o.map((x) => [x.colour, x.outline, [...(x.values ?? [])]])).toEqual([
      [[232, 220, 196], true, [25, 77]],
      [[174, 213, 129], false, [25]],
    ]);
  });
  it('gives each channel of a multi-channel volume its own base offset', () => {
    const o = buildOverlays({ dims: [2, 2, 1], channels: 3, data: new Uint8Array(12) }, null);
    expect(o.map((x) => x.base)).toEqual([0, 4, 8]);
  });
  it('lists the distinct non-zero values of a label map', () => {
    expect(distinctValues(new Uint16Array([0, 78, 25, 78, 0, 26]))).toEqual([25, 26, 78]);
  });
});

describe('label ids typed by the user', () => {
  const table: Array<[string, number[] | string]> = [
    ['25', [25]],
    ['25, 26  77-78', [25, 26, 77, 78]],
    ['27-31;25', [25, 27, 28, 29, 30, 31]],
    ['', 'at least one'],
    ['25, x', '"x" is not a label id'],
    ['9-3', 'reversed'],
    ['70000', 'above 65535'],
  ];
  it.each(table)('%j → %j', (text, want) => {
    const r = parseIdList(text);
    if (Array.isArray(want)) expect(r).toEqual({ ok: true, values: want });
    else expect(r.ok ? '' : r.problem).toContain(want);
  });

  it('rewrites only the label-map ids of the named structures, without mutating the schema', () => {
    const s = parseSchema({ schema: 'osteon-labels/1', name: 'p', structures: [
      { id: 'sacrum', name: 'Sacrum', colour: '#AED581', role: 'part', source: { kind: 'labelmap', values: [25] } },
      { id: 'hip', name: 'Hip', colour: '#4FC3F7', role: 'part', source: { kind: 'labelmap', values: [77] } },
    ] });
    expect(s).not.toBeNull();
    const e = withValues(s!, new Map([['sacrum', [25, 26]]]));
    expect(e.structures.map((x) => x.source)).toEqual([{ kind: 'labelmap', values: [25, 26] }, { kind: 'labelmap', values: [77] }]);
    expect(s!.structures[0].source).toEqual({ kind: 'labelmap', values: [25] });
  });
});

describe('keyboard shortcuts', () => {
  const key = (k: string, mods: Partial<{ ctrlKey: boolean; metaKey: boolean; altKey: boolean }> = {}) =>
    ({ key: k, ctrlKey: false, metaKey: false, altKey: false, ...mods });
  it('matches Ctrl (or ⌘) combinations even while typing, single keys only outside fields', () => {
    expect(matchShortcut(key('o', { ctrlKey: true }), true)?.id).toBe('openProject');
    expect(matchShortcut(key('I', { metaKey: true }), false)?.id).toBe('importStudy');
    expect(matchShortcut(key('j'), false)?.id).toBe('toggleJobs');
    expect(matchShortcut(key('j'), true)).toBeNull();
    expect(matchShortcut(key('?'), false)?.id).toBe('help');
    expect(matchShortcut(key('3'), false)?.id).toBe('maximiseViewport');
    expect(matchShortcut(key('j', { altKey: true }), false)).toBeNull();
    expect(matchShortcut(key('x'), false)).toBeNull();
  });
  it('has no two shortcuts on the same key', () => {
    const seen = shortcuts.flatMap((s) => s.key.map((k) => `${s.ctrl}:${k}`));
    expect(new Set(seen).size).toBe(seen.length);
  });
});

describe('sameOverlays (a Review edit keeps the overlay list, so the 3D view does not restyle)', () => {
  it('is true for overlays built again from new labels of the same schema, false when anything drawn differs', () => {
    const structures = [{ id: 'w', name: 'W', role: 'whole' as const, colour: '#ffffff' }, { id: 'a', name: 'A', role: 'part' as const, colour: '#ff0000' }];
    const a = buildOverlays({ dims: [2, 2, 1], channels: 2, data: new Uint8Array(8) }, structures);
    const b = buildOverlays({ dims: [2, 2, 1], channels: 2, data: new Uint8Array(8).fill(1) }, structures);
    expect(sameOverlays(a, b)).toBe(true);
    expect(sameOverlays(a, b.slice(1))).toBe(false);
    expect(sameOverlays(a, [a[0], { ...a[1], colour: [0, 255, 0] }])).toBe(false);
    expect(sameOverlays(a, [a[0], { ...a[1], outline: true }])).toBe(false);
    const v1 = [{ base: 0, values: new Set([1, 2]), colour: [1, 2, 3] as [number, number, number], outline: false }];
    expect(sameOverlays(v1, [{ ...v1[0], values: new Set([2, 1]) }])).toBe(true);
    expect(sameOverlays(v1, [{ ...v1[0], values: new Set([1]) }])).toBe(false);
    expect(sameOverlays(v1, [{ ...v1[0], values: null }])).toBe(false);
  });
});
