/**
 * Sliding-window blending for whole-volume prediction (predict.ts): each window's output values
 * become structure probabilities (the head's activation, fused here), are mirrored back when the
 * window was flipped (TTA), weighted (3D Gaussian) and added into a slab of the volume, with the
 * weights summed beside them; `normalizeWeights` then divides by the summed weight.
 *
 * Two implementations with one contract: the oneDNN addon's multi-threaded C++
 * (native/dnnl/src/accumulate.cc), used once `useNativeAccumulate` hands it the loaded addon
 * (backend.ts does on the wasm+dnnl rung), and the JS below otherwise. Sums run in double and are
 * rounded to float32 once per add on both, so they agree bit for bit on probabilities (head
 * 'probs'); the activations (exp) agree to float32 rounding. No Node imports: the GPU host page
 * bundles predict.ts.
 */
import type { HeadConfig } from './heads.ts';

/** How C window values become S structure probabilities (accumulate.h HeadMode). */
export const HEAD_MODE = { probs: 0, sigmoid: 1, joint: 2, softmaxWhole: 3, softmaxParts: 4 } as const;
export type HeadMode = (typeof HEAD_MODE)[keyof typeof HEAD_MODE];

/** The mode for a head's logits (structureProbs in predict.ts, fused). */
export function headMode(head: HeadConfig, hasWhole: boolean): HeadMode {
  switch (head.kind) {
    case 'sigmoid': return HEAD_MODE.sigmoid;
    case 'joint': return HEAD_MODE.joint;
    case 'softmax': return hasWhole ? HEAD_MODE.softmaxWhole : HEAD_MODE.softmaxParts;
    default: {
      const never: never = head;
      throw new Error(`unknown head ${JSON.stringify(never)}`);
    }
  }
}

export function structuresOf(mode: HeadMode, channels: number): number {
  return mode === HEAD_MODE.joint || mode === HEAD_MODE.softmaxParts ? channels - 1 : channels;
}

/**
 * One accumulate call: `windows` blocks of size [s0,s1,s2] (block axis b = slab axis axes[b]),
 * values channels-last [window, s0, s1, s2, C]; starts in slab coordinates (may be negative or
 * run past the slab: those voxels are skipped); flips mirror the block axis back.
 */
export interface AccumulateSpec {
  mode: HeadMode;
  channels: number;
  size: [number, number, number];
  axes: [number, number, number];
  /** The slab's dims, volume axis 0 fastest. */
  slab: [number, number, number];
  starts: Array<[number, number, number]>;
  flips: Array<[boolean, boolean, boolean]>;
}

/** The addon's entry points (native/dnnl/src/addon.cc). */
export interface AccumulateAddon {
  accumulateWindows(geometry: Int32Array, windows: Int32Array, values: Float32Array, weights: Float32Array | null, acc: Float32Array[], wsum: Float32Array): void;
  normalizeWeights(n: number, acc: Float32Array[], wsum: Float32Array): void;
}

let native: AccumulateAddon | null = null;

/**
 * Hands over the loaded oneDNN addon (or null to go back to JS). An addon built before these
 * entry points existed is ignored. Returns whether the native path is now on.
 */
export function useNativeAccumulate(addon: object | null): boolean {
  const a = addon as Partial<AccumulateAddon> | null;
  native = a && typeof a.accumulateWindows === 'function' && typeof a.normalizeWeights === 'function' ? (a as AccumulateAddon) : null;
  return native !== null;
}

export function nativeAccumulateActive(): boolean {
  return native !== null;
}

export function accumulateWindows(spec: AccumulateSpec, values: Float32Array, weights: Float32Array | null, acc: Float32Array[], wsum: Float32Array, impl: 'auto' | 'js' = 'auto'): void {
  const S = structuresOf(spec.mode, spec.channels);
  if (acc.length !== S) throw new Error(`accumulateWindows: ${acc.length} accumulators for ${S} structures`);
  if (native && impl === 'auto') {
    const n = spec.starts.length;
    const geometry = Int32Array.from([spec.channels, S, spec.mode, ...spec.size, ...spec.axes, ...spec.slab, n]);
    const windows = new Int32Array(n * 6);
    spec.starts.forEach((st, j) => {
      const f = spec.flips[j];
      windows.set([st[0], st[1], st[2], f[0] ? 1 : 0, f[1] ? 1 : 0, f[2] ? 1 : 0], j * 6);
    });
    native.accumulateWindows(geometry, windows, values, weights, acc, wsum);
    return;
  }
  accumulateJs(spec, S, values, weights, acc, wsum);
}

export function normalizeWeights(n: number, acc: Float32Array[], wsum: Float32Array, impl: 'auto' | 'js' = 'auto'): void {
  if (native && impl === 'auto') {
    native.normalizeWeights(n, acc, wsum);
    return;
  }
  for (let v = 0; v < n; v++) {
    const w = wsum[v];
    if (w > 0 && w !== 1) for (let k = 0; k < acc.length; k++) acc[k][v] /= w;
  }
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** Softmax of x[from, from+n) into p[0, n) (max subtracted first, as tfjs does). */
function softmax(x: Float32Array, from: number, n: number, p: Float64Array): void {
  let m = x[from];
  for (let i = 1; i < n; i++) if (x[from + i] > m) m = x[from + i];
  let sum = 0;
  for (let i = 0; i < n; i++) sum += (p[i] = Math.exp(x[from + i] - m));
  for (let i = 0; i < n; i++) p[i] /= sum;
}

function accumulateJs(spec: AccumulateSpec, S: number, values: Float32Array, weights: Float32Array | null, acc: Float32Array[], wsum: Float32Array): void {
  const { mode, channels: C, size: [s0, s1, s2], axes, slab } = spec;
  const strides = [1, slab[0], slab[0] * slab[1]];
  const blockVox = s0 * s1 * s2;
  const p = new Float64Array(Math.max(C, 1));
  const out = new Float64Array(Math.max(S, 1));
  spec.starts.forEach((st, j) => {
    const [f0, f1, f2] = spec.flips[j];
    const base = j * blockVox * C;
    const range = [0, 1, 2].map((b) => [Math.max(0, -st[b]), Math.min([s0, s1, s2][b], slab[axes[b]] - st[b])]);
    for (let x0 = range[0][0]; x0 < range[0][1]; x0++) {
      const m0 = f0 ? s0 - 1 - x0 : x0;
      for (let x1 = range[1][0]; x1 < range[1][1]; x1++) {
        const m1 = f1 ? s1 - 1 - x1 : x1;
        const row = (st[0] + x0) * strides[axes[0]] + (st[1] + x1) * strides[axes[1]];
        for (let x2 = range[2][0]; x2 < range[2][1]; x2++) {
          const m2 = f2 ? s2 - 1 - x2 : x2;
          const b = (x0 * s1 + x1) * s2 + x2;
          const src = base + ((m0 * s1 + m1) * s2 + m2) * C;
          const v = row + (st[2] + x2) * strides[axes[2]];
          const w = weights ? weights[b] : 1;
          switch (mode) {
            case HEAD_MODE.probs: for (let k = 0; k < C; k++) out[k] = values[src + k]; break;
            case HEAD_MODE.sigmoid: for (let k = 0; k < C; k++) out[k] = sigmoid(values[src + k]); break;
            case HEAD_MODE.joint:
              out[0] = sigmoid(values[src]);
              softmax(values, src + 1, C - 1, p);
              for (let k = 1; k < C - 1; k++) out[k] = p[k];
              break;
            case HEAD_MODE.softmaxWhole:
              softmax(values, src, C, p);
              out[0] = 1 - p[0];
              for (let k = 1; k < C; k++) out[k] = p[k];
              break;
            default:
              softmax(values, src, C, p);
              for (let k = 1; k < C; k++) out[k - 1] = p[k];
          }
          // Each probability rounded to float32 first, as the C++ keeps them.
          for (let k = 0; k < S; k++) acc[k][v] += w * Math.fround(out[k]);
          wsum[v] += w;
        }
      }
    }
  });
}
