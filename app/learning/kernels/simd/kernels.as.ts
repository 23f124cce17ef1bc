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
 * add ≠ 0: dx = add + that gradient (the pool's input also feeds a skip connection whose
 * gradient is add), in the same pass.
 */
export function maxPoolGrad(x: usize, dy: usize, dx: usize, N: i32, D: i32, H: i32, W: i32, C: i32, KD: i32, KH: i32, KW: i32, last: i32, add: usize): void {
  const OD = D / KD, OH = H / KH, OW = W / KW;
  const cB = (<usize>C) << 2;
  const v = cB & ~(<usize>15);
  const total = (<usize>N) * (<usize>D) * (<usize>H) * (<usize>W) * cB;
  // Rows no window covers keep add (or 0); the windows' taps are all written below.
  const tiled = OD * KD == D && OH * KH == H && OW * KW == W;
  if (add) {
    if (!tiled) memory.copy(dx, add, total);
  } else memory.fill(dx, 0, total);
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
                  const o = w0 + (((<usize>kd) * H + kh) * W + kw) * cB + j;
                  const sel = v128.bitselect(gv, zero, i32x4.eq(at, i32x4.splat(t)));
                  v128.store(dx + o, add ? f32x4.add(v128.load(add + o), sel) : sel);
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
            if (add) {
              for (let kd = 0; kd < KD; kd++) {
                for (let kh = 0; kh < KH; kh++) {
                  for (let kw = 0; kw < KW; kw++) {
                    const p = w0 + (((<usize>kd) * H + kh) * W + kw) * cB + j;
                    f32.store(dx + p, f32.load(add + p) + (found && p == at ? f32.load(g + j) : 0));
                  }
                }
              }
            } else if (found) f32.store(dx + at, f32.load(g + j));
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

// ---------------------------------------------------------------------------------------------
// Fused training kernels of the pure-wasm rung (simd/fused.ts): the ReLU and bias gradient, the
// bias (+ ReLU) of a convolution's output, the head loss and Adam. They mirror the oneDNN addon's
// (native/dnnl/src/fused.cc, loss.cc, adam.cc) on one thread, with the same arithmetic.

/**
 * g = dy·[y > 0] and db[c] = Σ_r g[r, c] for dy, y [rows, C] in one pass. db is summed in blocks
 * of 64 rows in float32 (scratch: C float32 values), the block sums in float64 (scratch + 4·C:
 * C float64 values), as sumMiddle does.
 */
export function reluBiasGrad(dy: usize, y: usize, g: usize, db: usize, scratch: usize, rows: i32, C: i32): void {
  const rowB = (<usize>C) << 2;
  const v = rowB & ~(<usize>15);
  const blk = scratch;
  const acc = scratch + rowB;
  memory.fill(acc, 0, (<usize>C) << 3);
  const zero = f32x4.splat(0);
  for (let r0 = 0; r0 < rows; r0 += 64) {
    const r1 = min(rows, r0 + 64);
    memory.fill(blk, 0, rowB);
    const off0 = (<usize>r0) * rowB;
    let pd = dy + off0, py = y + off0, pg = g + off0;
    for (let r = r0; r < r1; r++) {
      let j: usize = 0;
      for (; j < v; j += 16) {
        const gv = v128.bitselect(v128.load(pd + j), zero, f32x4.gt(v128.load(py + j), zero));
        v128.store(pg + j, gv);
        v128.store(blk + j, f32x4.add(v128.load(blk + j), gv));
      }
      for (; j < rowB; j += 4) {
        const gv: f32 = f32.load(py + j) > 0 ? f32.load(pd + j) : 0;
        f32.store(pg + j, gv);
        f32.store(blk + j, f32.load(blk + j) + gv);
      }
      pd += rowB;
      py += rowB;
      pg += rowB;
    }
    for (let c: usize = 0; c < rowB; c += 4) f64.store(acc + (c << 1), f64.load(acc + (c << 1)) + <f64>f32.load(blk + c));
  }
  for (let c: usize = 0; c < rowB; c += 4) f32.store(db + c, <f32>f64.load(acc + (c << 1)));
}

/** out[r, c] = a[r, c] + b[c], then max(·, 0) when relu; out may be a (in place). */
export function addBiasAct(a: usize, b: usize, out: usize, rows: i32, C: i32, relu: i32): void {
  if (!relu) {
    addBias(a, b, out, rows, C);
    return;
  }
  const rowB = (<usize>C) << 2;
  const v = rowB & ~(<usize>15);
  const zero = f32x4.splat(0);
  for (let r = 0; r < rows; r++) {
    let j: usize = 0;
    for (; j < v; j += 16) v128.store(out + j, f32x4.max(f32x4.add(v128.load(a + j), v128.load(b + j)), zero));
    for (; j < rowB; j += 4) f32.store(out + j, max<f32>(f32.load(a + j) + f32.load(b + j), 0));
    a += rowB;
    out += rowB;
  }
}

/**
 * Adam on n values, in place for m and v, the new weights to wOut: float32 in the order of
 * tfjs's AdamOptimizer (m·β1 + g·(1−β1); v·β2 + g²·(1−β2); m̂ = m/(1−β1ᵗ); v̂ = v/(1−β2ᵗ);
 * (m̂ / (√v̂ + ε))·(−lr) + w), never a fused multiply-add (not even in the relaxed build): each
 * operation is IEEE float32, so the result is tfjs's to the bit.
 */
export function adam(w: usize, g: usize, m: usize, v: usize, wOut: usize, n: i32, negLr: f32, b1: f32, b2: f32, eps: f32, omb1: f32, omb2: f32, omab1: f32, omab2: f32): void {
  const nB = (<usize>n) << 2;
  const vB = nB & ~(<usize>15);
  const B1 = f32x4.splat(b1), B2 = f32x4.splat(b2), E = f32x4.splat(eps), O1 = f32x4.splat(omb1), O2 = f32x4.splat(omb2);
  const A1 = f32x4.splat(omab1), A2 = f32x4.splat(omab2), L = f32x4.splat(negLr);
  let i: usize = 0;
  for (; i < vB; i += 16) {
    const gi = v128.load(g + i);
    const mt = f32x4.add(f32x4.mul(v128.load(m + i), B1), f32x4.mul(gi, O1));
    const vt = f32x4.add(f32x4.mul(v128.load(v + i), B2), f32x4.mul(f32x4.mul(gi, gi), O2));
    v128.store(m + i, mt);
    v128.store(v + i, vt);
    const mh = f32x4.div(mt, A1), vh = f32x4.div(vt, A2);
    v128.store(wOut + i, f32x4.add(f32x4.mul(f32x4.div(mh, f32x4.add(f32x4.sqrt(vh), E)), L), v128.load(w + i)));
  }
  for (; i < nB; i += 4) {
    const gi = f32.load(g + i);
    const mt = f32.load(m + i) * b1 + gi * omb1;
    const vt = f32.load(v + i) * b2 + (gi * gi) * omb2;
    f32.store(m + i, mt);
    f32.store(v + i, vt);
    const mh = mt / omab1, vh = vt / omab2;
    f32.store(wOut + i, (mh / (sqrt<f32>(vh) + eps)) * negLr + f32.load(w + i));
  }
}

// exp and log in SIMD lanes: the addon's Cephes polynomials (native/dnnl/src/loss.cc vexp, vlog),
// in the same float32 operations (no fused multiply-adds), ~1 ulp.
function vexp4(x: v128): v128 {
  x = f32x4.min(f32x4.max(x, f32x4.splat(-87.3365448)), f32x4.splat(88.7228394));
  const magic = f32x4.splat(12582912.0);
  const t = f32x4.add(f32x4.mul(x, f32x4.splat(1.44269504088896341)), magic);
  const n = f32x4.sub(t, magic);
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1.0));
  const ni = i32x4.sub(t, i32x4.splat(0x4b400000)); // bits of t minus bits of 12582912.0f
  return f32x4.mul(p, i32x4.shl(i32x4.add(ni, i32x4.splat(127)), 23));
}

/** log(u) for positive normal floats u. */
function vlog4(u: v128): v128 {
  let e = f32x4.convert_i32x4_s(i32x4.sub(v128.and(i32x4.shr_s(u, 23), i32x4.splat(0xff)), i32x4.splat(127)));
  let m = v128.or(v128.and(u, i32x4.splat(0x007fffff)), i32x4.splat(0x3f800000));
  const big = f32x4.gt(m, f32x4.splat(1.41421356));
  m = v128.bitselect(f32x4.mul(m, f32x4.splat(0.5)), m, big);
  e = v128.bitselect(f32x4.add(e, f32x4.splat(1.0)), e, big);
  const f = f32x4.sub(m, f32x4.splat(1.0));
  const z = f32x4.mul(f, f);
  let y = f32x4.splat(7.0376836292e-2);
  y = f32x4.add(f32x4.mul(y, f), f32x4.splat(-1.1514610310e-1));
  y = f32x4.add(f32x4.mul(y, f), f32x4.splat(1.1676998740e-1));
  y = f32x4.add(f32x4.mul(y, f), f32x4.splat(-1.2420140846e-1));
  y = f32x4.add(f32x4.mul(y, f), f32x4.splat(1.4249322787e-1));
  y = f32x4.add(f32x4.mul(y, f), f32x4.splat(-1.6668057665e-1));
  y = f32x4.add(f32x4.mul(y, f), f32x4.splat(2.0000714765e-1));
  y = f32x4.add(f32x4.mul(y, f), f32x4.splat(-2.4999993993e-1));
  y = f32x4.add(f32x4.mul(y, f), f32x4.splat(3.3333331174e-1));
  y = f32x4.mul(f32x4.mul(y, f), z);
  y = f32x4.add(y, f32x4.mul(f32x4.splat(-2.12194440e-4), e));
  y = f32x4.add(y, f32x4.mul(f32x4.splat(-0.5), z));
  return f32x4.add(f32x4.add(f, y), f32x4.mul(f32x4.splat(0.693359375), e));
}

/** log(1 + e) for e in [0, 1], accurate for tiny e too (u − 1 is exact). */
function vlog1p4(e: v128): v128 {
  const u = f32x4.add(f32x4.splat(1.0), e);
  return v128.bitselect(e, f32x4.mul(vlog4(u), f32x4.div(e, f32x4.sub(u, f32x4.splat(1.0)))), f32x4.eq(u, f32x4.splat(1.0)));
}

/** Lanes 0..3 from p, p + s, p + 2s, p + 3s (bytes). */
function gather4(p: usize, s: usize): v128 {
  let r = v128.load32_zero(p);
  r = v128.load32_lane(p + s, r, 1);
  r = v128.load32_lane(p + 2 * s, r, 2);
  return v128.load32_lane(p + 3 * s, r, 3);
}

function scatter4(p: usize, s: usize, a: v128): void {
  v128.store32_lane(p, a, 0);
  v128.store32_lane(p + s, a, 1);
  v128.store32_lane(p + 2 * s, a, 2);
  v128.store32_lane(p + 3 * s, a, 3);
}

/** Σ over lanes of float64(a) + float64(w)·float64(b) (float32 lanes), added to acc (f64x2). */
function accMulAdd(acc: v128, a: v128, w: v128, b: v128): v128 {
  const a2 = v128.shuffle<f32>(a, a, 2, 3, 0, 1), w2 = v128.shuffle<f32>(w, w, 2, 3, 0, 1), b2 = v128.shuffle<f32>(b, b, 2, 3, 0, 1);
  acc = f64x2.add(acc, f64x2.add(f64x2.promote_low_f32x4(a), f64x2.mul(f64x2.promote_low_f32x4(w), f64x2.promote_low_f32x4(b))));
  return f64x2.add(acc, f64x2.add(f64x2.promote_low_f32x4(a2), f64x2.mul(f64x2.promote_low_f32x4(w2), f64x2.promote_low_f32x4(b2))));
}

/** float32(s · float64(q)) per lane. */
function scaleF64(q: v128, s: f64): v128 {
  const S = f64x2.splat(s);
  const lo = f32x4.demote_f64x2_zero(f64x2.mul(f64x2.promote_low_f32x4(q), S));
  const hi = f32x4.demote_f64x2_zero(f64x2.mul(f64x2.promote_low_f32x4(v128.shuffle<f32>(q, q, 2, 3, 0, 1)), S));
  return v128.shuffle<f32>(lo, hi, 0, 1, 4, 5);
}

/**
 * The head loss without Dice (native/dnnl/src/loss.cc blockNoDice) over logits x [M, C], four
 * rows per SIMD vector: BCE-with-logits (pos_weight pw) on channels [bceC0, bceC0 + bceN) against
 * float32 targets [M, bceN], softmax CE (class weights cw, or none: cw = 0) on [ceC0, ceC0 + K)
 * against int32 labels [M]. Writes Σ BCE, Σ w·CE, Σ w (float64) to sums[0..2] and, unless grad
 * = 0, the gradient: bceScale·((1 − y) − w·σ(−x)) on BCE channels, ceScale0·w_y·(softmax − onehot)
 * on CE channels (the caller rescales by 1/Σw for class weights), 0 on any other channel.
 */
export function lossNoDice(x: usize, targets: usize, labels: usize, pw: usize, cw: usize, grad: usize, sums: usize, M: i32, C: i32,
  bceC0: i32, bceN: i32, ceC0: i32, K: i32, bceScale: f64, ceScale0: f64): void {
  const rowB = (<usize>C) << 2;
  if (grad && bceN + K != C) memory.fill(grad, 0, (<usize>M) * rowB);
  const zero = f32x4.splat(0), one = f32x4.splat(1);
  let bceAcc = f64x2.splat(0), ceAcc = f64x2.splat(0), wAcc = f64x2.splat(0);
  const tB = (<usize>bceN) << 2;
  let n = 4;
  for (let r0 = 0; r0 < M; r0 += n) {
    // Four rows at a time, then the last M % 4 one by one: lanes 1..3 read the row of lane 0
    // again (stride 0) and count 0.
    n = M - r0 >= 4 ? 4 : 1;
    const s = n == 4 ? rowB : 0;
    const ts = n == 4 ? tB : 0;
    const lane = i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(n));
    const xr = x + (<usize>r0) * rowB;
    for (let j = 0; j < bceN; j++) {
      const xv = gather4(xr + ((<usize>(bceC0 + j)) << 2), s);
      const yv = v128.and(gather4(targets + (<usize>r0) * tB + ((<usize>j) << 2), ts), lane);
      const e = vexp4(f32x4.neg(f32x4.abs(xv)));
      const inv = f32x4.div(one, f32x4.add(one, e));
      const lo = f32x4.mul(e, inv);
      const sp = f32x4.add(vlog1p4(e), f32x4.max(f32x4.neg(xv), zero));
      const sigNeg = v128.bitselect(lo, inv, f32x4.ge(xv, zero));
      const w = v128.and(f32x4.add(one, f32x4.mul(f32x4.splat(f32.load(pw + ((<usize>j) << 2)) - 1), yv)), lane);
      bceAcc = accMulAdd(bceAcc, v128.and(f32x4.mul(f32x4.sub(one, yv), xv), lane), w, sp);
      if (grad) {
        const q = f32x4.sub(f32x4.sub(one, yv), f32x4.mul(w, sigNeg));
        const gv = scaleF64(q, bceScale);
        const gp = grad + (<usize>r0) * rowB + ((<usize>(bceC0 + j)) << 2);
        if (n == 4) scatter4(gp, rowB, gv);
        else for (let i = 0; i < n; i++) f32.store(gp + (<usize>i) * rowB, lane_f32(gv, i));
      }
    }
    if (K > 0) {
      const z0 = xr + ((<usize>ceC0) << 2);
      let mx = gather4(z0, s);
      for (let k = 1; k < K; k++) mx = f32x4.max(mx, gather4(z0 + ((<usize>k) << 2), s));
      let se = zero;
      for (let k = 0; k < K; k++) se = f32x4.add(se, vexp4(f32x4.sub(gather4(z0 + ((<usize>k) << 2), s), mx)));
      const lse = vlog4(se);
      const inv = f32x4.div(one, se);
      const lp = labels + ((<usize>r0) << 2);
      let yl = n == 4 ? v128.load(lp) : i32x4.splat(i32.load(lp));
      if (n < 4) for (let i = 1; i < n; i++) yl = lane_set_i32(yl, i, i32.load(lp + ((<usize>i) << 2)));
      // z[y] and w[y] per lane
      let zy = zero, wy = one;
      for (let i = 0; i < 4; i++) {
        const yi = lane_i32(yl, i);
        const zv = f32.load(z0 + (<usize>(i < n ? i : 0)) * rowB + ((<usize>yi) << 2));
        zy = lane_set_f32(zy, i, zv);
        if (cw) wy = lane_set_f32(wy, i, f32.load(cw + ((<usize>yi) << 2)));
      }
      wy = v128.and(wy, lane);
      // Σ wy·(mx − zy + lse), Σ wy, in float64
      const d = f32x4.sub(mx, zy);
      const wy2 = v128.shuffle<f32>(wy, wy, 2, 3, 0, 1), d2 = v128.shuffle<f32>(d, d, 2, 3, 0, 1), l2 = v128.shuffle<f32>(lse, lse, 2, 3, 0, 1);
      ceAcc = f64x2.add(ceAcc, f64x2.mul(f64x2.promote_low_f32x4(wy), f64x2.add(f64x2.promote_low_f32x4(d), f64x2.promote_low_f32x4(lse))));
      ceAcc = f64x2.add(ceAcc, f64x2.mul(f64x2.promote_low_f32x4(wy2), f64x2.add(f64x2.promote_low_f32x4(d2), f64x2.promote_low_f32x4(l2))));
      wAcc = f64x2.add(wAcc, f64x2.add(f64x2.promote_low_f32x4(wy), f64x2.promote_low_f32x4(wy2)));
      if (grad) {
        const sc = scaleF64(wy, ceScale0);
        const gz = grad + (<usize>r0) * rowB + ((<usize>ceC0) << 2);
        for (let k = 0; k < K; k++) {
          const pk = f32x4.mul(vexp4(f32x4.sub(gather4(z0 + ((<usize>k) << 2), s), mx)), inv);
          const hot = v128.and(i32x4.eq(yl, i32x4.splat(k)), one);
          const gv = f32x4.mul(sc, f32x4.sub(pk, hot));
          if (n == 4) scatter4(gz + ((<usize>k) << 2), rowB, gv);
          else for (let i = 0; i < n; i++) f32.store(gz + (<usize>i) * rowB + ((<usize>k) << 2), lane_f32(gv, i));
        }
      }
    }
  }
  f64.store(sums, f64x2.extract_lane(bceAcc, 0) + f64x2.extract_lane(bceAcc, 1));
  f64.store(sums, f64x2.extract_lane(ceAcc, 0) + f64x2.extract_lane(ceAcc, 1), 8);
  f64.store(sums, f64x2.extract_lane(wAcc, 0) + f64x2.extract_lane(wAcc, 1), 16);
}

// Lane access with a run-time index (the SIMD lane ops need constants); only in the row tails.
function lane_f32(a: v128, i: i32): f32 {
  return i == 0 ? f32x4.extract_lane(a, 0) : i == 1 ? f32x4.extract_lane(a, 1) : i == 2 ? f32x4.extract_lane(a, 2) : f32x4.extract_lane(a, 3);
}
function lane_i32(a: v128, i: i32): i32 {
  return i == 0 ? i32x4.extract_lane(a, 0) : i == 1 ? i32x4.extract_lane(a, 1) : i == 2 ? i32x4.extract_lane(a, 2) : i32x4.extract_lane(a, 3);
}
function lane_set_f32(a: v128, i: i32, v: f32): v128 {
  return i == 0 ? f32x4.replace_lane(a, 0, v) : i == 1 ? f32x4.replace_lane(a, 1, v) : i == 2 ? f32x4.replace_lane(a, 2, v) : f32x4.replace_lane(a, 3, v);
}
function lane_set_i32(a: v128, i: i32, v: i32): v128 {
  return i == 0 ? i32x4.replace_lane(a, 0, v) : i == 1 ? i32x4.replace_lane(a, 1, v) : i == 2 ? i32x4.replace_lane(a, 2, v) : i32x4.replace_lane(a, 3, v);
}

/** x[r, c0 + k] *= s for k < K (the CE gradient's 1/Σw once the class weights' sum is known). */
export function scaleCols(x: usize, M: i32, C: i32, c0: i32, K: i32, s: f64): void {
  const rowB = (<usize>C) << 2;
  let p = x + ((<usize>c0) << 2);
  for (let r = 0; r < M; r++) {
    for (let k = 0; k < K; k++) {
      const q = p + ((<usize>k) << 2);
      f32.store(q, <f32>(<f64>f32.load(q) * s));
    }
    p += rowB;
  }
}

/** σ(x) in float32 through the SIMD exp (lane 0), as the Dice passes below use it. */
function sigmoid1(x: f32): f32 {
  const e = f32x4.extract_lane(vexp4(f32x4.splat(-Mathf.abs(x))), 0);
  const inv: f32 = 1.0 / (1.0 + e);
  return x >= 0 ? inv : e * inv;
}

/**
 * Soft Dice sums (native/dnnl/src/loss.cc, MONAI conventions) over logits x [M, C], S rows per
 * sample: for each sample n and Dice channel d, I = Σ p·g, P = Σ p, G = Σ g in float64 at
 * sums + 24·(n·nD + d). The Dice channels are the sigmoid channels bceC0 + j for j ≥ sigFrom
 * (sigFrom < 0: none; p = σ(x), g = the float32 target), then the softmax classes k ≥ softFrom
 * of the CE channels (softFrom < 0: none; p = softmax, g = [label = k]).
 */
export function diceSums(x: usize, targets: usize, labels: usize, sums: usize, M: i32, C: i32, S: i32, bceC0: i32, bceN: i32, ceC0: i32, K: i32, sigFrom: i32, softFrom: i32): void {
  const dSig = sigFrom >= 0 ? bceN - sigFrom : 0;
  const dSoft = softFrom >= 0 ? K - softFrom : 0;
  const nD = dSig + dSoft;
  memory.fill(sums, 0, (<usize>(M / S)) * (<usize>nD) * 24);
  for (let r = 0; r < M; r++) {
    const row = x + (<usize>r) * ((<usize>C) << 2);
    const ds = sums + (<usize>(r / S)) * (<usize>nD) * 24;
    for (let j = 0; j < dSig; j++) {
      const p = <f64>sigmoid1(f32.load(row + ((<usize>(bceC0 + sigFrom + j)) << 2)));
      const y = <f64>f32.load(targets + ((<usize>(r * bceN + sigFrom + j)) << 2));
      const d = ds + (<usize>j) * 24;
      f64.store(d, f64.load(d) + p * y);
      f64.store(d, f64.load(d, 8) + p, 8);
      f64.store(d, f64.load(d, 16) + y, 16);
    }
    if (dSoft) {
      const z = row + ((<usize>ceC0) << 2);
      const y = i32.load(labels + ((<usize>r) << 2));
      let mx: f32 = -Infinity;
      for (let k = 0; k < K; k++) mx = max(mx, f32.load(z + ((<usize>k) << 2)));
      let se: f32 = 0;
      for (let k = 0; k < K; k++) se += f32x4.extract_lane(vexp4(f32x4.splat(f32.load(z + ((<usize>k) << 2)) - mx)), 0);
      const inv: f32 = 1.0 / se;
      for (let k = softFrom; k < K; k++) {
        const p = <f64>(f32x4.extract_lane(vexp4(f32x4.splat(f32.load(z + ((<usize>k) << 2)) - mx)), 0) * inv);
        const g: f64 = k == y ? 1 : 0;
        const d = ds + (<usize>(dSig + k - softFrom)) * 24;
        f64.store(d, f64.load(d) + p * g);
        f64.store(d, f64.load(d, 8) + p, 8);
        f64.store(d, f64.load(d, 16) + g, 16);
      }
    }
  }
}

/**
 * Adds the Dice gradient to grad: per (sample, Dice channel) coefficients α, β (float64 pairs at
 * ab + 16·(n·nD + d), d mean(f) / dp = α·g + β), through σ' on sigmoid channels and the softmax
 * Jacobian on the classes (channels as diceSums).
 */
export function diceGrad(x: usize, targets: usize, labels: usize, ab: usize, grad: usize, M: i32, C: i32, S: i32, bceC0: i32, bceN: i32, ceC0: i32, K: i32, sigFrom: i32, softFrom: i32, scratch: usize): void {
  const dSig = sigFrom >= 0 ? bceN - sigFrom : 0;
  const dSoft = softFrom >= 0 ? K - softFrom : 0;
  const nD = dSig + dSoft;
  // scratch: K float64 softmax values, then K float64 coefficients a_k.
  const pk = scratch, ak = scratch + ((<usize>K) << 3);
  for (let r = 0; r < M; r++) {
    const row = x + (<usize>r) * ((<usize>C) << 2);
    const gr = grad + (<usize>r) * ((<usize>C) << 2);
    const c0 = ab + (<usize>(r / S)) * (<usize>nD) * 16;
    for (let j = 0; j < dSig; j++) {
      const ch = (<usize>(bceC0 + sigFrom + j)) << 2;
      const p = <f64>sigmoid1(f32.load(row + ch));
      const y = <f64>f32.load(targets + ((<usize>(r * bceN + sigFrom + j)) << 2));
      const c = c0 + (<usize>j) * 16;
      f32.store(gr + ch, f32.load(gr + ch) + <f32>((f64.load(c) * y + f64.load(c, 8)) * p * (1.0 - p)));
    }
    if (dSoft) {
      const z = row + ((<usize>ceC0) << 2);
      const y = i32.load(labels + ((<usize>r) << 2));
      let mx: f32 = -Infinity;
      for (let k = 0; k < K; k++) mx = max(mx, f32.load(z + ((<usize>k) << 2)));
      let se: f64 = 0;
      for (let k = 0; k < K; k++) {
        const e = <f64>f32x4.extract_lane(vexp4(f32x4.splat(f32.load(z + ((<usize>k) << 2)) - mx)), 0);
        f64.store(pk + ((<usize>k) << 3), e);
        se += e;
      }
      let dot: f64 = 0;
      for (let k = 0; k < K; k++) {
        const p = f64.load(pk + ((<usize>k) << 3)) / se;
        f64.store(pk + ((<usize>k) << 3), p);
        let a: f64 = 0;
        if (k >= softFrom) {
          const c = c0 + (<usize>(dSig + k - softFrom)) * 16;
          a = f64.load(c) * (k == y ? 1.0 : 0.0) + f64.load(c, 8);
        }
        f64.store(ak + ((<usize>k) << 3), a);
        dot += a * p;
      }
      const gz = gr + ((<usize>ceC0) << 2);
      for (let k = 0; k < K; k++) {
        const q = gz + ((<usize>k) << 2);
        f32.store(q, f32.load(q) + <f32>(f64.load(pk + ((<usize>k) << 3)) * (f64.load(ak + ((<usize>k) << 3)) - dot)));
      }
    }
  }
}

/**
 * Max pool whose window equals its stride (KD×KH×KW, 'valid') on x [N, D, H, W, C] into
 * y [N, D/KD, H/KH, W/KW, C]. NaN never wins (pmax keeps the running maximum unless the new
 * value is greater), as on tfjs's cpu backend; an all-NaN or all -inf window gives -inf.
 */
export function maxPool(x: usize, y: usize, N: i32, D: i32, H: i32, W: i32, C: i32, KD: i32, KH: i32, KW: i32): void {
  const OD = D / KD, OH = H / KH, OW = W / KW;
  const cB = (<usize>C) << 2;
  const v = cB & ~(<usize>15);
  const ninf = f32x4.splat(-Infinity);
  let out = y;
  for (let n = 0; n < N; n++) {
    for (let od = 0; od < OD; od++) {
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++) {
          const w0 = x + ((((<usize>n) * D + od * KD) * H + oh * KH) * W + ow * KW) * cB;
          let j: usize = 0;
          for (; j < v; j += 16) {
            let best = ninf;
            for (let kd = 0; kd < KD; kd++) {
              for (let kh = 0; kh < KH; kh++) {
                const row = w0 + (((<usize>kd) * H + kh) * W) * cB + j;
                for (let kw = 0; kw < KW; kw++) best = f32x4.pmax(best, v128.load(row + (<usize>kw) * cB));
              }
            }
            v128.store(out + j, best);
          }
          for (; j < cB; j += 4) {
            let best: f32 = -Infinity;
            for (let kd = 0; kd < KD; kd++) {
              for (let kh = 0; kh < KH; kh++) {
                const row = w0 + (((<usize>kd) * H + kh) * W) * cB + j;
                for (let kw = 0; kw < KW; kw++) {
                  const val = f32.load(row + (<usize>kw) * cB);
                  if (val > best) best = val;
                }
              }
            }
            f32.store(out + j, best);
          }
          out += cB;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The U-Net's 2x2 stride-2 'valid' transposed convolution (simd/fused.ts), 2D, channels-last.
// Every output pixel gets exactly one input pixel and one filter tap: with input rows
// r = n·H + i, y[2r + a, 2j + b, :] = x[r, j, :]·W[a, b] + bias, a GEMM [P × C]·[C × 4·CO]
// scattered to the 2x2 positions. C and CO must be multiples of 4.

/**
 * Wt [4, C, CO] (scratch) from the filter W [2, 2, CO, C] (tfjs's conv2dTranspose layout), so the
 * forward GEMM reads output channels contiguously.
 */
export function upconvPack(w: usize, wt: usize, C: i32, CO: i32): void {
  for (let t = 0; t < 4; t++) {
    const src = w + (<usize>t) * (<usize>(CO * C) << 2);
    const dst = wt + (<usize>t) * (<usize>(CO * C) << 2);
    for (let co = 0; co < CO; co++) {
      for (let c = 0; c < C; c++) store<f32>(dst + ((<usize>(c * CO + co)) << 2), load<f32>(src + ((<usize>(co * C + c)) << 2)));
    }
  }
}

/**
 * Forward: x [R·Wd, C] (R = N·H rows of Wd pixels), Wt [4, C, CO] (upconvPack), bias [CO],
 * y [2R, 2Wd, CO], every element written. Register tiles of 4 pixels × 8 (or 4) output channels
 * per tap, started from the bias.
 */
export function upconvForward(x: usize, wt: usize, bias: usize, y: usize, R: i32, Wd: i32, C: i32, CO: i32): void {
  const P = R * Wd;
  const cB = (<usize>C) << 2;
  const coB = (<usize>CO) << 2;
  const tapB = (<usize>C) * coB;
  let p = 0;
  for (; p + 4 <= P; p += 4) {
    const xp = x + (<usize>p) * cB;
    for (let t = 0; t < 4; t++) {
      const a = t >> 1, bb = t & 1;
      const o0 = outAt(y, p, Wd, a, bb, coB);
      const o1 = outAt(y, p + 1, Wd, a, bb, coB);
      const o2 = outAt(y, p + 2, Wd, a, bb, coB);
      const o3 = outAt(y, p + 3, Wd, a, bb, coB);
      const wtt = wt + (<usize>t) * tapB;
      let co: usize = 0;
      for (; co + 32 <= coB; co += 32) fwd4x8(xp, wtt + co, bias + co, o0 + co, o1 + co, o2 + co, o3 + co, C, cB, coB);
      if (co < coB) fwd4x4(xp, wtt + co, bias + co, o0 + co, o1 + co, o2 + co, o3 + co, C, cB, coB);
    }
  }
  for (; p < P; p++) {
    const xp = x + (<usize>p) * cB;
    for (let t = 0; t < 4; t++) {
      const o = outAt(y, p, Wd, t >> 1, t & 1, coB);
      const wtt = wt + (<usize>t) * tapB;
      for (let co: usize = 0; co < coB; co += 16) {
        let acc = v128.load(bias + co);
        let wp = wtt + co;
        for (let c = 0; c < C; c++) {
          acc = madd(v128.load32_splat(xp + ((<usize>c) << 2)), v128.load(wp), acc);
          wp += coB;
        }
        v128.store(o + co, acc);
      }
    }
  }
}

/** The output row of pixel p (row r = p / Wd, column j) at tap (a, b). */
function outAt(y: usize, p: i32, Wd: i32, a: i32, b: i32, coB: usize): usize {
  const r = p / Wd, j = p - r * Wd;
  return y + (<usize>((2 * r + a) * 2 * Wd + 2 * j + b)) * coB;
}

function fwd4x8(x: usize, w: usize, bias: usize, o0: usize, o1: usize, o2: usize, o3: usize, C: i32, cB: usize, coB: usize): void {
  const b0 = v128.load(bias), b1 = v128.load(bias, 16);
  let a00 = b0, a01 = b1, a10 = b0, a11 = b1, a20 = b0, a21 = b1, a30 = b0, a31 = b1;
  for (let c = 0; c < C; c++) {
    const w0 = v128.load(w), w1 = v128.load(w, 16);
    let v = v128.load32_splat(x);
    a00 = madd(v, w0, a00);
    a01 = madd(v, w1, a01);
    v = v128.load32_splat(x + cB);
    a10 = madd(v, w0, a10);
    a11 = madd(v, w1, a11);
    v = v128.load32_splat(x + 2 * cB);
    a20 = madd(v, w0, a20);
    a21 = madd(v, w1, a21);
    v = v128.load32_splat(x + 3 * cB);
    a30 = madd(v, w0, a30);
    a31 = madd(v, w1, a31);
    x += 4;
    w += coB;
  }
  v128.store(o0, a00);
  v128.store(o0, a01, 16);
  v128.store(o1, a10);
  v128.store(o1, a11, 16);
  v128.store(o2, a20);
  v128.store(o2, a21, 16);
  v128.store(o3, a30);
  v128.store(o3, a31, 16);
}

function fwd4x4(x: usize, w: usize, bias: usize, o0: usize, o1: usize, o2: usize, o3: usize, C: i32, cB: usize, coB: usize): void {
  const b0 = v128.load(bias);
  let a0 = b0, a1 = b0, a2 = b0, a3 = b0;
  for (let c = 0; c < C; c++) {
    const w0 = v128.load(w);
    a0 = madd(v128.load32_splat(x), w0, a0);
    a1 = madd(v128.load32_splat(x + cB), w0, a1);
    a2 = madd(v128.load32_splat(x + 2 * cB), w0, a2);
    a3 = madd(v128.load32_splat(x + 3 * cB), w0, a3);
    x += 4;
    w += coB;
  }
  v128.store(o0, a0);
  v128.store(o1, a1);
  v128.store(o2, a2);
  v128.store(o3, a3);
}

/**
 * Filter gradient: dW [2, 2, CO, C] (overwritten) = Σ_p dy[p at (a, b)]ᵀ·x[p] for x [R·Wd, C] and
 * dy [2R, 2Wd, CO]. Register tiles of 4 output × 8 (or 4) input channels run over blocks of about
 * KC pixels (whole rows), whose sums are added into dW, as convFilterGrad does.
 */
export function upconvFilterGrad(x: usize, dy: usize, dW: usize, R: i32, Wd: i32, C: i32, CO: i32): void {
  memory.fill(dW, 0, (<usize>(4 * C * CO)) << 2);
  const cB = (<usize>C) << 2;
  const coB = (<usize>CO) << 2;
  const rowsPer = max(1, KC / Wd);
  for (let r0 = 0; r0 < R; r0 += rowsPer) {
    const nr = min(rowsPer, R - r0);
    const xb = x + (<usize>(r0 * Wd)) * cB;
    for (let t = 0; t < 4; t++) {
      const a = t >> 1, bb = t & 1;
      const dyb = dy + (<usize>((2 * r0 + a) * 2 * Wd + bb)) * coB;
      const wt = dW + (<usize>t) * (<usize>CO) * cB;
      for (let co: usize = 0; co < coB; co += 16) {
        let c: usize = 0;
        for (; c + 32 <= cB; c += 32) dw4x8(dyb + co, xb + c, wt + (co >> 2) * cB + c, nr, Wd, cB, coB);
        if (c < cB) dw4x4(dyb + co, xb + c, wt + (co >> 2) * cB + c, nr, Wd, cB, coB);
      }
    }
  }
}

function dw4x8(dy: usize, x: usize, w: usize, nr: i32, Wd: i32, cB: usize, coB: usize): void {
  let a00 = f32x4.splat(0), a01 = f32x4.splat(0);
  let a10 = f32x4.splat(0), a11 = f32x4.splat(0);
  let a20 = f32x4.splat(0), a21 = f32x4.splat(0);
  let a30 = f32x4.splat(0), a31 = f32x4.splat(0);
  const dyRow = (<usize>(4 * Wd)) * coB;
  for (let r = 0; r < nr; r++) {
    let d = dy;
    for (let j = 0; j < Wd; j++) {
      const x0 = v128.load(x), x1 = v128.load(x, 16);
      let v = v128.load32_splat(d);
      a00 = madd(v, x0, a00);
      a01 = madd(v, x1, a01);
      v = v128.load32_splat(d, 4);
      a10 = madd(v, x0, a10);
      a11 = madd(v, x1, a11);
      v = v128.load32_splat(d, 8);
      a20 = madd(v, x0, a20);
      a21 = madd(v, x1, a21);
      v = v128.load32_splat(d, 12);
      a30 = madd(v, x0, a30);
      a31 = madd(v, x1, a31);
      x += cB;
      d += 2 * coB;
    }
    dy += dyRow;
  }
  v128.store(w, f32x4.add(v128.load(w), a00));
  v128.store(w, f32x4.add(v128.load(w, 16), a01), 16);
  w += cB;
  v128.store(w, f32x4.add(v128.load(w), a10));
  v128.store(w, f32x4.add(v128.load(w, 16), a11), 16);
  w += cB;
  v128.store(w, f32x4.add(v128.load(w), a20));
  v128.store(w, f32x4.add(v128.load(w, 16), a21), 16);
  w += cB;
  v128.store(w, f32x4.add(v128.load(w), a30));
  v128.store(w, f32x4.add(v128.load(w, 16), a31), 16);
}

function dw4x4(dy: usize, x: usize, w: usize, nr: i32, Wd: i32, cB: usize, coB: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const dyRow = (<usize>(4 * Wd)) * coB;
  for (let r = 0; r < nr; r++) {
    let d = dy;
    for (let j = 0; j < Wd; j++) {
      const x0 = v128.load(x);
      a0 = madd(v128.load32_splat(d), x0, a0);
      a1 = madd(v128.load32_splat(d, 4), x0, a1);
      a2 = madd(v128.load32_splat(d, 8), x0, a2);
      a3 = madd(v128.load32_splat(d, 12), x0, a3);
      x += cB;
      d += 2 * coB;
    }
    dy += dyRow;
  }
  v128.store(w, f32x4.add(v128.load(w), a0));
  w += cB;
  v128.store(w, f32x4.add(v128.load(w), a1));
  w += cB;
  v128.store(w, f32x4.add(v128.load(w), a2));
  w += cB;
  v128.store(w, f32x4.add(v128.load(w), a3));
}

/**
 * Input gradient: dx [R·Wd, C] (overwritten) = Σ_(a,b) dy[p at (a, b)]·W[a, b]ᵀ for dy
 * [2R, 2Wd, CO] and W [2, 2, CO, C] as tfjs holds it (input channels contiguous). Register tiles
 * of 4 pixels × 8 (or 4) input channels over the 4 taps and CO.
 */
export function upconvInputGrad(dy: usize, w: usize, dx: usize, R: i32, Wd: i32, C: i32, CO: i32): void {
  const P = R * Wd;
  const cB = (<usize>C) << 2;
  const coB = (<usize>CO) << 2;
  let p = 0;
  for (; p + 4 <= P; p += 4) {
    const o = dx + (<usize>p) * cB;
    let c: usize = 0;
    for (; c + 32 <= cB; c += 32) dx4x8(dy, w + c, o + c, p, Wd, CO, cB, coB);
    if (c < cB) dx4x4(dy, w + c, o + c, p, Wd, CO, cB, coB);
  }
  for (; p < P; p++) {
    const o = dx + (<usize>p) * cB;
    for (let c: usize = 0; c < cB; c += 16) {
      let acc = f32x4.splat(0);
      for (let t = 0; t < 4; t++) {
        const d = outAt(dy, p, Wd, t >> 1, t & 1, coB);
        let wp = w + (<usize>t) * (<usize>CO) * cB + c;
        for (let co = 0; co < CO; co++) {
          acc = madd(v128.load32_splat(d + ((<usize>co) << 2)), v128.load(wp), acc);
          wp += cB;
        }
      }
      v128.store(o + c, acc);
    }
  }
}

function dx4x8(dy: usize, w: usize, o: usize, p: i32, Wd: i32, CO: i32, cB: usize, coB: usize): void {
  let a00 = f32x4.splat(0), a01 = f32x4.splat(0);
  let a10 = f32x4.splat(0), a11 = f32x4.splat(0);
  let a20 = f32x4.splat(0), a21 = f32x4.splat(0);
  let a30 = f32x4.splat(0), a31 = f32x4.splat(0);
  for (let t = 0; t < 4; t++) {
    const a = t >> 1, b = t & 1;
    let d0 = outAt(dy, p, Wd, a, b, coB), d1 = outAt(dy, p + 1, Wd, a, b, coB);
    let d2 = outAt(dy, p + 2, Wd, a, b, coB), d3 = outAt(dy, p + 3, Wd, a, b, coB);
    let wp = w + (<usize>t) * (<usize>CO) * cB;
    for (let co = 0; co < CO; co++) {
      const w0 = v128.load(wp), w1 = v128.load(wp, 16);
      let v = v128.load32_splat(d0);
      a00 = madd(v, w0, a00);
      a01 = madd(v, w1, a01);
      v = v128.load32_splat(d1);
      a10 = madd(v, w0, a10);
      a11 = madd(v, w1, a11);
      v = v128.load32_splat(d2);
      a20 = madd(v, w0, a20);
      a21 = madd(v, w1, a21);
      v = v128.load32_splat(d3);
      a30 = madd(v, w0, a30);
      a31 = madd(v, w1, a31);
      d0 += 4;
      d1 += 4;
      d2 += 4;
      d3 += 4;
      wp += cB;
    }
  }
  v128.store(o, a00);
  v128.store(o, a01, 16);
  o += cB;
  v128.store(o, a10);
  v128.store(o, a11, 16);
  o += cB;
  v128.store(o, a20);
  v128.store(o, a21, 16);
  o += cB;
  v128.store(o, a30);
  v128.store(o, a31, 16);
}

function dx4x4(dy: usize, w: usize, o: usize, p: i32, Wd: i32, CO: i32, cB: usize, coB: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  for (let t = 0; t < 4; t++) {
    const a = t >> 1, b = t & 1;
    let d0 = outAt(dy, p, Wd, a, b, coB), d1 = outAt(dy, p + 1, Wd, a, b, coB);
    let d2 = outAt(dy, p + 2, Wd, a, b, coB), d3 = outAt(dy, p + 3, Wd, a, b, coB);
    let wp = w + (<usize>t) * (<usize>CO) * cB;
    for (let co = 0; co < CO; co++) {
      const w0 = v128.load(wp);
      a0 = madd(v128.load32_splat(d0), w0, a0);
      a1 = madd(v128.load32_splat(d1), w0, a1);
      a2 = madd(v128.load32_splat(d2), w0, a2);
      a3 = madd(v128.load32_splat(d3), w0, a3);
      d0 += 4;
      d1 += 4;
      d2 += 4;
      d3 += 4;
      wp += cB;
    }
  }
  v128.store(o, a0);
  o += cB;
  v128.store(o, a1);
  o += cB;
  v128.store(o, a2);
  o += cB;
  v128.store(o, a3);
}
