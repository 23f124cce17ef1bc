// Winograd convolution for 3×3, stride-1 2D convolutions, NHWC float32, on the tfjs wasm heap
// (AssemblyScript, compiled by scripts/build-simd.mjs into winograd_wasm.ts). As kernels.as.ts:
// the module imports the wasm backend's memory, every pointer is a byte offset into it, every
// count a number of float32 values, and it keeps no state and has no data segment.
//
// F(m×m, 3×3), m = 2 or 4, α = m + 2 (Lavin & Gray 2016):  Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
// per output tile of m×m and per channel pair; the products ⊙ summed over the input channels
// are α² matrix products [tiles × Ci] · [Ci × Co], one per point of the α×α tile.
//
// conv() works on blocks of T tiles (T a multiple of 4) so that the block's transformed input
// V [α²][T][Ci] and products M [α²][T][Co] stay in cache:
//   1. input transform: the α×α patch of each tile (zeros outside the image) → V,
//   2. α² products M[ξ] = V[ξ] · U[ξ] in 4×8 register tiles,
//   3. output transform Aᵀ M A, + bias, ReLU, written where the output tile lies in the image.
// Ci and Co must be multiples of 4 (the SIMD width); the caller checks. Tiles whose input patch
// lies in the image, and whole output (or dy) tiles, take a path without per-value bounds checks,
// and the transform helpers are called through inline.always(…): binaryen left bt6 a call, which
// spilled every live v128 (docs/cpu-speed.md, "Winograd at the narrow levels"). Not the @inline
// decorator: TypeScript's parser (eslint) rejects decorators on functions.

function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

/** G·[a, b, c]ᵀ of F(2×2): 3 values → 4, stored at dst + k·stride. */
function g4(a: v128, b: v128, c: v128, dst: usize, stride: usize): void {
  const h = f32x4.splat(0.5);
  const p = f32x4.mul(h, f32x4.add(a, c));
  const q = f32x4.mul(h, b);
  v128.store(dst, a);
  v128.store(dst + stride, f32x4.add(p, q));
  v128.store(dst + 2 * stride, f32x4.sub(p, q));
  v128.store(dst + 3 * stride, c);
}

/** G·[a, b, c]ᵀ of F(4×4): 3 values → 6, stored at dst + k·stride. */
function g6(a: v128, b: v128, c: v128, dst: usize, stride: usize): void {
  const s6 = f32x4.splat(-1.0 / 6.0);
  const p = f32x4.mul(s6, f32x4.add(a, c));
  const q = f32x4.mul(s6, b);
  const r = f32x4.add(f32x4.mul(f32x4.splat(1.0 / 24.0), a), f32x4.mul(f32x4.splat(1.0 / 6.0), c));
  const t = f32x4.mul(f32x4.splat(1.0 / 12.0), b);
  v128.store(dst, f32x4.mul(f32x4.splat(0.25), a));
  v128.store(dst + stride, f32x4.add(p, q));
  v128.store(dst + 2 * stride, f32x4.sub(p, q));
  v128.store(dst + 3 * stride, f32x4.add(r, t));
  v128.store(dst + 4 * stride, f32x4.sub(r, t));
  v128.store(dst + 5 * stride, c);
}

/** Filter tap t (0…8) for input channel ci and output channels co…co+3 (see filterTransform). */
function tap(f: usize, t: i32, ci: i32, co: i32, Ci: i32, Co: i32, flip: i32): v128 {
  const plane = <usize>(Ci * Co);
  if (!flip) return v128.load(f + ((<usize>t * plane + <usize>(ci * Co + co)) << 2));
  // Rotated 180°, channel axes swapped: f [3][3][Co][Ci], the four channels Ci apart.
  const p = f + ((<usize>(8 - t) * plane + <usize>(co * Ci + ci)) << 2);
  const s = (<usize>Ci) << 2;
  let v = f32x4.splat(f32.load(p));
  v = f32x4.replace_lane(v, 1, f32.load(p + s));
  v = f32x4.replace_lane(v, 2, f32.load(p + 2 * s));
  return f32x4.replace_lane(v, 3, f32.load(p + 3 * s));
}

/**
 * U [α²][Ci][Co] = G g Gᵀ for the convolution with Ci input and Co output channels. f is the
 * tfjs filter: flip = 0: [3][3][Ci][Co] (a forward convolution); flip = 1: [3][3][Co][Ci], used
 * rotated 180° with its channel axes swapped (the input gradient of a stride-1 convolution).
 * Each input channel's α² rows go through tmp (α²·Co + 72 floats) and are copied out as runs of Co:
 * storing straight into U wrote α² streams Ci·Co floats apart, which for 128 channels (64 KiB)
 * all fall in one L1 set.
 */
export function filterTransform(f: usize, U: usize, Ci: i32, Co: i32, m: i32, flip: i32, tmp: usize): void {
  const alpha = m + 2;
  const plane = (<usize>(Ci * Co)) << 2;
  const coB = (<usize>Co) << 2;
  const gg = tmp + <usize>(alpha * alpha) * coB;
  for (let ci = 0; ci < Ci; ci++) {
    for (let co = 0; co < Co; co += 4) {
      const dst = tmp + ((<usize>co) << 2);
      // Stage 1: G along each filter column kw → gg[i][kw] (α×3 v128 after the α² rows of tmp).
      for (let kw = 0; kw < 3; kw++) {
        const a = tap(f, kw, ci, co, Ci, Co, flip), b = tap(f, 3 + kw, ci, co, Ci, Co, flip), c = tap(f, 6 + kw, ci, co, Ci, Co, flip);
        if (m == 2) g4(a, b, c, gg + (<usize>kw << 4), 48);
        else g6(a, b, c, gg + (<usize>kw << 4), 48);
      }
      // Stage 2: G along each row i → U rows i·α + j.
      for (let i = 0; i < alpha; i++) {
        const r = gg + <usize>(i * 48);
        const d = dst + <usize>(i * alpha) * coB;
        if (m == 2) g4(v128.load(r), v128.load(r, 16), v128.load(r, 32), d, coB);
        else g6(v128.load(r), v128.load(r, 16), v128.load(r, 32), d, coB);
      }
    }
    const row = U + <usize>ci * coB;
    for (let xi = 0; xi < alpha * alpha; xi++) memory.copy(row + <usize>xi * plane, tmp + <usize>xi * coB, coB);
  }
}

// ---- input transform Bᵀ d B ----

/** Bᵀ of F(2×2): 4 values → 4, stored at dst + k·stride. */
function bt4(d0: v128, d1: v128, d2: v128, d3: v128, dst: usize, stride: usize): void {
  v128.store(dst, f32x4.sub(d0, d2));
  v128.store(dst + stride, f32x4.add(d1, d2));
  v128.store(dst + 2 * stride, f32x4.sub(d2, d1));
  v128.store(dst + 3 * stride, f32x4.sub(d1, d3));
}

/** Bᵀ of F(4×4): 6 values → 6, stored at dst + k·stride. */
function bt6(d0: v128, d1: v128, d2: v128, d3: v128, d4: v128, d5: v128, dst: usize, stride: usize): void {
  const four = f32x4.splat(4);
  const five = f32x4.splat(5);
  const two = f32x4.splat(2);
  // r0 = 4d0 − 5d2 + d4
  v128.store(dst, f32x4.add(f32x4.sub(f32x4.mul(four, d0), f32x4.mul(five, d2)), d4));
  // r1 = −4(d1 + d2) + d3 + d4 ; r2 = 4(d1 − d2) − d3 + d4
  const a = f32x4.sub(d4, f32x4.mul(four, d2));
  const b = f32x4.sub(f32x4.mul(four, d1), d3);
  v128.store(dst + stride, f32x4.sub(a, b));
  v128.store(dst + 2 * stride, f32x4.add(a, b));
  // r3 = −2(d1 − d3) − d2 + d4 ; r4 = 2(d1 − d3) − d2 + d4
  const c = f32x4.sub(d4, d2);
  const e = f32x4.mul(two, f32x4.sub(d1, d3));
  v128.store(dst + 3 * stride, f32x4.sub(c, e));
  v128.store(dst + 4 * stride, f32x4.add(c, e));
  // r5 = 4d1 − 5d3 + d5
  v128.store(dst + 5 * stride, f32x4.add(f32x4.sub(f32x4.mul(four, d1), f32x4.mul(five, d3)), d5));
}

/** The value at patch column j of a row (zero outside the image); row null (0) is all zeros. */
function ld(row: usize, j: i32, jx: i32, W: i32, cB: usize): v128 {
  const ix = jx + j;
  if (row == 0 || ix < 0 || ix >= W) return f32x4.splat(0);
  return v128.load(row + <usize>ix * cB);
}

/**
 * V [α²][T][Ci] for tiles tb … tb+T−1 (tiles past nTiles give zeros). tmp: α² v128 scratch.
 */
function inputTransform(x: usize, V: usize, tmp: usize, tb: i32, T: i32, nTiles: i32, H: i32, W: i32, Ci: i32, tilesH: i32, tilesW: i32, padT: i32, padL: i32, m: i32): void {
  const alpha = m + 2;
  const cB = (<usize>Ci) << 2;
  const tStride = <usize>T * cB; // bytes between ξ planes of V
  for (let tt = 0; tt < T; tt++) {
    const tile = tb + tt;
    const vt = V + <usize>tt * cB;
    if (tile >= nTiles) {
      for (let xi = 0; xi < alpha * alpha; xi++) memory.fill(vt + <usize>xi * tStride, 0, cB);
      continue;
    }
    const n = tile / (tilesH * tilesW);
    const r = tile - n * tilesH * tilesW;
    const ty = r / tilesW;
    const tx = r - ty * tilesW;
    const iy0 = ty * m - padT;
    const ix0 = tx * m - padL;
    const img = x + <usize>n * <usize>H * <usize>W * cB;
    const aS = (<usize>alpha) << 4;
    if (iy0 >= 0 && ix0 >= 0 && iy0 + alpha <= H && ix0 + alpha <= W) {
      // The whole patch lies in the image (most tiles): no bounds checks per value.
      const rowB = <usize>W * cB;
      const p0 = img + (<usize>iy0 * <usize>W + <usize>ix0) * cB;
      for (let c: usize = 0; c < cB; c += 16) {
        for (let i = 0; i < alpha; i++) {
          const p = p0 + <usize>i * rowB + c;
          const dst = tmp + (<usize>(i * alpha) << 4);
          if (m == 2) inline.always(bt4(v128.load(p), v128.load(p + cB), v128.load(p + 2 * cB), v128.load(p + 3 * cB), dst, 16));
          else inline.always(bt6(v128.load(p), v128.load(p + cB), v128.load(p + 2 * cB), v128.load(p + 3 * cB), v128.load(p + 4 * cB), v128.load(p + 5 * cB), dst, 16));
        }
        for (let k = 0; k < alpha; k++) {
          const s = tmp + (<usize>k << 4);
          const dst = vt + c + <usize>k * tStride;
          if (m == 2) inline.always(bt4(v128.load(s), v128.load(s + aS), v128.load(s + 2 * aS), v128.load(s + 3 * aS), dst, <usize>alpha * tStride));
          else inline.always(bt6(v128.load(s), v128.load(s + aS), v128.load(s + 2 * aS), v128.load(s + 3 * aS), v128.load(s + 4 * aS), v128.load(s + 5 * aS), dst, <usize>alpha * tStride));
        }
      }
      continue;
    }
    for (let c: usize = 0; c < cB; c += 16) {
      // Stage 1: each patch row i through Bᵀ along its columns → tmp[i][k].
      for (let i = 0; i < alpha; i++) {
        const iy = iy0 + i;
        const row: usize = iy >= 0 && iy < H ? img + <usize>iy * <usize>W * cB + c : 0;
        const dst = tmp + (<usize>(i * alpha) << 4);
        if (m == 2) inline.always(bt4(ld(row, 0, ix0, W, cB), ld(row, 1, ix0, W, cB), ld(row, 2, ix0, W, cB), ld(row, 3, ix0, W, cB), dst, 16));
        else inline.always(bt6(ld(row, 0, ix0, W, cB), ld(row, 1, ix0, W, cB), ld(row, 2, ix0, W, cB), ld(row, 3, ix0, W, cB), ld(row, 4, ix0, W, cB), ld(row, 5, ix0, W, cB), dst, 16));
      }
      // Stage 2: each column k through Bᵀ along the rows → V[i'·α + k].
      for (let k = 0; k < alpha; k++) {
        const s = tmp + (<usize>k << 4);
        const dst = vt + c + <usize>k * tStride;
        if (m == 2) inline.always(bt4(v128.load(s), v128.load(s + aS), v128.load(s + 2 * aS), v128.load(s + 3 * aS), dst, <usize>alpha * tStride));
        else inline.always(bt6(v128.load(s), v128.load(s + aS), v128.load(s + 2 * aS), v128.load(s + 3 * aS), v128.load(s + 4 * aS), v128.load(s + 5 * aS), dst, <usize>alpha * tStride));
      }
    }
  }
}

// ---- the α² products M[ξ] = V[ξ] · U[ξ] ----

/** M rows t..t+3, columns co..co+7 (bytes: v, u, mo point at them) over Ci input channels. */
function tile4x8(v: usize, u: usize, mo: usize, Ci: i32, cB: usize, coB: usize): void {
  let a00 = f32x4.splat(0), a01 = f32x4.splat(0);
  let a10 = f32x4.splat(0), a11 = f32x4.splat(0);
  let a20 = f32x4.splat(0), a21 = f32x4.splat(0);
  let a30 = f32x4.splat(0), a31 = f32x4.splat(0);
  for (let c = 0; c < Ci; c++) {
    const u0 = v128.load(u);
    const u1 = v128.load(u, 16);
    let s = v128.load32_splat(v);
    a00 = madd(s, u0, a00);
    a01 = madd(s, u1, a01);
    s = v128.load32_splat(v + cB);
    a10 = madd(s, u0, a10);
    a11 = madd(s, u1, a11);
    s = v128.load32_splat(v + 2 * cB);
    a20 = madd(s, u0, a20);
    a21 = madd(s, u1, a21);
    s = v128.load32_splat(v + 3 * cB);
    a30 = madd(s, u0, a30);
    a31 = madd(s, u1, a31);
    v += 4;
    u += coB;
  }
  v128.store(mo, a00);
  v128.store(mo, a01, 16);
  mo += coB;
  v128.store(mo, a10);
  v128.store(mo, a11, 16);
  mo += coB;
  v128.store(mo, a20);
  v128.store(mo, a21, 16);
  mo += coB;
  v128.store(mo, a30);
  v128.store(mo, a31, 16);
}

function tile4x4(v: usize, u: usize, mo: usize, Ci: i32, cB: usize, coB: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  for (let c = 0; c < Ci; c++) {
    const u0 = v128.load(u);
    a0 = madd(v128.load32_splat(v), u0, a0);
    a1 = madd(v128.load32_splat(v + cB), u0, a1);
    a2 = madd(v128.load32_splat(v + 2 * cB), u0, a2);
    a3 = madd(v128.load32_splat(v + 3 * cB), u0, a3);
    v += 4;
    u += coB;
  }
  v128.store(mo, a0);
  v128.store(mo + coB, a1);
  v128.store(mo + 2 * coB, a2);
  v128.store(mo + 3 * coB, a3);
}

function products(V: usize, U: usize, M: usize, T: i32, Ci: i32, Co: i32, a2: i32): void {
  const cB = (<usize>Ci) << 2;
  const coB = (<usize>Co) << 2;
  for (let xi = 0; xi < a2; xi++) {
    const vx = V + <usize>xi * <usize>T * cB;
    const ux = U + <usize>xi * <usize>Ci * coB;
    const mx = M + <usize>xi * <usize>T * coB;
    let co: usize = 0;
    for (; co + 32 <= coB; co += 32) {
      for (let t = 0; t < T; t += 4) tile4x8(vx + <usize>t * cB, ux + co, mx + <usize>t * coB + co, Ci, cB, coB);
    }
    if (co < coB) {
      for (let t = 0; t < T; t += 4) tile4x4(vx + <usize>t * cB, ux + co, mx + <usize>t * coB + co, Ci, cB, coB);
    }
  }
}

// ---- output transform Aᵀ M A ----

/** Aᵀ of F(2×2) on 4 values → 2, stored at dst + k·stride. */
function at4(m0: v128, m1: v128, m2: v128, m3: v128, dst: usize, stride: usize): void {
  v128.store(dst, f32x4.add(f32x4.add(m0, m1), m2));
  v128.store(dst + stride, f32x4.sub(f32x4.sub(m1, m2), m3));
}

/** Aᵀ of F(4×4) on 6 values → 4, stored at dst + k·stride. */
function at6(m0: v128, m1: v128, m2: v128, m3: v128, m4: v128, m5: v128, dst: usize, stride: usize): void {
  const p = f32x4.add(m1, m2);
  const q = f32x4.sub(m1, m2);
  const r = f32x4.add(m3, m4);
  const s = f32x4.sub(m3, m4);
  v128.store(dst, f32x4.add(f32x4.add(m0, p), r));
  v128.store(dst + stride, f32x4.add(q, f32x4.mul(f32x4.splat(2), s)));
  v128.store(dst + 2 * stride, f32x4.add(p, f32x4.mul(f32x4.splat(4), r)));
  v128.store(dst + 3 * stride, f32x4.add(f32x4.add(q, f32x4.mul(f32x4.splat(8), s)), m5));
}

/** v + b, then ReLU when relu ≠ 0. */
function br(v: v128, b: v128, relu: i32): v128 {
  const r = f32x4.add(v, b);
  return relu ? f32x4.max(r, f32x4.splat(0)) : r;
}

/** at4 + bias (+ ReLU): the values as outputTransform's last step gives them. */
function at4br(m0: v128, m1: v128, m2: v128, m3: v128, dst: usize, stride: usize, b: v128, relu: i32): void {
  v128.store(dst, br(f32x4.add(f32x4.add(m0, m1), m2), b, relu));
  v128.store(dst + stride, br(f32x4.sub(f32x4.sub(m1, m2), m3), b, relu));
}

/** at6 + bias (+ ReLU). */
function at6br(m0: v128, m1: v128, m2: v128, m3: v128, m4: v128, m5: v128, dst: usize, stride: usize, b: v128, relu: i32): void {
  const p = f32x4.add(m1, m2);
  const q = f32x4.sub(m1, m2);
  const r = f32x4.add(m3, m4);
  const s = f32x4.sub(m3, m4);
  v128.store(dst, br(f32x4.add(f32x4.add(m0, p), r), b, relu));
  v128.store(dst + stride, br(f32x4.add(q, f32x4.mul(f32x4.splat(2), s)), b, relu));
  v128.store(dst + 2 * stride, br(f32x4.add(p, f32x4.mul(f32x4.splat(4), r)), b, relu));
  v128.store(dst + 3 * stride, br(f32x4.add(f32x4.add(q, f32x4.mul(f32x4.splat(8), s)), m5), b, relu));
}

function outputTransform(M: usize, bias: usize, out: usize, tmp: usize, tb: i32, T: i32, nTiles: i32, OH: i32, OW: i32, Co: i32, tilesH: i32, tilesW: i32, relu: i32, m: i32): void {
  const alpha = m + 2;
  const coB = (<usize>Co) << 2;
  const tStride = <usize>T * coB;
  const zero = f32x4.splat(0);
  const last = min(T, nTiles - tb);
  for (let tt = 0; tt < last; tt++) {
    const tile = tb + tt;
    const n = tile / (tilesH * tilesW);
    const r = tile - n * tilesH * tilesW;
    const ty = r / tilesW;
    const tx = r - ty * tilesW;
    const oy0 = ty * m;
    const ox0 = tx * m;
    const rows = min(m, OH - oy0);
    const cols = min(m, OW - ox0);
    const mt = M + <usize>tt * coB;
    const img = out + <usize>n * <usize>OH * <usize>OW * coB;
    for (let c: usize = 0; c < coB; c += 16) {
      // Stage 1: each row i of M through Aᵀ along its columns → tmp[i][x], x < m.
      for (let i = 0; i < alpha; i++) {
        const s = mt + c + <usize>(i * alpha) * tStride;
        const dst = tmp + (<usize>(i * m) << 4);
        if (m == 2) inline.always(at4(v128.load(s), v128.load(s + tStride), v128.load(s + 2 * tStride), v128.load(s + 3 * tStride), dst, 16));
        else inline.always(at6(v128.load(s), v128.load(s + tStride), v128.load(s + 2 * tStride), v128.load(s + 3 * tStride), v128.load(s + 4 * tStride), v128.load(s + 5 * tStride), dst, 16));
      }
      const mS = (<usize>m) << 4;
      const b = bias ? v128.load(bias + c) : zero;
      if (rows == m && cols == m) {
        // A whole tile inside the output (most tiles): each column straight into its output
        // column, + bias, ReLU.
        const rowB = <usize>OW * coB;
        const o = img + (<usize>oy0 * <usize>OW + <usize>ox0) * coB + c;
        for (let xx = 0; xx < m; xx++) {
          const s = tmp + (<usize>xx << 4);
          if (m == 2) inline.always(at4br(v128.load(s), v128.load(s + mS), v128.load(s + 2 * mS), v128.load(s + 3 * mS), o + <usize>xx * coB, rowB, b, relu));
          else inline.always(at6br(v128.load(s), v128.load(s + mS), v128.load(s + 2 * mS), v128.load(s + 3 * mS), v128.load(s + 4 * mS), v128.load(s + 5 * mS), o + <usize>xx * coB, rowB, b, relu));
        }
        continue;
      }
      // Stage 2: each column x through Aᵀ along the rows → out rows y (tmp2 after tmp).
      const t2 = tmp + (<usize>(alpha * m) << 4);
      for (let xx = 0; xx < m; xx++) {
        const s = tmp + (<usize>xx << 4);
        const dst = t2 + (<usize>xx << 4);
        if (m == 2) inline.always(at4(v128.load(s), v128.load(s + mS), v128.load(s + 2 * mS), v128.load(s + 3 * mS), dst, mS));
        else inline.always(at6(v128.load(s), v128.load(s + mS), v128.load(s + 2 * mS), v128.load(s + 3 * mS), v128.load(s + 4 * mS), v128.load(s + 5 * mS), dst, mS));
      }
      for (let y = 0; y < rows; y++) {
        const orow = img + (<usize>(oy0 + y) * <usize>OW + <usize>ox0) * coB + c;
        for (let xx = 0; xx < cols; xx++) {
          let v = f32x4.add(v128.load(t2 + (<usize>(y * m + xx) << 4)), b);
          if (relu) v = f32x4.max(v, zero);
          v128.store(orow + <usize>xx * coB, v);
        }
      }
    }
  }
}

/**
 * out [N, OH, OW, Co] = conv(x [N, H, W, Ci], 3×3, stride 1) from the transformed filter U
 * (filterTransform), with output (oy, ox) reading input rows oy − padT … oy − padT + 2 and
 * columns ox − padL … (zeros outside), + bias [Co] when bias ≠ 0, ReLU when relu ≠ 0.
 * scratch: α²·T·(Ci + Co) + 2·α²·4 floats; T a multiple of 4.
 */
export function conv(x: usize, U: usize, bias: usize, out: usize, scratch: usize, N: i32, H: i32, W: i32, Ci: i32, Co: i32, OH: i32, OW: i32, padT: i32, padL: i32, relu: i32, m: i32, T: i32): void {
  const alpha = m + 2;
  const a2 = alpha * alpha;
  const tilesH = (OH + m - 1) / m;
  const tilesW = (OW + m - 1) / m;
  const nTiles = N * tilesH * tilesW;
  const V = scratch;
  const M = V + (<usize>(a2 * T * Ci) << 2);
  const tmp = M + (<usize>(a2 * T * Co) << 2);
  for (let tb = 0; tb < nTiles; tb += T) {
    inputTransform(x, V, tmp, tb, T, nTiles, H, W, Ci, tilesH, tilesW, padT, padL, m);
    products(V, U, M, T, Ci, Co, a2);
    outputTransform(M, bias, out, tmp, tb, T, nTiles, OH, OW, Co, tilesH, tilesW, relu, m);
  }
}

// ---- filter gradient ----
// Y = Aᵀ [U ⊙ V] A is linear in U, so dL/dU[ξ] = Σ_tiles V[ξ]ᵀ · Z[ξ] with Z = A dY Aᵀ (the
// tile's output gradient, zeros outside the image), and dL/dg = Gᵀ dU G.

/** A·y of F(2×2): 2 values → 4, stored at dst + k·stride. */
function a2v(y0: v128, y1: v128, dst: usize, stride: usize): void {
  v128.store(dst, y0);
  v128.store(dst + stride, f32x4.add(y0, y1));
  v128.store(dst + 2 * stride, f32x4.sub(y0, y1));
  v128.store(dst + 3 * stride, f32x4.neg(y1));
}

/** A·y of F(4×4): 4 values → 6, stored at dst + k·stride. */
function a4v(y0: v128, y1: v128, y2: v128, y3: v128, dst: usize, stride: usize): void {
  const e = f32x4.add(y0, y2);
  const o = f32x4.add(y1, y3);
  const e4 = f32x4.add(y0, f32x4.mul(f32x4.splat(4), y2));
  const o8 = f32x4.mul(f32x4.splat(2), f32x4.add(y1, f32x4.mul(f32x4.splat(4), y3)));
  v128.store(dst, y0);
  v128.store(dst + stride, f32x4.add(e, o));
  v128.store(dst + 2 * stride, f32x4.sub(e, o));
  v128.store(dst + 3 * stride, f32x4.add(e4, o8));
  v128.store(dst + 4 * stride, f32x4.sub(e4, o8));
  v128.store(dst + 5 * stride, y3);
}

/** dy at tile row y, column xx (zero outside the image). */
function ldy(img: usize, oy: i32, ox: i32, OH: i32, OW: i32, coB: usize): v128 {
  if (oy >= OH || ox >= OW) return f32x4.splat(0);
  return v128.load(img + (<usize>oy * <usize>OW + <usize>ox) * coB);
}

/** Z [α²][T][Co] = A dY Aᵀ for tiles tb … tb+T−1 (tiles past nTiles give zeros). */
function gradTransform(dy: usize, Z: usize, tmp: usize, tb: i32, T: i32, nTiles: i32, OH: i32, OW: i32, Co: i32, tilesH: i32, tilesW: i32, m: i32): void {
  const alpha = m + 2;
  const coB = (<usize>Co) << 2;
  const tStride = <usize>T * coB;
  for (let tt = 0; tt < T; tt++) {
    const tile = tb + tt;
    const zt = Z + <usize>tt * coB;
    if (tile >= nTiles) {
      for (let xi = 0; xi < alpha * alpha; xi++) memory.fill(zt + <usize>xi * tStride, 0, coB);
      continue;
    }
    const n = tile / (tilesH * tilesW);
    const r = tile - n * tilesH * tilesW;
    const ty = r / tilesW;
    const tx = r - ty * tilesW;
    const oy0 = ty * m;
    const ox0 = tx * m;
    const aS = (<usize>alpha) << 4;
    if (oy0 + m <= OH && ox0 + m <= OW) {
      // A whole tile inside dy (most tiles): no bounds checks per value.
      const rowB = <usize>OW * coB;
      const p0 = dy + ((<usize>n * <usize>OH + <usize>oy0) * <usize>OW + <usize>ox0) * coB;
      for (let c: usize = 0; c < coB; c += 16) {
        for (let y = 0; y < m; y++) {
          const p = p0 + <usize>y * rowB + c;
          const dst = tmp + (<usize>(y * alpha) << 4);
          if (m == 2) inline.always(a2v(v128.load(p), v128.load(p + coB), dst, 16));
          else inline.always(a4v(v128.load(p), v128.load(p + coB), v128.load(p + 2 * coB), v128.load(p + 3 * coB), dst, 16));
        }
        for (let k = 0; k < alpha; k++) {
          const s = tmp + (<usize>k << 4);
          const dst = zt + c + <usize>k * tStride;
          if (m == 2) inline.always(a2v(v128.load(s), v128.load(s + aS), dst, <usize>alpha * tStride));
          else inline.always(a4v(v128.load(s), v128.load(s + aS), v128.load(s + 2 * aS), v128.load(s + 3 * aS), dst, <usize>alpha * tStride));
        }
      }
      continue;
    }
    for (let c: usize = 0; c < coB; c += 16) {
      const img = dy + <usize>n * <usize>OH * <usize>OW * coB + c;
      // Stage 1: each dy row y through A along its columns → tmp[y][k], k < α.
      for (let y = 0; y < m; y++) {
        const dst = tmp + (<usize>(y * alpha) << 4);
        const oy = oy0 + y;
        if (m == 2) inline.always(a2v(ldy(img, oy, ox0, OH, OW, coB), ldy(img, oy, ox0 + 1, OH, OW, coB), dst, 16));
        else inline.always(a4v(ldy(img, oy, ox0, OH, OW, coB), ldy(img, oy, ox0 + 1, OH, OW, coB), ldy(img, oy, ox0 + 2, OH, OW, coB), ldy(img, oy, ox0 + 3, OH, OW, coB), dst, 16));
      }
      // Stage 2: each column k through A along the rows → Z[i·α + k].
      for (let k = 0; k < alpha; k++) {
        const s = tmp + (<usize>k << 4);
        const dst = zt + c + <usize>k * tStride;
        if (m == 2) inline.always(a2v(v128.load(s), v128.load(s + aS), dst, <usize>alpha * tStride));
        else inline.always(a4v(v128.load(s), v128.load(s + aS), v128.load(s + 2 * aS), v128.load(s + 3 * aS), dst, <usize>alpha * tStride));
      }
    }
  }
}

/** dU rows ci..ci+3, columns co..co+7 += Σ_{t<T} V[t][ci..] ⊗ Z[t][co..]. */
function acc4x8(v: usize, z: usize, du: usize, T: i32, cB: usize, coB: usize): void {
  let a00 = f32x4.splat(0), a01 = f32x4.splat(0);
  let a10 = f32x4.splat(0), a11 = f32x4.splat(0);
  let a20 = f32x4.splat(0), a21 = f32x4.splat(0);
  let a30 = f32x4.splat(0), a31 = f32x4.splat(0);
  for (let t = 0; t < T; t++) {
    const z0 = v128.load(z);
    const z1 = v128.load(z, 16);
    let s = v128.load32_splat(v);
    a00 = madd(s, z0, a00);
    a01 = madd(s, z1, a01);
    s = v128.load32_splat(v, 4);
    a10 = madd(s, z0, a10);
    a11 = madd(s, z1, a11);
    s = v128.load32_splat(v, 8);
    a20 = madd(s, z0, a20);
    a21 = madd(s, z1, a21);
    s = v128.load32_splat(v, 12);
    a30 = madd(s, z0, a30);
    a31 = madd(s, z1, a31);
    v += cB;
    z += coB;
  }
  v128.store(du, f32x4.add(v128.load(du), a00));
  v128.store(du, f32x4.add(v128.load(du, 16), a01), 16);
  du += coB;
  v128.store(du, f32x4.add(v128.load(du), a10));
  v128.store(du, f32x4.add(v128.load(du, 16), a11), 16);
  du += coB;
  v128.store(du, f32x4.add(v128.load(du), a20));
  v128.store(du, f32x4.add(v128.load(du, 16), a21), 16);
  du += coB;
  v128.store(du, f32x4.add(v128.load(du), a30));
  v128.store(du, f32x4.add(v128.load(du, 16), a31), 16);
}

function acc4x4(v: usize, z: usize, du: usize, T: i32, cB: usize, coB: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  for (let t = 0; t < T; t++) {
    const z0 = v128.load(z);
    a0 = madd(v128.load32_splat(v), z0, a0);
    a1 = madd(v128.load32_splat(v, 4), z0, a1);
    a2 = madd(v128.load32_splat(v, 8), z0, a2);
    a3 = madd(v128.load32_splat(v, 12), z0, a3);
    v += cB;
    z += coB;
  }
  v128.store(du, f32x4.add(v128.load(du), a0));
  v128.store(du + coB, f32x4.add(v128.load(du + coB), a1));
  v128.store(du + 2 * coB, f32x4.add(v128.load(du + 2 * coB), a2));
  v128.store(du + 3 * coB, f32x4.add(v128.load(du + 3 * coB), a3));
}

/** Column k of G dotted with u (Gᵀ·u, α values → 1), 4 channels at once. */
function gCol(m: i32, k: i32, u0: v128, u1: v128, u2: v128, u3: v128, u4: v128, u5: v128): v128 {
  const half = f32x4.splat(0.5);
  if (m == 2) {
    if (k == 0) return f32x4.add(u0, f32x4.mul(half, f32x4.add(u1, u2)));
    if (k == 1) return f32x4.mul(half, f32x4.sub(u1, u2));
    return f32x4.add(u3, f32x4.mul(half, f32x4.add(u1, u2)));
  }
  const s6 = f32x4.splat(1.0 / 6.0);
  if (k == 0) return f32x4.add(f32x4.sub(f32x4.mul(f32x4.splat(0.25), u0), f32x4.mul(s6, f32x4.add(u1, u2))), f32x4.mul(f32x4.splat(1.0 / 24.0), f32x4.add(u3, u4)));
  if (k == 1) return f32x4.add(f32x4.mul(s6, f32x4.sub(u2, u1)), f32x4.mul(f32x4.splat(1.0 / 12.0), f32x4.sub(u3, u4)));
  return f32x4.add(f32x4.mul(s6, f32x4.sub(f32x4.add(u3, u4), f32x4.add(u1, u2))), u5);
}

/**
 * dW [3][3][Ci][Co] = Gᵀ dU G for dU [α²][Ci][Co]. Per input channel, the α² rows of dU are
 * first copied into tmp (α²·Co floats), for the reason given at filterTransform.
 */
function gradFilterTransform(dU: usize, dW: usize, Ci: i32, Co: i32, m: i32, tmp: usize): void {
  const alpha = m + 2;
  const plane = (<usize>(Ci * Co)) << 2;
  const coB = (<usize>Co) << 2;
  const zero = f32x4.splat(0);
  for (let ci = 0; ci < Ci; ci++) {
    const row = (<usize>ci) * coB;
    for (let xi = 0; xi < alpha * alpha; xi++) memory.copy(tmp + <usize>xi * coB, dU + row + <usize>xi * plane, coB);
    for (let c: usize = 0; c < coB; c += 16) {
      // r[i][kw] = Σ_j dU[i][j] G[j][kw], kept as 3 values per row i (up to 6 rows).
      let r00 = zero, r01 = zero, r02 = zero, r10 = zero, r11 = zero, r12 = zero, r20 = zero, r21 = zero, r22 = zero;
      let r30 = zero, r31 = zero, r32 = zero, r40 = zero, r41 = zero, r42 = zero, r50 = zero, r51 = zero, r52 = zero;
      for (let i = 0; i < alpha; i++) {
        const b = tmp + c + <usize>(i * alpha) * coB;
        const u0 = v128.load(b), u1 = v128.load(b + coB), u2 = v128.load(b + 2 * coB), u3 = v128.load(b + 3 * coB);
        const u4 = m == 4 ? v128.load(b + 4 * coB) : zero;
        const u5 = m == 4 ? v128.load(b + 5 * coB) : zero;
        const c0 = inline.always(gCol(m, 0, u0, u1, u2, u3, u4, u5)), c1 = inline.always(gCol(m, 1, u0, u1, u2, u3, u4, u5)), c2 = inline.always(gCol(m, 2, u0, u1, u2, u3, u4, u5));
        if (i == 0) { r00 = c0; r01 = c1; r02 = c2; }
        else if (i == 1) { r10 = c0; r11 = c1; r12 = c2; }
        else if (i == 2) { r20 = c0; r21 = c1; r22 = c2; }
        else if (i == 3) { r30 = c0; r31 = c1; r32 = c2; }
        else if (i == 4) { r40 = c0; r41 = c1; r42 = c2; }
        else { r50 = c0; r51 = c1; r52 = c2; }
      }
      for (let kh = 0; kh < 3; kh++) {
        const d = dW + row + c + <usize>(kh * 3) * plane;
        v128.store(d, inline.always(gCol(m, kh, r00, r10, r20, r30, r40, r50)));
        v128.store(d + plane, inline.always(gCol(m, kh, r01, r11, r21, r31, r41, r51)));
        v128.store(d + 2 * plane, inline.always(gCol(m, kh, r02, r12, r22, r32, r42, r52)));
      }
    }
  }
}

/**
 * dW [3, 3, Ci, Co] of the convolution conv() computes, from x [N, H, W, Ci] and dy
 * [N, OH, OW, Co]. scratch: α²·Ci·Co (dU) + α²·T·(Ci + Co) + 2·α²·4 floats; T a multiple of 4.
 * The last step uses the block scratch (α²·T·(Ci + Co) ≥ α²·Co floats, free by then) as its tmp.
 */
export function convFilterGrad(x: usize, dy: usize, dW: usize, scratch: usize, N: i32, H: i32, W: i32, Ci: i32, Co: i32, OH: i32, OW: i32, padT: i32, padL: i32, m: i32, T: i32): void {
  const alpha = m + 2;
  const a2 = alpha * alpha;
  const tilesH = (OH + m - 1) / m;
  const tilesW = (OW + m - 1) / m;
  const nTiles = N * tilesH * tilesW;
  const cB = (<usize>Ci) << 2;
  const coB = (<usize>Co) << 2;
  const dU = scratch;
  const V = dU + (<usize>(a2 * Ci * Co) << 2);
  const Z = V + (<usize>(a2 * T * Ci) << 2);
  const tmp = Z + (<usize>(a2 * T * Co) << 2);
  memory.fill(dU, 0, <usize>(a2 * Ci * Co) << 2);
  for (let tb = 0; tb < nTiles; tb += T) {
    inputTransform(x, V, tmp, tb, T, nTiles, H, W, Ci, tilesH, tilesW, padT, padL, m);
    gradTransform(dy, Z, tmp, tb, T, nTiles, OH, OW, Co, tilesH, tilesW, m);
    for (let xi = 0; xi < a2; xi++) {
      const vx = V + <usize>xi * <usize>T * cB;
      const zx = Z + <usize>xi * <usize>T * coB;
      const ux = dU + <usize>xi * <usize>Ci * coB;
      for (let ci: usize = 0; ci < cB; ci += 16) {
        let co: usize = 0;
        for (; co + 32 <= coB; co += 32) acc4x8(vx + ci, zx + co, ux + (ci >> 2) * coB + co, T, cB, coB);
        if (co < coB) acc4x4(vx + ci, zx + co, ux + (ci >> 2) * coB + co, T, cB, coB);
      }
    }
  }
  gradFilterTransform(dU, dW, Ci, Co, m, V);
}
