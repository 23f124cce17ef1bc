/**
 * y = relu(conv(x, w) + b) (and y = conv(x, w) + b), 2D and 3D, as one op with its own gradient, so a backend with a fused
 * kernel runs it in one call forward (the addon: a oneDNN convolution with bias and ReLU
 * post-ops) and in one pass backward for the ReLU and bias gradients (dy·[y>0] and its sum over
 * N and space), which then feeds the two convolution backprops. tfjs itself only fuses this in 2D
 * (FusedConv2D) and backprops it as Step, Multiply and Sum; in 3D the U-Net ran conv3d, add and
 * relu as three ops.
 *
 * Every backend gets the same op: where the fused kernels are not registered (cpu, webgpu, wasm
 * without the addon) it composes the unfused ops (tf.fused.conv2d in 2D, conv3d + add + relu in
 * 3D) with tfjs's own gradients, so results are the same within float rounding.
 */
import * as tf from '@tensorflow/tfjs';

/** Forward kernel: inputs {x, filter, bias}, attrs ConvBiasAttrs; output y. */
export const CONV_BIAS = 'OsteonConvBias';
/** Backward kernel: inputs {dy, y}, outputs [dy·[y>0], its sum over every axis but the last]. */
export const RELU_BIAS_GRAD = 'OsteonReluBiasGrad';

export interface ConvBiasAttrs {
  strides: number;
  pad: 'same' | 'valid';
  activation: 'relu' | 'linear';
}

function registeredHere(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}

/** What the model ran before these kernels: tfjs's ops and gradients (other backends keep it). */
function unfused(x: tf.Tensor, filter: tf.Tensor, bias: tf.Tensor, a: ConvBiasAttrs): tf.Tensor {
  if (a.activation === 'linear') {
    return tf.add(x.rank === 4 ? tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, a.strides, a.pad) : tf.conv3d(x as tf.Tensor5D, filter as tf.Tensor5D, a.strides, a.pad), bias);
  }
  if (x.rank === 4) return tf.fused.conv2d({ x: x as tf.Tensor4D, filter: filter as tf.Tensor4D, strides: a.strides, pad: a.pad, bias, activation: 'relu' });
  return tf.relu(tf.add(tf.conv3d(x as tf.Tensor5D, filter as tf.Tensor5D, a.strides, a.pad), bias));
}

function convBiasOp(x: tf.Tensor, filter: tf.Tensor, bias: tf.Tensor, attrs: ConvBiasAttrs): tf.Tensor {
  const what = attrs.activation === 'relu' ? 'convBiasRelu' : 'convBias';
  if (x.rank !== 4 && x.rank !== 5) throw new Error(`${what}: input rank ${x.rank}, expected 4 (2D) or 5 (3D)`);
  if (filter.rank !== x.rank || bias.rank !== 1 || bias.shape[0] !== filter.shape[filter.rank - 1]) {
    throw new Error(`${what}: filter [${filter.shape.join(',')}] and bias [${bias.shape.join(',')}] do not fit input [${x.shape.join(',')}]`);
  }
  if (!registeredHere(CONV_BIAS)) return unfused(x, filter, bias, attrs);
  return tf.engine().runKernel(CONV_BIAS, { x, filter, bias }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/**
 * relu(conv(x, filter) + bias): x [N,H,W,C] with filter [KH,KW,C,CO], or x [N,D,H,W,C] with
 * filter [KD,KH,KW,C,CO]; bias [CO]. Channels-last, no dilation.
 */
export function convBiasRelu(x: tf.Tensor, filter: tf.Tensor, bias: tf.Tensor, strides = 1, pad: 'same' | 'valid' = 'same'): tf.Tensor {
  return convBiasOp(x, filter, bias, { strides, pad, activation: 'relu' });
}

/** conv(x, filter) + bias without an activation (the U-Net's 1×1(×1) head); shapes as convBiasRelu. */
export function convBias(x: tf.Tensor, filter: tf.Tensor, bias: tf.Tensor, strides = 1, pad: 'same' | 'valid' = 'valid'): tf.Tensor {
  return convBiasOp(x, filter, bias, { strides, pad, activation: 'linear' });
}

/** [dy·[y>0], sum of that over every axis but the last]: one kernel where registered. */
export function reluBiasGrad(dy: tf.Tensor, y: tf.Tensor): [tf.Tensor, tf.Tensor] {
  if (registeredHere(RELU_BIAS_GRAD)) {
    const [g, db] = tf.engine().runKernel(RELU_BIAS_GRAD, { dy, y }) as tf.Tensor[];
    return [g, db];
  }
  const g = tf.mul(dy, tf.step(y));
  return [g, tf.sum(g, [...Array(dy.rank - 1).keys()])];
}

tf.registerGradient({
  kernelName: CONV_BIAS,
  inputsToSave: ['x', 'filter'],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter, y] = saved;
    const { strides, pad, activation } = attrs as unknown as ConvBiasAttrs;
    const dyT = dy as tf.Tensor;
    // Linear: the bias gradient alone (a Sum over the leading axes, native on wasm+dnnl).
    const [g, db] = activation === 'relu' ? reluBiasGrad(dyT, y) : [dyT, tf.sum(dyT, [...Array(dyT.rank - 1).keys()])];
    const is2 = x.rank === 4;
    return {
      x: () => (is2
        ? tf.conv2dTranspose(g as tf.Tensor4D, filter as tf.Tensor4D, x.shape as [number, number, number, number], strides, pad)
        : tf.conv3dTranspose(g as tf.Tensor5D, filter as tf.Tensor5D, x.shape as [number, number, number, number, number], strides, pad)),
      filter: () => (is2
        ? tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: g }, { strides, pad, dataFormat: 'NHWC', filterShape: filter.shape })
        : tf.engine().runKernel('Conv3DBackpropFilterV2', { x, dy: g }, { strides, pad, filterShape: filter.shape })) as tf.Tensor,
      bias: () => db,
    };
  },
});
