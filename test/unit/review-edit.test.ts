// Editing operations (app/review/edit.ts, history.ts, session.ts) on tiny grids with overlapping
// labels: brush, threshold brush, fill, interpolation, the hierarchy rules, undo bounds, and
// "does not mutate its input". Expected voxel sets are worked out by hand in the comments.
import { describe, expect, it } from 'vitest';
import type { Vec3 } from '../../app/imaging/volume.ts';
import {
  applyChanges, brushRegion, fillRegion, interpolateRegion, invertStep, planRegionEdit, stepBox, type EditGrid, type HierarchyRules,
} from '../../app/review/edit.ts';
import { EditHistory } from '../../app/review/history.ts';
import { EditSession } from '../../app/review/session.ts';

const at = (g: EditGrid, i: number, j: number, k: number) => i + g.dims[0] * (j + g.dims[1] * k);
const count = (m: ArrayLike<number>) => Array.from(m).reduce((a, b) => a + (b ? 1 : 0), 0);

describe('brushRegion', () => {
  const g: EditGrid = { dims: [9, 9, 3], spacing: [1, 1, 1] };
  it('a radius-1 disc on an axial slice is the centre and its 4 neighbours', () => {
    const r = brushRegion(g, 2, 1, [[4, 4, 0]], 1);
    expect(Array.from(r)).toEqual([at(g, 4, 3, 1), at(g, 3, 4, 1), at(g, 4, 4, 1), at(g, 5, 4, 1), at(g, 4, 5, 1)]);
  });
  it('works on sagittal (axis 0) and coronal (axis 1) slices too', () => {
    expect(Array.from(brushRegion(g, 0, 2, [[0, 4, 1]], 0.4))).toEqual([at(g, 2, 4, 1)]);
    expect(Array.from(brushRegion(g, 1, 6, [[3, 0, 1]], 0.4))).toEqual([at(g, 3, 6, 1)]);
  });
  it('a drag leaves no gaps and anisotropic spacing makes the disc round in mm', () => {
    const line = brushRegion(g, 2, 0, [[0, 4, 0], [8, 4, 0]], 0.4);
    expect(line.length).toBe(9);
    const aniso: EditGrid = { dims: [9, 9, 1], spacing: [1, 2, 1] };
    // 2 mm: ±2 voxels along i (1 mm), ±1 along j (2 mm): 5 + 1 + 1 (j±1 at i=4 only, 2 mm away).
    expect(brushRegion(aniso, 2, 0, [[4, 4, 0]], 2).length).toBe(7);
  });
  it('the threshold brush keeps only voxels in the HU range', () => {
    const ct = new Float32Array(9 * 9 * 3).fill(-100);
    ct[at(g, 4, 4, 1)] = 700;
    ct[at(g, 5, 4, 1)] = 300;
    expect(Array.from(brushRegion(g, 2, 1, [[4, 4, 1]], 1, { ct, min: 200, max: 3000 }))).toEqual([at(g, 4, 4, 1), at(g, 5, 4, 1)]);
  });
  it('refuses a slice outside the grid', () => {
    expect(() => brushRegion(g, 2, 3, [[1, 1, 1]], 1)).toThrow(/outside 0..2/);
  });
});

describe('fillRegion', () => {
  // A 7×7 slice with a ring (square outline) from (1,1) to (5,5).
  const g: EditGrid = { dims: [7, 7, 1], spacing: [1, 1, 1] };
  const ring = new Uint8Array(49);
  for (let t = 1; t <= 5; t++) for (const [i, j] of [[t, 1], [t, 5], [1, t], [5, t]]) ring[at(g, i, j, 0)] = 1;
  it('fills the 3×3 inside of a closed ring and leaves the mask as it was', () => {
    const before = ring.slice();
    const r = fillRegion(ring, g, 2, 0, [3, 3, 0]);
    expect(r.length).toBe(9);
    expect(ring).toEqual(before);
  });
  it('refuses an open region and a seed inside the structure', () => {
    const open = ring.slice();
    open[at(g, 3, 1, 0)] = 0;
    expect(() => fillRegion(open, g, 2, 0, [3, 3, 0])).toThrow(/not closed/);
    expect(() => fillRegion(ring, g, 2, 0, [1, 1, 0])).toThrow(/inside the structure/);
  });
});

describe('interpolateRegion', () => {
  // Discs of radius 2 at k = 0 and radius 6 at k = 4 on a 17×17 grid: slice 2 gets radius ~4
  // (the signed distances blend to |x| − 4.5 at t = ½, see edit.ts), slices 1 and 3 lie between.
  const g: EditGrid = { dims: [17, 17, 5], spacing: [1, 1, 1] };
  const disc = (m: Uint8Array, k: number, r: number) => {
    for (let j = 0; j < 17; j++) for (let i = 0; i < 17; i++) if ((i - 8) ** 2 + (j - 8) ** 2 <= r * r) m[at(g, i, j, k)] = 1;
  };
  it('grows the shape between two key slices and does not touch the input', () => {
    const m = new Uint8Array(17 * 17 * 5);
    disc(m, 0, 2);
    disc(m, 4, 6);
    const before = m.slice();
    const ch = interpolateRegion(m, g, 2, [0, 4], 0);
    expect(m).toEqual(before);
    const out = applyChanges([m], ch)[0];
    const area = (k: number) => count(out.subarray(k * 289, (k + 1) * 289));
    const ref = (r: number) => { const x = new Uint8Array(17 * 17 * 5); disc(x, 0, r); return count(x); };
    expect(area(2)).toBeGreaterThanOrEqual(ref(4));
    expect(area(2)).toBeLessThanOrEqual(ref(4.5));
    expect(area(1)).toBeGreaterThan(area(0));
    expect(area(3)).toBeGreaterThan(area(2));
    expect(area(3)).toBeLessThan(area(4));
    // Key slices are unchanged.
    expect(area(0)).toBe(ref(2));
    expect(area(4)).toBe(ref(6));
  });
  it('copies an identical shape through, and needs two key slices', () => {
    const m = new Uint8Array(17 * 17 * 5);
    disc(m, 0, 3);
    disc(m, 4, 3);
    const out = applyChanges([m], interpolateRegion(m, g, 2, [0, 4], 0))[0];
    for (let k = 1; k < 4; k++) expect(Array.from(out.subarray(k * 289, (k + 1) * 289))).toEqual(Array.from(m.subarray(0, 289)));
    expect(() => interpolateRegion(m, g, 2, [0], 0)).toThrow(/two edited slices/);
  });
});

describe('interpolateRegion along each index axis (coronal and sagittal views as well as axial)', () => {
  // The same known shapes as above, put on slices 0 and 4 along axis 0, 1 or 2 of a grid whose
  // other two axes are 17 and 15 long (so a mix-up of axes shows as a wrong size or a throw).
  // Spacing differs per axis; the in-plane spacing is 1 mm on both in-plane axes of each case, so
  // the expected areas are those of the axial test.
  const cases: Array<{ axis: 0 | 1 | 2; dims: Vec3; spacing: Vec3 }> = [
    { axis: 0, dims: [5, 17, 15], spacing: [2.5, 1, 1] },
    { axis: 1, dims: [17, 5, 15], spacing: [1, 3, 1] },
    { axis: 2, dims: [17, 15, 5], spacing: [1, 1, 2] },
  ];
  for (const { axis, dims, spacing } of cases) {
    it(`axis ${axis}: discs of radius 2 and 6 blend to radius ~4 midway; keys untouched; only that axis's slices change`, () => {
      const g: EditGrid = { dims, spacing };
      const n = dims[0] * dims[1] * dims[2];
      const [pa, pb] = axis === 0 ? [1, 2] : axis === 1 ? [0, 2] : [0, 1];
      const idx = (s: number, a: number, b: number) => { const v: Vec3 = [0, 0, 0]; v[axis] = s; v[pa] = a; v[pb] = b; return at(g, v[0], v[1], v[2]); };
      const disc = (m: Uint8Array, s: number, r: number) => {
        for (let b = 0; b < dims[pb]; b++) for (let a = 0; a < dims[pa]; a++) if ((a - 8) ** 2 + (b - 7) ** 2 <= r * r) m[idx(s, a, b)] = 1;
      };
      const area = (m: Uint8Array, s: number) => { let c = 0; for (let b = 0; b < dims[pb]; b++) for (let a = 0; a < dims[pa]; a++) c += m[idx(s, a, b)]; return c; };
      const ref = (r: number) => { const x = new Uint8Array(n); disc(x, 0, r); return area(x, 0); };
      const m = new Uint8Array(n);
      disc(m, 0, 2);
      disc(m, 4, 6);
      const out = applyChanges([m], interpolateRegion(m, g, axis, [0, 4], 0))[0];
      expect(area(out, 2)).toBeGreaterThanOrEqual(ref(4));
      expect(area(out, 2)).toBeLessThanOrEqual(ref(4.5));
      expect(area(out, 1)).toBeGreaterThan(area(out, 0));
      expect(area(out, 3)).toBeGreaterThan(area(out, 2));
      expect(area(out, 3)).toBeLessThan(area(out, 4));
      expect(area(out, 0)).toBe(ref(2));
      expect(area(out, 4)).toBe(ref(6));
      // Everything painted lies on slices 1..3 along this axis, centred where the discs are.
      let total = 0;
      for (let s = 0; s < 5; s++) total += area(out, s);
      expect(count(out)).toBe(total);
      expect(out[idx(2, 8, 7)]).toBe(1);
      // A square in one key slice and the same square in the other: copied through unchanged.
      const sq = new Uint8Array(n);
      for (const s of [0, 4]) for (let b = 3; b < 10; b++) for (let a = 4; a < 12; a++) sq[idx(s, a, b)] = 1;
      const sqOut = applyChanges([sq], interpolateRegion(sq, g, axis, [0, 4], 0))[0];
      for (let s = 1; s < 4; s++) expect(area(sqOut, s), `slice ${s}`).toBe(7 * 8);
    });
  }

  it('a session interpolates along the axis of the view the strokes were drawn on', () => {
    const dims: Vec3 = [9, 7, 6];
    const n = dims[0] * dims[1] * dims[2];
    const s = new EditSession({
      caseId: 'c', base: 1, grid: { dims, spacing: [1, 1, 1] }, ct: new Float32Array(n),
      structures: [{ id: 'a', name: 'A', role: 'part', colour: '#ff0000' }], masks: [new Uint8Array(n)],
    });
    // Sagittal strokes (axis 0) on slices 1 and 6: interpolation along axis 2 has no keys.
    for (const i of [1, 6]) s.apply({ kind: 'brush', structure: 'a', axis: 0, slice: i, points: [[i, 3, 3]], radiusMm: 1.5 });
    expect(() => s.apply({ kind: 'interpolate', structure: 'a', axis: 2 })).toThrow(/two edited slices/);
    const before = count(s.masks[0]);
    s.apply({ kind: 'interpolate', structure: 'a', axis: 0 });
    const perSlice = (i: number) => { let c = 0; for (let k = 0; k < 6; k++) for (let j = 0; j < 7; j++) c += s.masks[0][at({ dims, spacing: [1, 1, 1] }, i, j, k)]; return c; };
    for (let i = 2; i <= 5; i++) expect(perSlice(i)).toBe(perSlice(1));
    expect(count(s.masks[0])).toBe(before + 4 * perSlice(1));
    // Coronal strokes (axis 1) on slices 0 and 2 fill slice 1.
    s.apply({ kind: 'brush', structure: 'a', axis: 1, slice: 0, points: [[4, 0, 1]], radiusMm: 0.5 });
    s.apply({ kind: 'brush', structure: 'a', axis: 1, slice: 2, points: [[4, 2, 1]], radiusMm: 0.5 });
    s.apply({ kind: 'interpolate', structure: 'a', axis: 1 });
    expect(s.masks[0][at({ dims, spacing: [1, 1, 1] }, 4, 1, 1)]).toBe(1);
  });
});

describe('hierarchy rules (overlapping labels: whole = channel 0, parts 1 and 2 overlap)', () => {
  const n = 8;
  // whole {0..5}, part A {0,1,2,3}, part B {2,3,4}: A and B overlap on 2 and 3.
  const masks = () => [Uint8Array.from([1, 1, 1, 1, 1, 1, 0, 0]), Uint8Array.from([1, 1, 1, 1, 0, 0, 0, 0]), Uint8Array.from([0, 0, 1, 1, 1, 0, 0, 0])];
  const rules = (paintWhole: boolean, eraseParts = true): HierarchyRules => ({ whole: 0, parts: [1, 2], paintWhole, eraseParts });
  const region = Uint32Array.from([3, 4, 6]);
  it('painting a part adds to the whole when asked, never removes the other part', () => {
    const m = masks();
    const step = planRegionEdit(m, 1, region, 1, rules(true));
    const out = applyChanges(m, step);
    expect(Array.from(out[1])).toEqual([1, 1, 1, 1, 1, 0, 1, 0]);
    expect(Array.from(out[0])).toEqual([1, 1, 1, 1, 1, 1, 1, 0]);
    expect(Array.from(out[2])).toEqual(Array.from(m[2]));
    expect(m).toEqual(masks());
  });
  it('painting a part without updating the whole leaves the whole', () => {
    const out = applyChanges(masks(), planRegionEdit(masks(), 1, region, 1, rules(false)));
    expect(Array.from(out[0])).toEqual(Array.from(masks()[0]));
    expect(Array.from(out[1])).toEqual([1, 1, 1, 1, 1, 0, 1, 0]);
  });
  it('erasing the whole clears the parts under it; erasing a part keeps the whole and the overlap of the other part', () => {
    const out = applyChanges(masks(), planRegionEdit(masks(), 0, region, 0, rules(true)));
    expect(Array.from(out[0])).toEqual([1, 1, 1, 0, 0, 1, 0, 0]);
    expect(Array.from(out[1])).toEqual([1, 1, 1, 0, 0, 0, 0, 0]);
    expect(Array.from(out[2])).toEqual([0, 0, 1, 0, 0, 0, 0, 0]);
    const kept = applyChanges(masks(), planRegionEdit(masks(), 0, region, 0, rules(true, false)));
    expect(Array.from(kept[1])).toEqual(Array.from(masks()[1]));
    const part = applyChanges(masks(), planRegionEdit(masks(), 1, Uint32Array.from([2, 3]), 0, rules(true)));
    expect(Array.from(part[0])).toEqual(Array.from(masks()[0]));
    expect(Array.from(part[2])).toEqual(Array.from(masks()[2]));
    expect(Array.from(part[1])).toEqual([1, 1, 0, 0, 0, 0, 0, 0]);
  });
  it('lists only voxels that change, and the inverse step restores the masks', () => {
    const m = masks();
    const step = planRegionEdit(m, 1, region, 1, rules(true));
    expect(step.map((c) => [c.channel, Array.from(c.offsets)])).toEqual([[1, [4, 6]], [0, [6]]]);
    expect(applyChanges(applyChanges(m, step), invertStep(step))).toEqual(masks());
    expect(stepBox(step, [n, 1, 1])).toEqual([4, 0, 0, 7, 1, 1]);
  });
});

describe('EditHistory', () => {
  it('keeps at most `limit` steps and a new step clears redo', () => {
    const h = new EditHistory(50);
    for (let s = 0; s < 70; s++) h.push([{ channel: 0, offsets: Uint32Array.from([s]), value: 1 }]);
    expect(h.undoCount).toBe(50);
    let undone = 0;
    while (h.undo()) undone++;
    expect(undone).toBe(50);
    expect(h.redoCount).toBe(50);
    expect(h.redo()?.[0].offsets[0]).toBe(20);
    h.push([{ channel: 0, offsets: Uint32Array.from([99]), value: 1 }]);
    expect(h.redoCount).toBe(0);
    h.push([]);
    expect(h.undoCount).toBe(2);
  });
});

describe('EditSession', () => {
  const dims: Vec3 = [6, 6, 4];
  const n = 6 * 6 * 4;
  const make = (values: boolean) => new EditSession({
    caseId: 'c', base: 1, grid: { dims, spacing: [1, 1, 1] }, ct: new Float32Array(n).fill(500),
    structures: [
      { id: 'whole', name: 'Whole', role: 'whole', colour: '#ffffff', ...(values ? { values: [1, 2] } : {}) },
      { id: 'a', name: 'A', role: 'part', colour: '#ff0000', ...(values ? { values: [1] } : {}) },
      { id: 'b', name: 'B', role: 'part', colour: '#00ff00', ...(values ? { values: [3] } : {}) },
    ],
    masks: [new Uint8Array(n), new Uint8Array(n), new Uint8Array(n)],
  });
  it('paints the whole with a part only when the schema\'s whole contains every part, unless told', () => {
    const s = make(true);
    expect(s.paintWholeDefault).toBe(false);
    s.apply({ kind: 'brush', structure: 'a', axis: 2, slice: 1, points: [[2, 2, 1]], radiusMm: 0.5 });
    expect(count(s.masks[0])).toBe(0);
    s.apply({ kind: 'brush', structure: 'a', axis: 2, slice: 2, points: [[2, 2, 2]], radiusMm: 0.5 }, { paintWhole: true });
    expect(count(s.masks[0])).toBe(1);
    expect(make(false).paintWholeDefault).toBe(true);
  });
  it('undo and redo step through 60 strokes (≥ 50 kept) and patches carry the changed box', () => {
    const s = make(false);
    for (let t = 0; t < 60; t++) s.apply({ kind: 'brush', structure: 'a', axis: 2, slice: Math.floor(t / 36), points: [[t % 6, Math.floor(t / 6) % 6, 0]], radiusMm: 0.5 }, { paintWhole: false });
    expect(s.history.undoCount).toBe(60);
    const p = s.patch(s.undo());
    expect(p.changedVoxels).toBe(1);
    expect(p.box).toEqual([5, 3, 1, 6, 4, 2]);
    expect(Buffer.from(p.channels[0].data, 'base64')[0]).toBe(0);
    s.redo();
    expect(count(s.masks[1])).toBe(60);
    while (s.history.undoCount) s.undo();
    expect(count(s.masks[1])).toBe(0);
  });
  it('interpolates between the slices edited in the session', () => {
    const s = make(false);
    for (const k of [0, 3]) s.apply({ kind: 'brush', structure: 'b', axis: 2, slice: k, points: [[3, 3, k]], radiusMm: 1 });
    const step = s.apply({ kind: 'interpolate', structure: 'b', axis: 2 });
    expect(count(s.masks[2])).toBe(20);
    // The whole gets the new part voxels too (default for a mask schema).
    expect(step.some((c) => c.channel === 0)).toBe(true);
    expect(count(s.masks[0])).toBe(20);
  });
});
