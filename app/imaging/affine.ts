/**
 * Affine ↔ Geometry conversion shared by the format readers: splits a 3×4 index→world matrix
 * into spacing (column norms), a unit direction matrix and an origin, and checks that the
 * direction is orthonormal (Osteon's Geometry cannot represent shear).
 */
import { badInput } from '../util/errors.ts';
import type { Mat3, Vec3 } from './volume.ts';

/** Row-major 3×4: [r00 r01 r02 t0; r10 r11 r12 t1; r20 r21 r22 t2]. */
export type Affine34 = number[];

export interface SplitAffine {
  spacing: Vec3;
  origin: Vec3;
  direction: Mat3;
}

/** Columns whose pairwise |cos| is below this are orthogonal up to float32 storage noise. */
const ORTHO_NOISE = 1e-4;
/** Up to this |cos| (≈0.6°) the shear is treated as rounding and removed with a warning. */
const ORTHO_REPAIR = 1e-2;

/** RAS → LPS (and back): negate the first two world rows. */
export function flipRasLps(a: Affine34): Affine34 {
  return a.map((v, i) => (i < 8 ? -v : v));
}

/**
 * Splits an LPS affine. Spacing = column norms (kept even when the columns are not quite
 * orthogonal); direction = the nearest orthonormal matrix (polar factor) of the normalised
 * columns. Shear beyond ORTHO_REPAIR, or a zero column, is refused naming `field`.
 */
export function splitAffine(a: Affine34, file: string, field: string, warnings: string[]): SplitAffine {
  const cols: Vec3[] = [0, 1, 2].map((c) => [a[c], a[4 + c], a[8 + c]] as Vec3);
  const spacing = cols.map((c) => Math.hypot(c[0], c[1], c[2])) as Vec3;
  for (let c = 0; c < 3; c++) {
    if (!Number.isFinite(spacing[c]) || spacing[c] === 0) {
      throw badInput(file, field, `index axis ${c} has ${Number.isFinite(spacing[c]) ? 'zero length' : 'non-finite entries'}; the affine is degenerate`);
    }
  }
  const unit = cols.map((c, i) => c.map((v) => v / spacing[i]) as Vec3);
  let worst = 0;
  for (const [i, j] of [[0, 1], [0, 2], [1, 2]]) worst = Math.max(worst, Math.abs(dot(unit[i], unit[j])));
  if (worst > ORTHO_REPAIR) {
    const deg = (90 - (Math.acos(Math.min(1, worst)) * 180) / Math.PI).toFixed(2);
    throw badInput(file, field, `the axes are sheared by ${deg}° (non-orthogonal affine); Osteon needs an orthonormal direction. Resample the image to an orthogonal grid first`, 'unsupported');
  }
  let d: Mat3 = [unit[0][0], unit[1][0], unit[2][0], unit[0][1], unit[1][1], unit[2][1], unit[0][2], unit[1][2], unit[2][2]];
  if (worst > ORTHO_NOISE) {
    warnings.push(`${field}: axes are not quite orthogonal (max |cos| ${worst.toExponential(2)}); direction orthonormalised, spacing kept as the column lengths`);
  }
  d = polarOrthonormal(d);
  return { spacing, origin: [a[3], a[7], a[11]], direction: d };
}

/** Nearest orthonormal matrix with the same handedness: Newton iteration X ← (X + X⁻ᵀ)/2. */
export function polarOrthonormal(m: Mat3): Mat3 {
  let x = m.slice() as Mat3;
  for (let it = 0; it < 30; it++) {
    const inv = inverse3(x);
    const next = x.map((v, i) => 0.5 * (v + inv[(i % 3) * 3 + Math.floor(i / 3)])) as Mat3;
    let diff = 0;
    for (let i = 0; i < 9; i++) diff = Math.max(diff, Math.abs(next[i] - x[i]));
    x = next;
    if (diff < 1e-15) break;
  }
  return x;
}

export function det3(m: Mat3): number {
  return m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
}

export function inverse3(m: Mat3): Mat3 {
  const d = det3(m);
  return [
    (m[4] * m[8] - m[5] * m[7]) / d, (m[2] * m[7] - m[1] * m[8]) / d, (m[1] * m[5] - m[2] * m[4]) / d,
    (m[5] * m[6] - m[3] * m[8]) / d, (m[0] * m[8] - m[2] * m[6]) / d, (m[2] * m[3] - m[0] * m[5]) / d,
    (m[3] * m[7] - m[4] * m[6]) / d, (m[1] * m[6] - m[0] * m[7]) / d, (m[0] * m[4] - m[1] * m[3]) / d,
  ];
}

function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/** LPS 3×4 affine of a geometry (direction · diag(spacing) | origin). */
export function affineOf(g: SplitAffine): Affine34 {
  const d = g.direction, s = g.spacing, o = g.origin;
  return [
    d[0] * s[0], d[1] * s[1], d[2] * s[2], o[0],
    d[3] * s[0], d[4] * s[1], d[5] * s[2], o[1],
    d[6] * s[0], d[7] * s[1], d[8] * s[2], o[2],
  ];
}

/**
 * NIfTI quaternion → rotation (nifti1_io.c quatern_to_mat44): a is recovered from b,c,d;
 * when b²+c²+d² > 1 by rounding, the quaternion is renormalised with a = 0.
 */
export function quaternToRotation(b: number, c: number, d: number): Mat3 {
  let a = 1 - (b * b + c * c + d * d);
  if (a < 1e-7) {
    const n = 1 / Math.sqrt(b * b + c * c + d * d);
    b *= n; c *= n; d *= n; a = 0;
  } else {
    a = Math.sqrt(a);
  }
  return [
    a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c),
    2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b),
    2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b,
  ];
}

/**
 * Orthonormal direction → NIfTI (b, c, d, qfac) (nifti1_io.c nifti_mat44_to_quatern). A
 * left-handed direction gets qfac = -1 and its third column negated first.
 */
export function rotationToQuatern(m: Mat3): { b: number; c: number; d: number; qfac: number } {
  const r = m.slice() as Mat3;
  let qfac = 1;
  if (det3(r) < 0) {
    qfac = -1;
    r[2] = -r[2]; r[5] = -r[5]; r[8] = -r[8];
  }
  const [r11, r12, r13, r21, r22, r23, r31, r32, r33] = r;
  let a = r11 + r22 + r33 + 1, b: number, c: number, d: number;
  if (a > 0.5) {
    a = 0.5 * Math.sqrt(a);
    b = (0.25 * (r32 - r23)) / a; c = (0.25 * (r13 - r31)) / a; d = (0.25 * (r21 - r12)) / a;
  } else {
    const xd = 1 + r11 - (r22 + r33), yd = 1 + r22 - (r11 + r33), zd = 1 + r33 - (r11 + r22);
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd); c = (0.25 * (r12 + r21)) / b; d = (0.25 * (r13 + r31)) / b; a = (0.25 * (r32 - r23)) / b;
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd); b = (0.25 * (r12 + r21)) / c; d = (0.25 * (r23 + r32)) / c; a = (0.25 * (r13 - r31)) / c;
    } else {
      d = 0.5 * Math.sqrt(zd); b = (0.25 * (r13 + r31)) / d; c = (0.25 * (r23 + r32)) / d; a = (0.25 * (r21 - r12)) / d;
    }
    if (a < 0) { b = -b; c = -c; d = -d; }
  }
  return { b, c, d, qfac };
}
