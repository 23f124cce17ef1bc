// Osteon's own SIMD kernels for the tfjs wasm backend (AssemblyScript, compiled by
// scripts/build-simd.mjs into simd_wasm.ts). They run on the wasm backend's own heap: the module
// imports that memory, and every pointer below is a byte offset into it (a tensor's
// memoryOffset), every count a number of float32 values. The module keeps no state and has no
// data segment, so it never writes outside the ranges it is handed.
//
// Not TypeScript: v128, f32x4 and friends are AssemblyScript builtins (tsconfig skips *.as.ts;
// eslint parses it as TypeScript, so no decorators: binaryen inlines the small helpers anyway).

/** dst row r, values [0, len) = src row r: rows of `len` floats, row strides in floats. */
export function copyRows(src: usize, srcStride: i32, dst: usize, dstStride: i32, rows: i32, len: i32): void {
  const sB = (<usize>srcStride) << 2;
  const dB = (<usize>dstStride) << 2;
  const nB = (<usize>len) << 2;
  if (len >= 32) {
    for (let r = 0; r < rows; r++) {
      memory.copy(dst, src, nB);
      src += sB;
      dst += dB;
    }
    return;
  }
  const v = nB & ~(<usize>15);
  for (let r = 0; r < rows; r++) {
    let j: usize = 0;
    for (; j < v; j += 16) v128.store(dst + j, v128.load(src + j));
    for (; j < nB; j += 4) f32.store(dst + j, f32.load(src + j));
    src += sB;
    dst += dB;
  }
}

/**
 * out[o, i] = Σ_r x[o, r, i] for x [outer, R, inner]. Blocks of 64 rows are summed in float32,
 * the block sums in float64 (acc: inner float64 values of scratch), so the error does not grow
 * with R the way a value-by-value float32 sum's does.
 */
export function sumMiddle(x: usize, out: usize, acc: usize, outer: i32, R: i32, inner: i32): void {
  const rowB = (<usize>inner) << 2;
  const v = rowB & ~(<usize>15);
  for (let o = 0; o < outer; o++) {
    memory.fill(acc, 0, (<usize>inner) << 3);
    for (let r0 = 0; r0 < R; r0 += 64) {
      const r1 = min(R, r0 + 64);
      const base = x + (<usize>(o * R + r0)) * rowB;
      let j: usize = 0;
      for (; j < v; j += 16) {
        let s = f32x4.splat(0);
        let p = base + j;
        for (let r = r0; r < r1; r++) {
          s = f32x4.add(s, v128.load(p));
          p += rowB;
        }
        const a = acc + (j << 1);
        v128.store(a, f64x2.add(v128.load(a), f64x2.promote_low_f32x4(s)));
        v128.store(a + 16, f64x2.add(v128.load(a + 16), f64x2.promote_low_f32x4(v128.shuffle<f32>(s, s, 2, 3, 0, 1))));
      }
      for (; j < rowB; j += 4) {
        let s: f32 = 0;
        let p = base + j;
        for (let r = r0; r < r1; r++) {
          s += f32.load(p);
          p += rowB;
        }
        const a = acc + (j << 1);
        f64.store(a, f64.load(a) + <f64>s);
      }
    }
    const dst = out + (<usize>o) * rowB;
    for (let i = 0; i < inner; i++) f32.store(dst + ((<usize>i) << 2), <f32>f64.load(acc + ((<usize>i) << 3)));
  }
}

/** out[r, c] = a[r, c] + b[c] for a [rows, C], b [C]. */
export function addBias(a: usize, b: usize, out: usize, rows: i32, C: i32): void {
  const rowB = (<usize>C) << 2;
  const v = rowB & ~(<usize>15);
  for (let r = 0; r < rows; r++) {
    let j: usize = 0;
    for (; j < v; j += 16) v128.store(out + j, f32x4.add(v128.load(a + j), v128.load(b + j)));
    for (; j < rowB; j += 4) f32.store(out + j, f32.load(a + j) + f32.load(b + j));
    a += rowB;
    out += rowB;
  }
}

/**
 * Gradient of a max pool whose window equals its stride (KD×KH×KW, 'valid', no dilation) on
 * x [N, D, H, W, C] → dy [N, OD, OH, OW, C]. Each output's gradient goes to one input of its
 * window holding the window's maximum, as tfjs's cpu backend chooses it: last = 0, the first
 * (d, h, w order) strictly greater than -inf (its 2D rule); last = 1, the last one >= -inf (its
 * 3D rule). NaN is never chosen. Every other dx value is 0 (also rows no window covers).
 */
export function maxPoolGrad(x: usize, dy: usize, dx: usize, N: i32, D: i32, H: i32, W: i32, C: i32, KD: i32, KH: i32, KW: i32, last: i32): void {
  const OD = D / KD, OH = H / KH, OW = W / KW;
  const cB = (<usize>C) << 2;
  const v = cB & ~(<usize>15);
  memory.fill(dx, 0, (<usize>N) * (<usize>D) * (<usize>H) * (<usize>W) * cB);
  const zero = f32x4.splat(0);
  const ninf = f32x4.splat(-Infinity);
  let g = dy;
  for (let n = 0; n < N; n++) {
    for (let od = 0; od < OD; od++) {
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++) {
          // Input offset (bytes) of the window's first tap.
          const w0 = ((((<usize>n) * D + od * KD) * H + oh * KH) * W + ow * KW) * cB;
          let j: usize = 0;
          for (; j < v; j += 16) {
            let best = ninf;
            let at = i32x4.splat(-1);
            let t = 0;
            for (let kd = 0; kd < KD; kd++) {
              for (let kh = 0; kh < KH; kh++) {
                for (let kw = 0; kw < KW; kw++) {
                  const val = v128.load(x + w0 + (((<usize>kd) * H + kh) * W + kw) * cB + j);
                  const gt = last ? f32x4.ge(val, best) : f32x4.gt(val, best);
                  best = v128.bitselect(val, best, gt);
                  at = v128.bitselect(i32x4.splat(t), at, gt);
                  t++;
                }
              }
            }
            const gv = v128.load(g + j);
            t = 0;
            for (let kd = 0; kd < KD; kd++) {
              for (let kh = 0; kh < KH; kh++) {
                for (let kw = 0; kw < KW; kw++) {
                  v128.store(dx + w0 + (((<usize>kd) * H + kh) * W + kw) * cB + j, v128.bitselect(gv, zero, i32x4.eq(at, i32x4.splat(t))));
                  t++;
                }
              }
            }
          }
          for (; j < cB; j += 4) {
            let best: f32 = -Infinity;
            let at: usize = 0;
            let found = false;
            for (let kd = 0; kd < KD; kd++) {
              for (let kh = 0; kh < KH; kh++) {
                for (let kw = 0; kw < KW; kw++) {
                  const p = w0 + (((<usize>kd) * H + kh) * W + kw) * cB + j;
                  const val = f32.load(x + p);
                  if (last ? val >= best : val > best) {
                    best = val;
                    at = p;
                    found = true;
                  }
                }
              }
            }
            if (found) f32.store(dx + at, f32.load(g + j));
          }
          g += cB;
        }
      }
    }
  }
}

/**
 * a·b + c: one fused multiply-add where the engine has relaxed SIMD (the relaxed build, chosen at
 * load time: Electron, Node 22+), a multiply and an add otherwise. ASC_FEATURE_RELAXED_SIMD is a
 * compile-time constant, so each build holds one of the two.
 */
function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

/** Positions per block of the filter-gradient reduction: the block of dy and x stays in L1/L2. */
const KC: i32 = 192;

/**
 * Filter gradient of a stride-1 convolution on a padded grid (see bpf_taps.ts):
 *   dW[t, c, co] = Σ_{s < S} xp[s + δ(t), c] · dyp[s, co],  δ(t) = kd·sD + kh·sH + kw·sW,
 * t = (kd·KH + kh)·KW + kw, with xp [S + slack, C] (the padded input, position-major) and dyp
 * [S, CO] (dy placed on the same grid, zeros elsewhere). dW [T, C, CO] is overwritten.
 * C and CO must be multiples of 4. Register tiles of 4 input × 8 (or 4) output channels run
 * over blocks of KC positions, so each block's x and dy are read from cache, not memory, by
 * every tile; block sums are added into dW, which keeps the float32 error from growing with S.
 */
export function convFilterGrad(xp: usize, dyp: usize, dW: usize, S: i32, C: i32, CO: i32, KD: i32, KH: i32, KW: i32, sD: i32, sH: i32, sW: i32): void {
  const T = KD * KH * KW;
  memory.fill(dW, 0, (<usize>T) * (<usize>C) * (<usize>CO) << 2);
  const cB = (<usize>C) << 2;
  const coB = (<usize>CO) << 2;
  for (let s0 = 0; s0 < S; s0 += KC) {
    const n = min(KC, S - s0);
    const dyb = dyp + (<usize>s0) * coB;
    let t = 0;
    for (let kd = 0; kd < KD; kd++) {
      for (let kh = 0; kh < KH; kh++) {
        for (let kw = 0; kw < KW; kw++) {
          const xb = xp + (<usize>(s0 + kd * sD + kh * sH + kw * sW)) * cB;
          const wt = dW + (<usize>t) * (<usize>C) * coB;
          let co: usize = 0;
          for (; co + 32 <= coB; co += 32) {
            for (let c: usize = 0; c < cB; c += 16) tile4x8(xb + c, dyb + co, wt + (c >> 2) * coB + co, n, cB, coB);
          }
          if (co < coB) {
            for (let c: usize = 0; c < cB; c += 16) tile4x4(xb + c, dyb + co, wt + (c >> 2) * coB + co, n, cB, coB);
          }
          t++;
        }
      }
    }
  }
}

function tile4x8(x: usize, dy: usize, w: usize, n: i32, cB: usize, coB: usize): void {
  let a00 = f32x4.splat(0), a01 = f32x4.splat(0);
  let a10 = f32x4.splat(0), a11 = f32x4.splat(0);
  let a20 = f32x4.splat(0), a21 = f32x4.splat(0);
  let a30 = f32x4.splat(0), a31 = f32x4.splat(0);
  for (let s = 0; s < n; s++) {
    const d0 = v128.load(dy);
    const d1 = v128.load(dy, 16);
    let v = v128.load32_splat(x);
    a00 = madd(v, d0, a00);
    a01 = madd(v, d1, a01);
    v = v128.load32_splat(x, 4);
    a10 = madd(v, d0, a10);
    a11 = madd(v, d1, a11);
    v = v128.load32_splat(x, 8);
    a20 = madd(v, d0, a20);
    a21 = madd(v, d1, a21);
    v = v128.load32_splat(x, 12);
    a30 = madd(v, d0, a30);
    a31 = madd(v, d1, a31);
    x += cB;
    dy += coB;
  }
  v128.store(w, f32x4.add(v128.load(w), a00));
  v128.store(w, f32x4.add(v128.load(w, 16), a01), 16);
  w += coB;
  v128.store(w, f32x4.add(v128.load(w), a10));
  v128.store(w, f32x4.add(v128.load(w, 16), a11), 16);
  w += coB;
  v128.store(w, f32x4.add(v128.load(w), a20));
  v128.store(w, f32x4.add(v128.load(w, 16), a21), 16);
  w += coB;
  v128.store(w, f32x4.add(v128.load(w), a30));
  v128.store(w, f32x4.add(v128.load(w, 16), a31), 16);
}

function tile4x4(x: usize, dy: usize, w: usize, n: i32, cB: usize, coB: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  for (let s = 0; s < n; s++) {
    const d = v128.load(dy);
    a0 = madd(v128.load32_splat(x), d, a0);
    a1 = madd(v128.load32_splat(x, 4), d, a1);
    a2 = madd(v128.load32_splat(x, 8), d, a2);
    a3 = madd(v128.load32_splat(x, 12), d, a3);
    x += cB;
    dy += coB;
  }
  v128.store(w, f32x4.add(v128.load(w), a0));
  w += coB;
  v128.store(w, f32x4.add(v128.load(w), a1));
  w += coB;
  v128.store(w, f32x4.add(v128.load(w), a2));
  w += coB;
  v128.store(w, f32x4.add(v128.load(w), a3));
}
