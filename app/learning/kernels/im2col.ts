import type { ConvGeom } from './geometry.ts';

/**
 * im2col / col2im over a range of output rows [m0, m1) (see ConvGeom for the index maps).
 * Out-of-bounds taps (padding) read as 0 and are skipped on the way back. The arrays are
 * views into the wasm heap taken by the caller after its last allocation.
 */

/** Flat offset into x of output row m's first tap, per spatial axis, filled for one row. */
interface RowOrigin { n: number; d: number; h: number; w: number }

function origin(g: ConvGeom, m: number, o: RowOrigin): void {
  const ow = m % g.OW;
  let t = (m - ow) / g.OW;
  const oh = t % g.OH;
  t = (t - oh) / g.OH;
  const od = t % g.OD;
  o.n = (t - od) / g.OD;
  o.d = od * g.sd - g.pf;
  o.h = oh * g.sh - g.pt;
  o.w = ow * g.sw - g.pl;
}

/**
 * Offset of x[n, d+kd·dd, h+kh·dh, w+kw·dw, 0], or -1 when that tap falls in the padding.
 */
function tapOffset(g: ConvGeom, o: RowOrigin, kd: number, kh: number, kw: number): number {
  const id = o.d + kd * g.dd;
  const ih = o.h + kh * g.dh;
  const iw = o.w + kw * g.dw;
  if (id < 0 || id >= g.D || ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) return -1;
  return (((o.n * g.D + id) * g.H + ih) * g.W + iw) * g.C;
}

/** x [N, S, C] (S = D·H·W) as channel-major [N, C, S], so each (c, d, h) row of W is contiguous. */
export function channelMajor(g: ConvGeom, x: Float32Array): Float32Array {
  const { N, C } = g;
  const S = g.D * g.H * g.W;
  const out = new Float32Array(N * C * S);
  for (let n = 0; n < N; n++) {
    const src = n * S * C;
    for (let c = 0; c < C; c++) {
      const dst = (n * C + c) * S;
      for (let s = 0; s < S; s++) out[dst + s] = x[src + s * C + c];
    }
  }
  return out;
}

/**
 * Column-major colsT[k·(m1 - m0) + (m - m0)] = x at tap k of output row m, read from the
 * channel-major input `xc` (see channelMajor). Each output line (fixed n, od, oh) of one
 * column k reads one row of W from xc, so the copies run along contiguous memory instead of
 * striding by C (which also aliased in the cache when M is a power of two; `npm run bench -- --suite kernels`).
 */
export function im2colCols(g: ConvGeom, xc: Float32Array, m0: number, m1: number, colsT: Float32Array): void {
  const { C, D, H, W, OD, OH, OW, KD, KH, KW, sw } = g;
  const mc = m1 - m0;
  const line0 = Math.floor(m0 / OW);
  const line1 = Math.floor((m1 - 1) / OW);
  let k = 0;
  for (let kd = 0; kd < KD; kd++) {
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        const iw0 = kw * g.dw - g.pl;
        // Output columns whose input column iw = iw0 + ow·sw lies in [0, W).
        const owLo = Math.max(0, Math.ceil(-iw0 / sw));
        const owHi = Math.min(OW, Math.max(owLo, Math.ceil((W - iw0) / sw)));
        for (let c = 0; c < C; c++, k++) {
          const row = k * mc - m0;
          for (let line = line0; line <= line1; line++) {
            const oh = line % OH;
            const t = (line - oh) / OH;
            const od = t % OD;
            const n = (t - od) / OD;
            const a = Math.max(0, m0 - line * OW);
            const b = Math.min(OW, m1 - line * OW);
            const dst = row + line * OW;
            const id = od * g.sd - g.pf + kd * g.dd;
            const ih = oh * g.sh - g.pt + kh * g.dh;
            if (id < 0 || id >= D || ih < 0 || ih >= H) {
              colsT.fill(0, dst + a, dst + b);
              continue;
            }
            const src = (((n * C + c) * D + id) * H + ih) * W + iw0;
            const lo = Math.min(Math.max(a, owLo), b);
            const hi = Math.max(Math.min(b, owHi), lo);
            if (lo > a) colsT.fill(0, dst + a, dst + lo);
            for (let ow = lo; ow < hi; ow++) colsT[dst + ow] = xc[src + ow * sw];
            if (b > hi) colsT.fill(0, dst + hi, dst + b);
          }
        }
      }
    }
  }
}

/**
 * col2im of the row-major dcols[(m - m0)·K + k]: dx at tap k of output row m += that value.
 * dx is not cleared.
 */
export function col2imRows(g: ConvGeom, dcols: Float32Array, m0: number, m1: number, dx: Float32Array): void {
  const { C, K, KD, KH, KW } = g;
  const o: RowOrigin = { n: 0, d: 0, h: 0, w: 0 };
  for (let m = m0; m < m1; m++) {
    origin(g, m, o);
    let src = (m - m0) * K;
    for (let kd = 0; kd < KD; kd++) {
      for (let kh = 0; kh < KH; kh++) {
        for (let kw = 0; kw < KW; kw++) {
          const s = tapOffset(g, o, kd, kh, kw);
          if (s >= 0) for (let c = 0; c < C; c++) dx[s + c] += dcols[src + c];
          src += C;
        }
      }
    }
  }
}

let chunkFloats = 4 << 20;

/**
 * Sets the im2col chunk budget in floats (default 4 Mi = 16 MiB) and returns the old one.
 * Tests shrink it to exercise the chunked paths on small shapes.
 */
export function setChunkBudget(floats: number): number {
  const old = chunkFloats;
  chunkFloats = Math.max(1, Math.floor(floats));
  return old;
}

/** Rows per chunk so that a chunk's im2col matrix stays within the chunk budget. */
export function rowsPerChunk(g: ConvGeom): number {
  return Math.max(1, Math.min(g.M, Math.floor(chunkFloats / Math.max(1, g.K))));
}
