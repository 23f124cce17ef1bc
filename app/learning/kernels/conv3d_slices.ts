import type * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { ConvGeom } from './geometry.ts';
import { alloc, builtin, free, view } from './wasm_heap.ts';

/**
 * A 3D convolution as KD in-plane 2D convolutions on XNNPACK (the wasm backend's Conv2D):
 *   y[n, od] = Σ_kd conv2d(x[n, od·sd − pf + kd·dd], filter[kd])
 * For each depth tap kd, the input depth slices that tap reads are gathered into one batch
 * [N·OD, H, W, C] (zeros where the tap falls in the depth padding; each slice is one contiguous
 * block, so this is a memcpy), convolved with filter[kd] using the in-plane strides, dilations
 * and pads, and summed into y. Far faster than im2col for the small channel counts of 3D
 * U-Nets, where the im2col copy dominates.
 */
export function conv3dBySlices(backend: BackendWasm, g: ConvGeom, x: tf.TensorInfo, filter: tf.TensorInfo): tf.TensorInfo {
  const { N, D, H, W, C, OD, OH, OW, CO, KD, KH, KW } = g;
  const slice = H * W * C;
  const tapSize = KH * KW * C * CO;
  const y = alloc(backend, [N, OD, OH, OW, CO]);
  view(backend, y).fill(0);
  for (let kd = 0; kd < KD; kd++) {
    const slab = alloc(backend, [N * OD, H, W, C]);
    const fk = alloc(backend, [KH, KW, C, CO]);
    const xs = view(backend, x);
    const sv = view(backend, slab);
    view(backend, fk).set(view(backend, filter).subarray(kd * tapSize, (kd + 1) * tapSize));
    let any = false;
    for (let n = 0; n < N; n++) {
      for (let od = 0; od < OD; od++) {
        const id = od * g.sd - g.pf + kd * g.dd;
        const dst = (n * OD + od) * slice;
        if (id < 0 || id >= D) sv.fill(0, dst, dst + slice);
        else {
          sv.set(xs.subarray((n * D + id) * slice, (n * D + id + 1) * slice), dst);
          any = true;
        }
      }
    }
    if (any) {
      const z = builtin('Conv2D')({
        inputs: { x: slab, filter: fk },
        backend,
        attrs: { strides: [g.sh, g.sw], pad: [[0, 0], [g.pt, g.pb], [g.pl, g.pr], [0, 0]], dataFormat: 'NHWC', dilations: [g.dh, g.dw] },
      }) as tf.TensorInfo;
      const zs = z.shape;
      if (zs[1] !== OH || zs[2] !== OW) throw new Error(`conv3dBySlices: in-plane output ${zs[1]}x${zs[2]}, expected ${OH}x${OW}`);
      const yv = view(backend, y);
      const zv = view(backend, z);
      for (let i = 0; i < yv.length; i++) yv[i] += zv[i];
      free(backend, z);
    }
    free(backend, slab, fk);
  }
  return y;
}

/**
 * The filter of the stride-1 input gradient as a forward convolution: rotated 180° in all
 * three spatial axes with the channel axes swapped, [KD,KH,KW,CI,CO] → [KD,KH,KW,CO,CI].
 */
export function flipFilter3D(backend: BackendWasm, filter: tf.TensorInfo): tf.TensorInfo {
  const [KD, KH, KW, CI, CO] = filter.shape;
  const out = alloc(backend, [KD, KH, KW, CO, CI]);
  const src = view(backend, filter);
  const dst = view(backend, out);
  const taps = KD * KH * KW;
  for (let t = 0; t < taps; t++) {
    const s = (taps - 1 - t) * CI * CO;
    const d = t * CO * CI;
    for (let i = 0; i < CI; i++) for (let o = 0; o < CO; o++) dst[d + o * CI + i] = src[s + i * CO + o];
  }
  return out;
}
