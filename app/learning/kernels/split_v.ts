import * as tf from '@tensorflow/tfjs';
import type { SplitVAttrs } from '@tensorflow/tfjs';
import { alloc, asWasm, view } from './wasm_heap.ts';

/**
 * SplitV (the gradient of concat, so every U-Net skip connection) as contiguous block copies:
 * with x viewed as [outer, size(axis)·inner], piece i takes the columns
 * [offset_i·inner, (offset_i + size_i)·inner) of every row. The built-in slices element by
 * element and took 2.3–3.9 s for one 64³×16 rank-5 split (`npm run bench -- --suite kernels`). Non-float32 inputs go to
 * the built-in.
 */
export function splitVLastAxis(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x;
    if (!x || x.dtype !== 'float32') return fallback(args);
    const backend = asWasm(args.backend);
    const { numOrSizeSplits, axis } = args.attrs as unknown as SplitVAttrs;
    const ax = tf.util.parseAxisParam(axis, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, ax);
    const outer = x.shape.slice(0, ax).reduce((a, b) => a * b, 1);
    const inner = x.shape.slice(ax + 1).reduce((a, b) => a * b, 1);
    const rowLen = x.shape[ax] * inner;
    const outs = sizes.map((s) => alloc(backend, x.shape.map((d, i) => (i === ax ? s : d))));
    const src = view(backend, x);
    let offset = 0;
    for (let p = 0; p < outs.length; p++) {
      const len = sizes[p] * inner;
      const dst = view(backend, outs[p]);
      for (let r = 0; r < outer; r++) {
        const s = r * rowLen + offset;
        dst.set(src.subarray(s, s + len), r * len);
      }
      offset += len;
    }
    return outs;
  };
}
