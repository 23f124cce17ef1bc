// The report's 3D view (app/review/render3d.ts) and its key slices (app/review/report.ts) on known
// shapes: balls placed on the patient's left, right and above must appear where a radiologist
// expects them (anterior view: the patient's right on the image's left, superior up), whatever
// the grid's direction; a translucent whole in front of a part tints it.
import { describe, expect, it } from 'vitest';
import type { Mat3, Vec3 } from '../../app/imaging/volume.ts';
import { renderStructures3d } from '../../app/review/render3d.ts';
import { keySlice } from '../../app/review/report.ts';

const N = 24;
const dims: Vec3 = [N, N, N];
const spacing: Vec3 = [2, 2, 2];

/** A ball of radius r voxels at world offset (x, y, z) voxels from the centre (LPS), on a grid with a diagonal direction. */
function ball(dir: Mat3, at: Vec3, r: number): Uint8Array {
  const m = new Uint8Array(N * N * N);
  for (let k = 0; k < N; k++) for (let j = 0; j < N; j++) for (let i = 0; i < N; i++) {
    // World offset of voxel (i, j, k) from the grid centre, in voxels: direction · (index − centre).
    const w = [dir[0] * (i - 11.5), dir[4] * (j - 11.5), dir[8] * (k - 11.5)];
    if ((w[0] - at[0]) ** 2 + (w[1] - at[1]) ** 2 + (w[2] - at[2]) ** 2 <= r * r) m[i + N * (j + N * k)] = 1;
  }
  return m;
}

/** Pixels (x, y) of the image closest to colour c (a shaded surface keeps the hue; count the ones whose dominant channel is c's). */
function where(img: { rgba: Uint8Array; width: number }, channel: 0 | 1 | 2): { n: number; x: number; y: number } {
  let n = 0, sx = 0, sy = 0;
  for (let p = 0; p < img.rgba.length / 4; p++) {
    const c = [img.rgba[4 * p], img.rgba[4 * p + 1], img.rgba[4 * p + 2]];
    if (c[channel] > 40 && c[channel] > 2 * c[(channel + 1) % 3] && c[channel] > 2 * c[(channel + 2) % 3]) {
      n++;
      sx += p % img.width;
      sy += Math.floor(p / img.width);
    }
  }
  return { n, x: sx / Math.max(1, n), y: sy / Math.max(1, n) };
}

const structures = [
  { colour: '#ff0000', role: 'part' as const },
  { colour: '#00ff00', role: 'part' as const },
  { colour: '#0000ff', role: 'part' as const },
];

describe('renderStructures3d', () => {
  for (const [name, dir] of [['identity (LPS)', [1, 0, 0, 0, 1, 0, 0, 0, 1]], ['NIfTI RAS-stored (−1, −1, 1)', [-1, 0, 0, 0, -1, 0, 0, 0, 1]]] as Array<[string, Mat3]>) {
    it(`anterior view, ${name}: the patient's left on the image right, superior up`, () => {
      // Red on the patient's left (+x), green on the right (−x), blue above (+z).
      const masks = [ball(dir, [6, 0, -3], 3.5), ball(dir, [-6, 0, -3], 3.5), ball(dir, [0, 0, 7], 3.5)];
      const img = renderStructures3d({ dims, spacing, direction: dir, structures, masks }, { size: 96, azimuthDeg: 0, elevationDeg: 0 });
      expect(img.width).toBe(96);
      const red = where(img, 0), green = where(img, 1), blue = where(img, 2);
      for (const c of [red, green, blue]) expect(c.n).toBeGreaterThan(100);
      expect(red.x).toBeGreaterThan(60);
      expect(green.x).toBeLessThan(36);
      expect(blue.y).toBeLessThan(red.y - 20);
      expect(Math.abs(blue.x - 48)).toBeLessThan(6);
      // The balls are shaded: the centre of a ball (facing the light) is brighter than its rim.
      let lo = 255, hi = 0;
      for (let p = 0; p < img.rgba.length / 4; p++) if (img.rgba[4 * p] > 0 && img.rgba[4 * p + 1] === 0) { lo = Math.min(lo, img.rgba[4 * p]); hi = Math.max(hi, img.rgba[4 * p]); }
      expect(hi - lo).toBeGreaterThan(80);
    });
  }

  it('turned 90° to the patient\'s left, the left ball hides the right one', () => {
    const dir: Mat3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];
    const masks = [ball(dir, [6, 0, 0], 3.5), ball(dir, [-6, 0, 0], 3.5), new Uint8Array(N * N * N)];
    const img = renderStructures3d({ dims, spacing, direction: dir, structures, masks }, { size: 64, azimuthDeg: 90, elevationDeg: 0 });
    expect(where(img, 0).n).toBeGreaterThan(100);
    expect(where(img, 1).n).toBe(0);
  });

  it('draws the whole translucent in front of a part, opaque without parts; empty masks give a black image', () => {
    const dir: Mat3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];
    const whole = ball(dir, [0, 0, 0], 10), part = ball(dir, [0, 0, 0], 4);
    const two = [{ colour: '#0000ff', role: 'whole' as const }, { colour: '#ff0000', role: 'part' as const }];
    const img = renderStructures3d({ dims, spacing, structures: two, masks: [whole, part] }, { size: 64, azimuthDeg: 0, elevationDeg: 0 });
    const c = 4 * (32 + 64 * 32);
    // Centre: the red part seen through the blue whole (both present).
    expect(img.rgba[c]).toBeGreaterThan(60);
    expect(img.rgba[c + 2]).toBeGreaterThan(30);
    const alone = renderStructures3d({ dims, spacing, structures: two, masks: [whole, new Uint8Array(N * N * N)] }, { size: 64, azimuthDeg: 0, elevationDeg: 0 });
    // Blue only (the specular highlight adds a little white).
    expect(alone.rgba[c + 2]).toBeGreaterThan(150);
    expect(alone.rgba[c]).toBeLessThan(alone.rgba[c + 2] / 2);
    expect(alone.rgba[c]).toBe(alone.rgba[c + 1]);
    const none = renderStructures3d({ dims, spacing, structures: two, masks: [new Uint8Array(N * N * N), new Uint8Array(N * N * N)] }, { size: 16 });
    for (let p = 0; p < none.rgba.length; p += 4) expect(none.rgba[p] + none.rgba[p + 1] + none.rgba[p + 2]).toBe(0);
  });
});

describe('keySlice orientation', () => {
  it('shows the patient\'s right on the left of the axial and coronal images and anterior on the left of the sagittal, for either direction', () => {
    for (const dir of [[1, 0, 0, 0, 1, 0, 0, 0, 1], [-1, 0, 0, 0, -1, 0, 0, 0, 1]] as Mat3[]) {
      // A red ball on the patient's left and anterior (world −y).
      const masks = [ball(dir, [6, -6, 0], 3)];
      const ct = new Float32Array(N * N * N).fill(-1000);
      const inp = { ct, dims, spacing, direction: dir, structures: [{ id: 'a', name: 'A', colour: '#ff0000', role: 'part' as const }], masks };
      const at: Vec3 = [dir[0] > 0 ? 18 : 5, dir[4] > 0 ? 5 : 18, 12];
      const ax = keySlice(inp, 'axial', at), co = keySlice(inp, 'coronal', at), sa = keySlice(inp, 'sagittal', at);
      const red = (img: { rgba: Uint8Array; width: number }) => where(img, 0);
      expect(red(ax).n).toBeGreaterThan(10);
      expect(red(ax).x).toBeGreaterThan(ax.width / 2); // left on the right
      expect(red(ax).y).toBeLessThan(ax.height / 2); // anterior up
      expect(red(co).x).toBeGreaterThan(co.width / 2);
      expect(red(sa).x).toBeLessThan(sa.width / 2); // anterior on the left
    }
  });
});
