import type * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { ConvGeom } from './geometry.ts';
import { convBackpropFilterByTaps } from './bpf_taps.ts';
import { channelMajor, col2imRows, im2colCols, rowsPerChunk } from './im2col.ts';
import { alloc, free, matmul, reshaped, view } from './wasm_heap.ts';

/**
 * Convolution gradients lowered to im2col/col2im in JS plus XNNPACK matmuls, in chunks of
 * output rows so the column matrix stays within 16 MiB. With X = im2col(x) [M,K], filter
 * F [K,CO] and dy [M,CO]:  dF = Xᵀ·dy,  dx = col2im(dy·Fᵀ). (The forward pass y = X·F runs as
 * XNNPACK convolutions instead: conv3d_slices.ts.)
 */

/**
 * dF [K,CO]: per-tap matmuls for stride 1 (bpf_taps.ts), else im2col(x)ᵀ · dy summed over
 * chunks of rows.
 */
export function convBackpropFilter(backend: BackendWasm, g: ConvGeom, x: tf.TensorInfo, dy: tf.TensorInfo, filterShape: number[]): tf.TensorInfo {
  const byTaps = useTaps ? convBackpropFilterByTaps(backend, g, x, dy, filterShape) : null;
  if (byTaps) return byTaps;
  const rows = rowsPerChunk(g);
  const xc = channelMajor(g, view(backend, x));
  if (rows >= g.M) {
    const colsT = alloc(backend, [1, g.K, g.M]);
    im2colCols(g, xc, 0, g.M, view(backend, colsT));
    const dF = matmul(backend, colsT, reshaped(dy, [1, g.M, g.CO]));
    free(backend, colsT);
    return reshaped(dF, filterShape);
  }
  const acc = new Float64Array(g.K * g.CO);
  for (let m0 = 0; m0 < g.M; m0 += rows) {
    const m1 = Math.min(g.M, m0 + rows);
    const colsT = alloc(backend, [1, g.K, m1 - m0]);
    const dyPart = alloc(backend, [1, m1 - m0, g.CO]);
    view(backend, dyPart).set(view(backend, dy).subarray(m0 * g.CO, m1 * g.CO));
    im2colCols(g, xc, m0, m1, view(backend, colsT));
    const part = matmul(backend, colsT, dyPart);
    const p = view(backend, part);
    for (let i = 0; i < p.length; i++) acc[i] += p[i];
    free(backend, colsT, dyPart, part);
  }
  const dF = alloc(backend, filterShape);
  view(backend, dF).set(acc);
  return dF;
}

let useTaps = true;

/** Tests switch the per-tap filter gradient off to exercise the im2col path; returns the old value. */
export function setFilterGradByTaps(on: boolean): boolean {
  const old = useTaps;
  useTaps = on;
  return old;
}

/** dx = col2im(dy · Fᵀ); Fᵀ [CO,K] is copied once so the matmul needs no transpose flag. */
export function convBackpropInput(backend: BackendWasm, g: ConvGeom, dy: tf.TensorInfo, filter: tf.TensorInfo, inShape: number[]): tf.TensorInfo {
  const dx = alloc(backend, inShape);
  const fT = alloc(backend, [1, g.CO, g.K]);
  transposeInto(view(backend, filter), g.K, g.CO, view(backend, fT));
  view(backend, dx).fill(0);
  const rows = rowsPerChunk(g);
  for (let m0 = 0; m0 < g.M; m0 += rows) {
    const m1 = Math.min(g.M, m0 + rows);
    const whole = m0 === 0 && m1 === g.M;
    let dyPart = reshaped(dy, [1, g.M, g.CO]);
    if (!whole) {
      dyPart = alloc(backend, [1, m1 - m0, g.CO]);
      view(backend, dyPart).set(view(backend, dy).subarray(m0 * g.CO, m1 * g.CO));
    }
    const dcols = matmul(backend, dyPart, fT);
    col2imRows(g, view(backend, dcols), m0, m1, view(backend, dx));
    free(backend, dcols);
    if (!whole) free(backend, dyPart);
  }
  free(backend, fT);
  return dx;
}

/** out[j·rows + i] = a[i·cols + j] for a [rows, cols]. */
export function transposeInto(a: Float32Array, rows: number, cols: number, out: Float32Array): void {
  for (let i = 0; i < rows; i++) {
    const base = i * cols;
    for (let j = 0; j < cols; j++) out[j * rows + i] = a[base + j];
  }
}
