/**
 * Synthetic CT-like cases with a known "whole + parts" answer, for tests, benchmarks and demos.
 *
 * Each case: air (−1000 HU) around an elliptic body of soft tissue (~40 HU) under a thin fat
 * layer (−100 HU); inside it a horseshoe-shaped bone (a tube of elliptic cross-section bent along
 * a 250° arc that opens anteriorly, a little like a pelvic ring), with a cortical shell
 * (~1200 HU) around trabecular bone (~300 HU). Where two parts meet, a thin joint cleft of
 * cartilage density (~100 HU, about one voxel wide) crosses the whole bone, cortex included,
 * as the sacroiliac joints cross a pelvis: the parts touch (their labels are adjacent) and the
 * image, as in a real CT, gives a faint cue of where one ends. The image is blurred by one [1,4,1]/6 pass per
 * axis (partial volume) and gets Gaussian noise. Pose (three rotations, a translation) and size
 * vary per case.
 *
 * Labels (a uint8 label map): the bone is split by angle into three touching parts, 1 = left
 * arm (+x in the bone's frame, patient left in LPS), 2 = centre (posterior), 3 = right arm;
 * 4 = a one-voxel rim on the bone's superior surface that belongs to the whole but to no part
 * (as TotalSegmentator's S1 belongs to the pelvis but to none of sacrum/hips). So the whole is
 * labels 1..4 and differs from the union of the parts by the rim: the "joint head" case.
 *
 * Deterministic: the same seed, size and spacing give the same arrays (mulberry32, IEEE math).
 */
import type { Geometry, Volume } from '../imaging/volume.ts';
import { IDENTITY3 } from '../imaging/volume.ts';
import type { Rng } from './prng.ts';
import { mulberry32 } from './prng.ts';

export const LABEL = { left: 1, centre: 2, right: 3, rim: 4 } as const;

export const HU = { air: -1000, fat: -100, soft: 40, cartilage: 100, trabecular: 300, cortical: 1200 } as const;

export interface PhantomOptions {
  dims: [number, number, number];
  /** Isotropic voxel size in mm. */
  spacing: number;
  /** Standard deviation of the Gaussian noise, HU. */
  noiseHu: number;
}

export const DEFAULT_PHANTOM: PhantomOptions = { dims: [64, 64, 48], spacing: 2, noiseHu: 25 };

export interface PhantomPose {
  yawDeg: number;
  pitchDeg: number;
  rollDeg: number;
  translationMm: [number, number, number];
  /** Size factor of the bone. */
  scale: number;
  bodyAxesMm: [number, number];
}

export interface PhantomCase {
  ct: Volume;
  labels: Volume;
  pose: PhantomPose;
  /** Voxels per label value 1..4. */
  counts: { left: number; centre: number; right: number; rim: number };
}

const DEG = Math.PI / 180;
/** Half-opening of the arc and half-width of the centre part, degrees from posterior. */
const ARC_HALF = 125, CENTRE_HALF = 35;

function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

function drawPose(rng: Rng, unit: number): PhantomPose {
  return {
    yawDeg: round4(rng.uniform(-15, 15)),
    pitchDeg: round4(rng.uniform(-10, 10)),
    rollDeg: round4(rng.uniform(-8, 8)),
    translationMm: [round4(rng.uniform(-5, 5) * unit), round4(rng.uniform(-5, 5) * unit), round4(rng.uniform(-6, 6) * unit)],
    scale: round4(rng.uniform(0.85, 1.15)),
    bodyAxesMm: [round4(rng.uniform(54, 60) * unit), round4(rng.uniform(46, 52) * unit)],
  };
}

/** Row-major rotation R = Rz(yaw) · Rx(pitch) · Ry(roll); bone → world. */
function rotation(p: PhantomPose): number[] {
  const [cz, sz] = [Math.cos(p.yawDeg * DEG), Math.sin(p.yawDeg * DEG)];
  const [cx, sx] = [Math.cos(p.pitchDeg * DEG), Math.sin(p.pitchDeg * DEG)];
  const [cy, sy] = [Math.cos(p.rollDeg * DEG), Math.sin(p.rollDeg * DEG)];
  const mul = (a: number[], b: number[]) => {
    const o = new Array<number>(9).fill(0);
    for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) for (let k = 0; k < 3; k++) o[r * 3 + c] += a[r * 3 + k] * b[k * 3 + c];
    return o;
  };
  const Rz = [cz, -sz, 0, sz, cz, 0, 0, 0, 1];
  const Rx = [1, 0, 0, 0, cx, -sx, 0, sx, cx];
  const Ry = [cy, 0, sy, 0, 1, 0, -sy, 0, cy];
  return mul(mul(Rz, Rx), Ry);
}

interface BonePoint {
  /** Label 1..4, or 0 outside the bone. */
  label: number;
  /** Approximate depth below the bone surface, mm (≤ 0 outside). */
  depth: number;
  /** Arc distance to the nearest interface between two parts, mm. */
  jointMm: number;
}

/** Classifies a point given in the bone's frame (mm). */
function bonePoint(x: number, y: number, z: number, R: number, ra: number, rz: number, rimMm: number): BonePoint {
  let delta = Math.atan2(y, x) / DEG - 90;
  if (delta <= -180) delta += 360;
  const dc = Math.max(-ARC_HALF, Math.min(ARC_HALF, delta)) * DEG + Math.PI / 2;
  const er = [Math.cos(dc), Math.sin(dc)];
  const dx = x - R * er[0], dy = y - R * er[1];
  const dr = dx * er[0] + dy * er[1];
  const dt = -dx * er[1] + dy * er[0];
  const q = Math.sqrt((dr / ra) ** 2 + (dt / ra) ** 2 + (z / rz) ** 2);
  if (q > 1) return { label: 0, depth: 0, jointMm: Infinity };
  const len = Math.sqrt(dr * dr + dt * dt + z * z);
  const depth = q === 0 ? Infinity : len / q - len;
  // Outward normal of the ellipsoidal tube ∝ (dr/ra², dt/ra², z/rz²): superior where its z share is large.
  const nz = z / (rz * rz), nn = Math.hypot(dr / (ra * ra), dt / (ra * ra), nz);
  const jointMm = R * Math.min(Math.abs(delta + CENTRE_HALF), Math.abs(delta - CENTRE_HALF)) * DEG;
  if (depth < rimMm && nz > 0.5 * nn) return { label: LABEL.rim, depth, jointMm };
  const label = delta < -CENTRE_HALF ? LABEL.left : delta > CENTRE_HALF ? LABEL.right : LABEL.centre;
  return { label, depth, jointMm };
}

/** One [1,4,1]/6 pass along each axis (edges clamped): a cheap partial-volume blur. */
function blur3(src: Float32Array, dims: [number, number, number]): Float32Array {
  const [nx, ny, nz] = dims;
  let a: Float32Array = src, b: Float32Array = new Float32Array(src.length);
  const strides = [1, nx, nx * ny], sizes = [nx, ny, nz];
  for (let ax = 0; ax < 3; ax++) {
    const st = strides[ax], n = sizes[ax];
    for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) {
      const v = i + nx * (j + ny * k);
      const pos = ax === 0 ? i : ax === 1 ? j : k;
      const lo = pos > 0 ? a[v - st] : a[v];
      const hi = pos < n - 1 ? a[v + st] : a[v];
      b[v] = (lo + 4 * a[v] + hi) / 6;
    }
    [a, b] = [b, a];
  }
  return a;
}

export function phantomGeometry(o: PhantomOptions): Geometry {
  const s = o.spacing;
  return {
    dims: [...o.dims],
    spacing: [s, s, s],
    origin: [-((o.dims[0] - 1) * s) / 2, -((o.dims[1] - 1) * s) / 2, -((o.dims[2] - 1) * s) / 2],
    direction: [...IDENTITY3],
  };
}

/** Generates one case from its own seed (see caseSeed in prng.ts for sets of cases). */
export function generatePhantom(seed: number, o: PhantomOptions = DEFAULT_PHANTOM): PhantomCase {
  const rng = mulberry32(seed);
  const g = phantomGeometry(o);
  const [nx, ny, nz] = o.dims;
  const s = o.spacing;
  // Anatomy is sized for a 128 mm field of view and scales with the actual one.
  const unit = Math.min(nx, ny) * s / 128;
  const pose = drawPose(rng, unit);
  const Rm = rotation(pose);
  const R = 26 * unit * pose.scale, ra = 7 * unit * pose.scale, rz = 12 * unit * pose.scale;
  const rimMm = s, cortexMm = Math.max(3 * unit, s), fatMm = 6 * unit, jointHalfMm = 0.6 * s;
  const [bx, by] = pose.bodyAxesMm;
  const t = pose.translationMm;
  const n = nx * ny * nz;
  const hu = new Float32Array(n);
  const lab = new Uint8Array(n);
  const counts = { left: 0, centre: 0, right: 0, rim: 0 };
  for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) {
    const v = i + nx * (j + ny * k);
    const wx = g.origin[0] + i * s, wy = g.origin[1] + j * s, wz = g.origin[2] + k * s;
    const qb = Math.hypot(wx / bx, wy / by);
    if (qb > 1) { hu[v] = HU.air; continue; }
    hu[v] = (1 - qb) * Math.min(bx, by) < fatMm ? HU.fat : HU.soft;
    // World → bone frame: b = Rᵀ (w − t).
    const px = wx - t[0], py = wy - t[1], pz = wz - t[2];
    const x = Rm[0] * px + Rm[3] * py + Rm[6] * pz;
    const y = Rm[1] * px + Rm[4] * py + Rm[7] * pz;
    const z = Rm[2] * px + Rm[5] * py + Rm[8] * pz;
    const b = bonePoint(x, y, z, R, ra, rz, rimMm);
    if (!b.label) continue;
    lab[v] = b.label;
    hu[v] = b.jointMm < jointHalfMm ? HU.cartilage : b.depth < cortexMm ? HU.cortical : HU.trabecular;
    if (b.label === LABEL.left) counts.left++;
    else if (b.label === LABEL.centre) counts.centre++;
    else if (b.label === LABEL.right) counts.right++;
    else counts.rim++;
  }
  const smooth = blur3(hu, o.dims);
  const ct = new Int16Array(n);
  for (let v = 0; v < n; v++) ct[v] = Math.max(-1024, Math.min(3071, Math.round(smooth[v] + o.noiseHu * rng.normal())));
  return {
    ct: { ...g, data: ct, channels: 1 },
    labels: { ...phantomGeometry(o), data: lab, channels: 1 },
    pose,
    counts,
  };
}
