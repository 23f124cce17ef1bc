/**
 * y = convTranspose(x, w) + b, 2D and 3D (the U-Net's up-sampling), as one op with its own
 * gradient, so a backend with the fused kernels runs it in one call forward (the addon: oneDNN's
 * deconvolution with bias) and the filter and bias gradients in one call backward. tfjs runs it
 * as Conv2DBackpropInput + Add forward, Conv2DBackpropFilter + Sum backward: the output written
 * twice, dy read twice, four kernel calls.
 *
 * Every backend gets the same op: where the fused kernels are not registered (cpu, webgpu, wasm
 * without the addon, OSTEON_FUSE=0) it composes tfjs's ops with their own gradients, so results
 * are the same within float rounding.
 */
import * as tf from '@tensorflow/tfjs';

/** Forward kernel: inputs {x, filter, bias}, attrs ConvTransposeBiasAttrs; output y. */
export const CONV_T_BIAS = 'OsteonConvTransposeBias';
/** Backward kernel: inputs {x, dy}, attrs ConvTransposeBiasAttrs; outputs [dfilter, dbias]. */
export const CONV_T_BIAS_GRAD = 'OsteonConvTransposeBiasGrad';
/**
 * Input-gradient kernel: inputs {dy, filter}, attrs ConvTransposeBiasAttrs; output dx (the conv of
 * dy with the filter). Only the pure-wasm rung registers it (kernels/simd/fused.ts); elsewhere
 * tf.conv2d / tf.conv3d runs.
 */
export const CONV_T_INPUT_GRAD = 'OsteonConvTransposeInputGrad';

export interface ConvTransposeBiasAttrs {
  /** The output shape [N, (D,) H, W, CO]. */
  outShape: number[];
  /** The filter shape [(KD,) KH, KW, CO, CI] (tfjs's transposed-conv layout). */
  filterShape: number[];
  strides: number;
  pad: 'same' | 'valid';
}

function registeredHere(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}

function transposed(x: tf.Tensor, filter: tf.Tensor, a: ConvTransposeBiasAttrs): tf.Tensor {
  return x.rank === 4
    ? tf.conv2dTranspose(x as tf.Tensor4D, filter as tf.Tensor4D, a.outShape as [number, number, number, number], a.strides, a.pad)
    : tf.conv3dTranspose(x as tf.Tensor5D, filter as tf.Tensor5D, a.outShape as [number, number, number, number, number], a.strides, a.pad);
}

/**
 * convTranspose(x, filter) + bias: x [N,H,W,CI] with filter [KH,KW,CO,CI], or x [N,D,H,W,CI]
 * with filter [KD,KH,KW,CO,CI]; bias [CO]; output `outShape` [N,(D,)H,W,CO]. Channels-last.
 */
export function convTransposeBias(x: tf.Tensor, filter: tf.Tensor, bias: tf.Tensor, outShape: number[], strides: number, pad: 'same' | 'valid'): tf.Tensor {
  if (x.rank !== 4 && x.rank !== 5) throw new Error(`convTransposeBias: input rank ${x.rank}, expected 4 (2D) or 5 (3D)`);
  const co = filter.shape[filter.rank - 2];
  if (filter.rank !== x.rank || outShape.length !== x.rank || bias.rank !== 1 || bias.shape[0] !== co || outShape[x.rank - 1] !== co || filter.shape[filter.rank - 1] !== x.shape[x.rank - 1]) {
    throw new Error(`convTransposeBias: filter [${filter.shape.join(',')}], bias [${bias.shape.join(',')}] and output [${outShape.join(',')}] do not fit input [${x.shape.join(',')}]`);
  }
  const attrs: ConvTransposeBiasAttrs = { outShape: [...outShape], filterShape: [...filter.shape], strides, pad };
  if (!registeredHere(CONV_T_BIAS)) return tf.add(transposed(x, filter, attrs), bias);
  return tf.engine().runKernel(CONV_T_BIAS, { x, filter, bias }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/** [d/dfilter, d/dbias] of convTransposeBias for the output gradient dy: one kernel where registered. */
export function convTransposeBiasGrad(x: tf.Tensor, dy: tf.Tensor, attrs: ConvTransposeBiasAttrs): [tf.Tensor, tf.Tensor] {
  if (registeredHere(CONV_T_BIAS_GRAD)) {
    const [dw, db] = tf.engine().runKernel(CONV_T_BIAS_GRAD, { x, dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
    return [dw, db];
  }
  // tfjs's own gradient of the transposed conv's filter: the conv filter gradient with x and dy swapped.
  const { strides, pad, filterShape } = attrs;
  const dw = (x.rank === 4
    ? tf.engine().runKernel('Conv2DBackpropFilter', { x: dy, dy: x }, { strides, pad, dataFormat: 'NHWC', filterShape })
    : tf.engine().runKernel('Conv3DBackpropFilterV2', { x: dy, dy: x }, { strides, pad, filterShape })) as tf.Tensor;
  return [dw, tf.sum(dy, [...Array(dy.rank - 1).keys()])];
}

tf.registerGradient({
  kernelName: CONV_T_BIAS,
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter] = saved;
    const a = attrs as unknown as ConvTransposeBiasAttrs;
    const dyT = dy as tf.Tensor;
    const [dw, db] = convTransposeBiasGrad(x, dyT, a);
    return {
      // The kernel's direct case is 2D; in 3D tf.conv3d runs at the op level, where the profiler
      // records its kernels once (a kernel calling Conv3D's slices inside it was timed twice).
      x: () => (x.rank === 4 && registeredHere(CONV_T_INPUT_GRAD)
        ? tf.engine().runKernel(CONV_T_INPUT_GRAD, { dy: dyT, filter }, attrs) as tf.Tensor
        : x.rank === 4 ? tf.conv2d(dyT as tf.Tensor4D, filter as tf.Tensor4D, a.strides, a.pad) : tf.conv3d(dyT as tf.Tensor5D, filter as tf.Tensor5D, a.strides, a.pad)),
      filter: () => dw,
      bias: () => db,
    };
  },
});
