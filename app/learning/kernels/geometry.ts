import type { backend_util } from '@tensorflow/tfjs';

/**
 * One convolution's geometry in a single 3D form, channels-last: x [N,D,H,W,C], filter
 * [KD,KH,KW,C,CO], y [N,OD,OH,OW,CO]. A 2D conv is the case D = OD = KD = 1. The im2col
 * column index k = ((kd*KH + kh)*KW + kw)*C + c matches the filter's flat layout, so a filter
 * is a [K, CO] matrix without any copy; the row index m = ((n*OD + od)*OH + oh)*OW + ow
 * matches y's flat layout, so y is an [M, CO] matrix.
 */
export interface ConvGeom {
  N: number; D: number; H: number; W: number; C: number;
  OD: number; OH: number; OW: number; CO: number;
  KD: number; KH: number; KW: number;
  sd: number; sh: number; sw: number;
  dd: number; dh: number; dw: number;
  /** Padding before each spatial axis (front, top, left) and after it (back, bottom, right). */
  pf: number; pt: number; pl: number;
  pk: number; pb: number; pr: number;
  /** Rows of the im2col matrix (output positions) and its columns (taps × input channels). */
  M: number; K: number;
}

export function geomFrom2D(ci: backend_util.Conv2DInfo): ConvGeom {
  return finish({
    N: ci.batchSize, D: 1, H: ci.inHeight, W: ci.inWidth, C: ci.inChannels,
    OD: 1, OH: ci.outHeight, OW: ci.outWidth, CO: ci.outChannels,
    KD: 1, KH: ci.filterHeight, KW: ci.filterWidth,
    sd: 1, sh: ci.strideHeight, sw: ci.strideWidth,
    dd: 1, dh: ci.dilationHeight, dw: ci.dilationWidth,
    pf: 0, pt: ci.padInfo.top, pl: ci.padInfo.left,
    pk: 0, pb: ci.padInfo.bottom, pr: ci.padInfo.right,
  });
}

export function geomFrom3D(ci: backend_util.Conv3DInfo): ConvGeom {
  return finish({
    N: ci.batchSize, D: ci.inDepth, H: ci.inHeight, W: ci.inWidth, C: ci.inChannels,
    OD: ci.outDepth, OH: ci.outHeight, OW: ci.outWidth, CO: ci.outChannels,
    KD: ci.filterDepth, KH: ci.filterHeight, KW: ci.filterWidth,
    sd: ci.strideDepth, sh: ci.strideHeight, sw: ci.strideWidth,
    dd: ci.dilationDepth, dh: ci.dilationHeight, dw: ci.dilationWidth,
    pf: ci.padInfo.front, pt: ci.padInfo.top, pl: ci.padInfo.left,
    pk: ci.padInfo.back, pb: ci.padInfo.bottom, pr: ci.padInfo.right,
  });
}

function finish(g: Omit<ConvGeom, 'M' | 'K'>): ConvGeom {
  return { ...g, M: g.N * g.OD * g.OH * g.OW, K: g.KD * g.KH * g.KW * g.C };
}

/**
 * The geometry of the stride-1 input gradient written as a forward convolution of dy with the
 * flipped filter (see flipFilter3D): input and output swap, each pad p becomes K−1−p. Null when
 * the conv has strides or dilations > 1, or a pad ≥ K (then the flip would need negative pads).
 */
export function flippedGeom(g: ConvGeom): ConvGeom | null {
  if (g.sd !== 1 || g.sh !== 1 || g.sw !== 1 || g.dd !== 1 || g.dh !== 1 || g.dw !== 1) return null;
  const fits = (p: number, k: number): boolean => p >= 0 && p <= k - 1;
  if (![g.pf, g.pk].every((p) => fits(p, g.KD)) || ![g.pt, g.pb].every((p) => fits(p, g.KH)) || ![g.pl, g.pr].every((p) => fits(p, g.KW))) return null;
  return finish({
    N: g.N, D: g.OD, H: g.OH, W: g.OW, C: g.CO,
    OD: g.D, OH: g.H, OW: g.W, CO: g.C,
    KD: g.KD, KH: g.KH, KW: g.KW,
    sd: 1, sh: 1, sw: 1, dd: 1, dh: 1, dw: 1,
    pf: g.KD - 1 - g.pf, pt: g.KH - 1 - g.pt, pl: g.KW - 1 - g.pl,
    pk: g.KD - 1 - g.pk, pb: g.KH - 1 - g.pb, pr: g.KW - 1 - g.pr,
  });
}
