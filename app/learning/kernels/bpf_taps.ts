import type * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { ConvGeom } from './geometry.ts';
import { alias, alloc, free, matmul, releaseAlias, view } from './wasm_heap.ts';
import { ptr, simdModule } from './simd/simd.ts';

const MIN_CHANNELS = 4;

/**
 * The filter gradient of a stride-1 convolution without an im2col matrix: one XNNPACK matmul
 * per filter tap on shifted windows of the zero-padded input.
 *
 * On the padded grid (Dp, Hp, Wp) = input + pads, output position p reads input position
 * p + δ(tap), δ = (kd·dd·Hp + kh·dh)·Wp + kw·dw. With xp = x padded, channel-major
 * [C, N·Dp·Hp·Wp], and dyp = dy placed on the same grid (zeros off the output positions):
 *   dW[tap] [C, CO] = xp[:, δ : δ + N·P] · dyp,
 * and xp[:, δ:] is just xp's memory from offset δ (an alias, no copy). Where dyp is zero the
 * window may read past a row's end into the next row or the slack at the buffer's end; those
 * finite values are multiplied by zero. im2col would write K = taps·C floats per output
 * position in JS; this writes about C + CO and lets XNNPACK stream the rest.
 * Returns null when the conv is strided, or has fewer than MIN_CHANNELS input channels: with
 * one row per channel the matmuls degenerate to matrix-vector products that re-read dyp once
 * per tap, and im2col's K = taps·C is small anyway (then use im2col).
 */
export function convBackpropFilterByTaps(backend: BackendWasm, g: ConvGeom, x: tf.TensorInfo, dy: tf.TensorInfo, filterShape: number[]): tf.TensorInfo | null {
  const { N, D, H, W, C, OD, OH, OW, CO, KD, KH, KW } = g;
  if (g.sd !== 1 || g.sh !== 1 || g.sw !== 1 || C < MIN_CHANNELS) return null;
  const Dp = D + g.pf + g.pk;
  const Hp = H + g.pt + g.pb;
  const Wp = W + g.pl + g.pr;
  if (OD > Dp || OH > Hp || OW > Wp || g.pf < 0 || g.pt < 0 || g.pl < 0 || g.pk < 0 || g.pb < 0 || g.pr < 0) return null;
  const P = Dp * Hp * Wp;
  const S = N * P;
  const shift = (kd: number, kh: number, kw: number): number => (kd * g.dd * Hp + kh * g.dh) * Wp + kw * g.dw;
  const slack = shift(KD - 1, KH - 1, KW - 1);
  const k = C % 4 === 0 && CO % 4 === 0 ? simdModule() : null;
  if (k) {
    // Osteon's SIMD kernel (simd/kernels.as.ts): the padded input position-major, every tap in one call.
    const xr = alloc(backend, [(S + slack) * C]);
    const dyr = alloc(backend, [1, S, CO]);
    const dWr = alloc(backend, filterShape);
    fillPaddedPositionMajor(g, view(backend, x), view(backend, xr), Dp, Hp, Wp);
    fillOnGrid(g, view(backend, dy), view(backend, dyr), Dp, Hp, Wp);
    k.convFilterGrad(ptr(backend, xr), ptr(backend, dyr), ptr(backend, dWr), S, C, CO, KD, KH, KW, g.dd * Hp * Wp, g.dh * Wp, g.dw);
    free(backend, xr, dyr);
    return dWr;
  }
  const xp = alloc(backend, [C * S + slack]);
  const dyp = alloc(backend, [1, S, CO]);
  const dW = alloc(backend, filterShape);
  fillPaddedChannelMajor(g, view(backend, x), view(backend, xp), Dp, Hp, Wp);
  fillOnGrid(g, view(backend, dy), view(backend, dyp), Dp, Hp, Wp);
  let t = 0;
  for (let kd = 0; kd < KD; kd++) {
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++, t++) {
        const a = alias(backend, xp, shift(kd, kh, kw), [1, C, S]);
        const part = matmul(backend, a, dyp);
        view(backend, dW).set(view(backend, part), t * C * CO);
        free(backend, part);
        releaseAlias(backend, a);
      }
    }
  }
  free(backend, xp, dyp);
  return dW;
}

/** xp[c·S + n·P + ((d+pf)·Hp + h+pt)·Wp + w+pl] = x[n,d,h,w,c]; zeros elsewhere. */
function fillPaddedChannelMajor(g: ConvGeom, x: Float32Array, xp: Float32Array, Dp: number, Hp: number, Wp: number): void {
  const { N, D, H, W, C } = g;
  const P = Dp * Hp * Wp;
  const S = N * P;
  xp.fill(0);
  let src = 0;
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) {
      for (let h = 0; h < H; h++) {
        const row = n * P + ((d + g.pf) * Hp + h + g.pt) * Wp + g.pl;
        for (let w = 0; w < W; w++) {
          for (let c = 0; c < C; c++) xp[c * S + row + w] = x[src++];
        }
      }
    }
  }
}

/** xp[(n·P + ((d+pf)·Hp + h+pt)·Wp + w+pl)·C + c] = x[n,d,h,w,c]; zeros elsewhere (and in the slack). */
function fillPaddedPositionMajor(g: ConvGeom, x: Float32Array, xp: Float32Array, Dp: number, Hp: number, Wp: number): void {
  const { N, D, H, W, C } = g;
  const P = Dp * Hp * Wp;
  const line = W * C;
  xp.fill(0);
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) {
      for (let h = 0; h < H; h++) {
        const src = ((n * D + d) * H + h) * line;
        xp.set(x.subarray(src, src + line), (n * P + ((d + g.pf) * Hp + h + g.pt) * Wp + g.pl) * C);
      }
    }
  }
}

/** dyp[(n·P + (od·Hp + oh)·Wp + ow)·CO + co] = dy[n,od,oh,ow,co]; zeros elsewhere. */
function fillOnGrid(g: ConvGeom, dy: Float32Array, dyp: Float32Array, Dp: number, Hp: number, Wp: number): void {
  const { N, OD, OH, OW, CO } = g;
  const P = Dp * Hp * Wp;
  const line = OW * CO;
  dyp.fill(0);
  for (let n = 0; n < N; n++) {
    for (let od = 0; od < OD; od++) {
      for (let oh = 0; oh < OH; oh++) {
        const src = ((n * OD + od) * OH + oh) * line;
        dyp.set(dy.subarray(src, src + line), (n * P + (od * Hp + oh) * Wp) * CO);
      }
    }
  }
}
