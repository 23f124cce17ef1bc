import * as tf from '@tensorflow/tfjs';

/**
 * The gradient of `Conv3DBackpropInputV2` (the kernel behind `tf.conv3dTranspose`), which
 * tfjs-core 4.22 lacks on every backend: training a conv3dTranspose throws "gradient function
 * not found for Conv3DBackpropInputV2".
 *
 * The kernel computes dx = Aᵀ(dy) where A = conv3d(·, filter). For an upstream gradient g of
 * dx: ⟨g, Aᵀ dy⟩ = ⟨A g, dy⟩, so d/d(dy) = conv3d(g, filter), and the same bilinear form read
 * as a function of the filter gives d/d(filter) = Conv3DBackpropFilterV2(x = g, dy).
 * Registered globally (gradients are backend-independent).
 */
export function registerConv3dTransposeGradient(): string {
  tf.registerGradient({
    kernelName: 'Conv3DBackpropInputV2',
    inputsToSave: ['dy', 'filter'],
    gradFunc: (upstream, saved, attrs) => {
      const g = (Array.isArray(upstream) ? upstream[0] : upstream) as tf.Tensor5D;
      const [dy, filter] = saved as [tf.Tensor5D, tf.Tensor5D];
      const strides = attrs.strides as [number, number, number];
      const pad = attrs.pad as 'valid' | 'same';
      return {
        dy: () => tf.conv3d(g, filter, strides, pad),
        filter: () =>
          tf.engine().runKernel('Conv3DBackpropFilterV2', { x: g, dy }, { strides, pad, filterShape: filter.shape }) as tf.Tensor5D,
      };
    },
  });
  return 'gradient:Conv3DBackpropInputV2';
}
