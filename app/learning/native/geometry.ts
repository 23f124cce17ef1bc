import type { ConvGeom } from '../kernels/geometry.ts';

/** Flags of the addon's conv geometry (native/dnnl/src/conv.h). */
export const BIAS = 1;
export const RELU = 2;

/**
 * oneDNN requires out = (in + padL + padR − effective kernel) / stride + 1 exactly (integer
 * division). tfjs's padding (notably with dimRoundingMode 'ceil') may be short of that: extra
 * padding after the input reads zeros, as tfjs does outside the input, so raise it to the
 * smallest value that gives tfjs's output size. Null when no padding can.
 */
function padAfter(inSize: number, outSize: number, k: number, stride: number, dilation: number, before: number, after: number): number | null {
  const eff = (k - 1) * dilation + 1;
  const need = (outSize - 1) * stride + eff - inSize - before;
  const p = Math.max(after, need);
  return Math.floor((inSize + before + p - eff) / stride) + 1 === outSize ? p : null;
}

/** The addon's Int32Array geometry for a conv (2D when D = OD = KD = 1 and nd = 2), or null when oneDNN cannot express it. */
export function convGeometry(g: ConvGeom, nd: 2 | 3, flags: number): Int32Array | null {
  const pk = padAfter(g.D, g.OD, g.KD, g.sd, g.dd, g.pf, g.pk);
  const pb = padAfter(g.H, g.OH, g.KH, g.sh, g.dh, g.pt, g.pb);
  const pr = padAfter(g.W, g.OW, g.KW, g.sw, g.dw, g.pl, g.pr);
  if (pk === null || pb === null || pr === null || g.pf < 0 || g.pt < 0 || g.pl < 0) return null;
  if (g.N * g.D * g.H * g.W * g.C === 0 || g.M * g.CO === 0) return null;
  return Int32Array.from([
    nd, g.N, g.C, g.CO, g.D, g.H, g.W, g.OD, g.OH, g.OW, g.KD, g.KH, g.KW,
    g.sd, g.sh, g.sw, g.dd, g.dh, g.dw, g.pf, g.pt, g.pl, pk, pb, pr, flags,
  ]);
}

/** Max-pool geometry (native/dnnl/src/memops.h), channels-last 3D form. */
export interface PoolShape {
  n: number; d: number; h: number; w: number; c: number;
  od: number; oh: number; ow: number;
  kd: number; kh: number; kw: number;
  sd: number; sh: number; sw: number;
  pf: number; pt: number; pl: number;
}

export function poolGeometry(p: PoolShape): Int32Array {
  return Int32Array.from([p.n, p.d, p.h, p.w, p.c, p.od, p.oh, p.ow, p.kd, p.kh, p.kw, p.sd, p.sh, p.sw, p.pf, p.pt, p.pl]);
}
