/**
 * The report's 3D view (docs/review.md): a CPU ray caster over the structures' masks, so the same
 * image comes out of `osteon report` (no renderer, no GPU) and the Review panel's report. Each
 * pixel's ray runs through the patient (world LPS millimetres, the grid's direction and spacing,
 * nearest voxel) until it meets a part, which is drawn opaque in its schema colour with Lambert +
 * Blinn-Phong shading from the mask's smoothed gradient; the whole is drawn translucent where its
 * surface lies in front of the parts (as in the 3D viewer, where it is pushed behind them), and
 * opaque when the schema or the masks have no parts.
 *
 * The camera looks at the structures' bounding box from the patient's front, turned `azimuthDeg`
 * about the superior axis towards the patient's left and tilted `elevationDeg` down from above;
 * superior is up. Returns RGBA rows top to bottom on a black background.
 */
import type { Mat3, Vec3 } from '../imaging/volume.ts';
import { IDENTITY3 } from '../imaging/volume.ts';

export interface Render3dInput {
  dims: Vec3;
  spacing: Vec3;
  /** Row-major; column c is index axis c's world (LPS) direction. Default identity. */
  direction?: Mat3;
  structures: ReadonlyArray<{ colour: string; role: 'whole' | 'part' }>;
  masks: readonly Uint8Array[];
}

export interface Render3dOptions {
  size?: number;
  azimuthDeg?: number;
  elevationDeg?: number;
}

export interface Rgba {
  rgba: Uint8Array;
  width: number;
  height: number;
}

function rgbOf(hex: string): Vec3 {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  return m ? [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)] : [255, 0, 255];
}

function invert3(m: number[]): number[] {
  const [a, b, c, d, e, f, g, h, i] = m;
  const A = e * i - f * h, B = -(d * i - f * g), C = d * h - e * g;
  const det = a * A + b * B + c * C;
  if (Math.abs(det) < 1e-12) throw new RangeError('render3d: singular grid matrix');
  return [A / det, -(b * i - c * h) / det, (b * f - c * e) / det, B / det, (a * i - c * g) / det, -(a * f - c * d) / det, C / det, -(a * h - b * g) / det, (a * e - b * d) / det];
}

const norm = (v: Vec3): Vec3 => {
  const l = Math.hypot(v[0], v[1], v[2]) || 1;
  return [v[0] / l, v[1] / l, v[2] / l];
};
const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const dot = (a: Vec3, b: Vec3) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];

/** The renderer's camera basis: view direction (into the patient), screen right and screen up, in LPS. */
export function cameraBasis(azimuthDeg: number, elevationDeg: number): { view: Vec3; right: Vec3; up: Vec3 } {
  const az = (azimuthDeg * Math.PI) / 180, el = (elevationDeg * Math.PI) / 180;
  // Azimuth 0: the camera stands anterior (−y) looking posterior (+y); positive azimuth turns it
  // towards the patient's left (+x). Elevation lifts it superior (+z), so it looks down.
  const view = norm([-Math.sin(az) * Math.cos(el), Math.cos(az) * Math.cos(el), -Math.sin(el)]);
  const right = norm(cross(view, [0, 0, 1]));
  const up = cross(right, view);
  return { view, right, up };
}

export function renderStructures3d(inp: Render3dInput, opts: Render3dOptions = {}): Rgba {
  const size = opts.size ?? 240;
  const [nx, ny, nz] = inp.dims;
  const n = nx * ny * nz;
  const nS = inp.structures.length;
  const rgba = new Uint8Array(size * size * 4);
  for (let p = 3; p < rgba.length; p += 4) rgba[p] = 255;
  // One bit per structure and voxel, and the bounding box of them all.
  const code = new Uint32Array(n);
  let i0 = nx, j0 = ny, k0 = nz, i1 = -1, j1 = -1, k1 = -1;
  const partVoxels = inp.structures.map(() => 0);
  for (let s = 0; s < Math.min(nS, 32); s++) {
    const m = inp.masks[s], bit = 1 << s;
    for (let o = 0; o < n; o++) {
      if (!m[o]) continue;
      code[o] |= bit;
      partVoxels[s]++;
      const i = o % nx, j = ((o - i) / nx) % ny, k = Math.floor(o / (nx * ny));
      if (i < i0) i0 = i;
      if (i > i1) i1 = i;
      if (j < j0) j0 = j;
      if (j > j1) j1 = j;
      if (k < k0) k0 = k;
      if (k > k1) k1 = k;
    }
  }
  if (i1 < 0) return { rgba, width: size, height: size };
  const whole = inp.structures.findIndex((s) => s.role === 'whole');
  let partMask = 0;
  inp.structures.forEach((s, k) => {
    if (s.role === 'part' && k < 32 && partVoxels[k] > 0) partMask |= 1 << k;
  });
  const wholeBit = whole >= 0 && whole < 32 ? 1 << whole : 0;
  const wholeAlpha = partMask ? 0.35 : 1;
  const colours = inp.structures.map((s) => rgbOf(s.colour));

  // index → world (no origin: only directions matter) and back.
  const d = inp.direction ?? IDENTITY3;
  const sp = inp.spacing;
  const M = [d[0] * sp[0], d[1] * sp[1], d[2] * sp[2], d[3] * sp[0], d[4] * sp[1], d[5] * sp[2], d[6] * sp[0], d[7] * sp[1], d[8] * sp[2]];
  const Mi = invert3(M);
  const world = (i: number, j: number, k: number): Vec3 => [M[0] * i + M[1] * j + M[2] * k, M[3] * i + M[4] * j + M[5] * k, M[6] * i + M[7] * j + M[8] * k];
  // Bounding sphere of the structures' box (voxel edges included).
  const corners: Vec3[] = [];
  for (const i of [i0 - 0.5, i1 + 0.5]) for (const j of [j0 - 0.5, j1 + 0.5]) for (const k of [k0 - 0.5, k1 + 0.5]) corners.push(world(i, j, k));
  const centre: Vec3 = [0, 1, 2].map((a) => corners.reduce((s, c) => s + c[a], 0) / 8) as Vec3;
  const { view, right, up } = cameraBasis(opts.azimuthDeg ?? 30, opts.elevationDeg ?? 15);
  // Frame the box's projection tightly, with a small margin.
  let halfW = 0, depth = 0;
  for (const c of corners) {
    const r: Vec3 = [c[0] - centre[0], c[1] - centre[1], c[2] - centre[2]];
    halfW = Math.max(halfW, Math.abs(dot(r, right)), Math.abs(dot(r, up)));
    depth = Math.max(depth, Math.abs(dot(r, view)));
  }
  const pixel = (2 * halfW * 1.06) / size;
  const step = 0.5 * Math.min(sp[0], sp[1], sp[2]);
  const steps = Math.ceil((2 * depth + 2) / step);
  const light = norm([-view[0] + 0.35 * up[0] - 0.25 * right[0], -view[1] + 0.35 * up[1] - 0.25 * right[1], -view[2] + 0.35 * up[2] - 0.25 * right[2]]);
  const half = norm([light[0] - view[0], light[1] - view[1], light[2] - view[2]]);

  const lookup = (x: number, y: number, z: number): number => {
    const i = Math.round(Mi[0] * x + Mi[1] * y + Mi[2] * z), j = Math.round(Mi[3] * x + Mi[4] * y + Mi[5] * z), k = Math.round(Mi[6] * x + Mi[7] * y + Mi[8] * z);
    return i < 0 || j < 0 || k < 0 || i >= nx || j >= ny || k >= nz ? -1 : i + nx * (j + ny * k);
  };
  // Outward normal (world) of structure `bit` at voxel o: minus the gradient of the mask over a
  // 5×5×5 neighbourhood with binomial weights (a smoothed mask: voxel steps do not show as facets).
  const R = 2, W = [1, 4, 6, 4, 1];
  const normalAt = (o: number, bit: number): Vec3 => {
    const i = o % nx, j = ((o - i) / nx) % ny, k = Math.floor(o / (nx * ny));
    let gi = 0, gj = 0, gk = 0;
    for (let dk = -R; dk <= R; dk++) for (let dj = -R; dj <= R; dj++) for (let di = -R; di <= R; di++) {
      const a = i + di, b = j + dj, c = k + dk;
      const v = a < 0 || b < 0 || c < 0 || a >= nx || b >= ny || c >= nz ? 0 : code[a + nx * (b + ny * c)] & bit ? 1 : 0;
      if (!v) continue;
      const w = W[di + R] * W[dj + R] * W[dk + R];
      gi += di * w;
      gj += dj * w;
      gk += dk * w;
    }
    // The gradient in world coordinates is Mi^T · (index gradient); the surface normal points out (−gradient).
    const g: Vec3 = [Mi[0] * gi + Mi[3] * gj + Mi[6] * gk, Mi[1] * gi + Mi[4] * gj + Mi[7] * gk, Mi[2] * gi + Mi[5] * gj + Mi[8] * gk];
    const l = Math.hypot(g[0], g[1], g[2]);
    return l > 1e-9 ? [-g[0] / l, -g[1] / l, -g[2] / l] : [-view[0], -view[1], -view[2]];
  };
  const shade = (o: number, s: number, t: number): Vec3 => {
    const nrm = normalAt(o, 1 << s);
    const diff = Math.max(0, dot(nrm, light)), spec = Math.pow(Math.max(0, dot(nrm, half)), 24);
    // A little depth cue: the far side of the box is 25 % darker.
    const fog = 1 - 0.25 * Math.min(1, Math.max(0, (t * step) / (2 * depth + 2)));
    const c = colours[s];
    const k = (0.22 + 0.78 * diff) * fog;
    return [Math.min(255, c[0] * k + 255 * 0.35 * spec), Math.min(255, c[1] * k + 255 * 0.35 * spec), Math.min(255, c[2] * k + 255 * 0.35 * spec)];
  };
  const firstPart = (bits: number): number => {
    for (let s = 0; s < nS; s++) if (bits & partMask & (1 << s)) return s;
    return -1;
  };

  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
    const u = (x + 0.5 - size / 2) * pixel, v = (size / 2 - y - 0.5) * pixel;
    const ox = centre[0] + u * right[0] + v * up[0] - (depth + 1) * view[0];
    const oy = centre[1] + u * right[1] + v * up[1] - (depth + 1) * view[1];
    const oz = centre[2] + u * right[2] + v * up[2] - (depth + 1) * view[2];
    let wholeHit = -1, wholeT = -1, partHit = -1, partS = -1, partT = -1;
    for (let t = 0; t <= steps; t++) {
      const o = lookup(ox + t * step * view[0], oy + t * step * view[1], oz + t * step * view[2]);
      if (o < 0) continue;
      const bits = code[o];
      if (!bits) continue;
      if (wholeHit < 0 && bits & wholeBit) {
        wholeHit = o;
        wholeT = t;
        if (!partMask) break;
      }
      const s = firstPart(bits);
      if (s >= 0) {
        partHit = o;
        partS = s;
        partT = t;
        break;
      }
    }
    let col: Vec3 = [0, 0, 0];
    if (partHit >= 0) col = shade(partHit, partS, partT);
    // The whole tints what lies behind its surface, unless that surface is the part's own (within ~2 voxels).
    if (wholeHit >= 0 && (partHit < 0 || (partT - wholeT) * step > 2 * Math.max(sp[0], sp[1], sp[2]))) {
      const w = shade(wholeHit, whole, wholeT);
      col = [col[0] + (w[0] - col[0]) * wholeAlpha, col[1] + (w[1] - col[1]) * wholeAlpha, col[2] + (w[2] - col[2]) * wholeAlpha];
    }
    const p = 4 * (x + size * y);
    rgba[p] = col[0];
    rgba[p + 1] = col[1];
    rgba[p + 2] = col[2];
  }
  return { rgba, width: size, height: size };
}
