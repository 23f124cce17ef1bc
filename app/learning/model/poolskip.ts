/**
 * A U-Net encoder level's output h feeds two consumers: the 2×2(×2) max pool down to the next
 * level and, kept, the decoder's skip concat. tfjs then adds their two gradients with an Add
 * kernel after MaxPoolGrad has written its own: the full-resolution gradient written twice and
 * read three times. maxPoolSkip(h) returns [pool(h), h] as one op with its own gradient, so a
 * backend with the fused kernels (the addon: native/dnnl/src/pool.cc) computes
 * dh = dskip + MaxPoolGrad(dpooled) in one pass, and the kept h shares h's data (no copy).
 *
 * Where the fused kernels are not registered (cpu, webgpu, wasm without the addon, OSTEON_FUSE=0)
 * it is tfjs's own maxPool with h itself, the graph as before.
 */
import * as tf from '@tensorflow/tfjs';

/** Forward kernel: inputs {x}; outputs [pooled, x kept]. Attrs: PoolSkipAttrs. */
export const POOL_SKIP = 'OsteonMaxPoolSkip';
/** Backward kernel: inputs {dy, input, output, add}; output dx = add + maxPoolGrad(dy). Attrs: PoolSkipAttrs. */
export const POOL_SKIP_GRAD = 'OsteonMaxPoolSkipGrad';

export interface PoolSkipAttrs {
  filterSize: number;
  strides: number;
  pad: 'valid';
}

const ATTRS: PoolSkipAttrs = { filterSize: 2, strides: 2, pad: 'valid' };

function registeredHere(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}

function pool(x: tf.Tensor): tf.Tensor {
  return x.rank === 4 ? tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid') : tf.maxPool3d(x as tf.Tensor5D, 2, 2, 'valid');
}

/** [maxPool(x, 2, 2, 'valid'), x] for x [N,H,W,C] or [N,D,H,W,C]: one op, one gradient kernel where registered. */
export function maxPoolSkip(x: tf.Tensor): [tf.Tensor, tf.Tensor] {
  if (x.rank !== 4 && x.rank !== 5) throw new Error(`maxPoolSkip: input rank ${x.rank}, expected 4 (2D) or 5 (3D)`);
  if (!registeredHere(POOL_SKIP)) return [pool(x), x];
  const [pooled, kept] = tf.engine().runKernel(POOL_SKIP, { x }, ATTRS as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[];
  return [pooled, kept];
}

/** add + the max-pool gradient of dy (x the pool's input, y its output): one kernel where registered. */
function poolGradAdd(dy: tf.Tensor, x: tf.Tensor, y: tf.Tensor, add: tf.Tensor): tf.Tensor {
  if (registeredHere(POOL_SKIP_GRAD)) {
    return tf.engine().runKernel(POOL_SKIP_GRAD, { dy, input: x, output: y, add }, ATTRS as unknown as tf.NamedAttrMap) as tf.Tensor;
  }
  const g = x.rank === 4
    ? tf.engine().runKernel('MaxPoolGrad', { dy, input: x, output: y }, { ...ATTRS })
    : tf.engine().runKernel('MaxPool3DGrad', { dy, input: x, output: y }, { ...ATTRS });
  return tf.add(g as tf.Tensor, add);
}

tf.registerGradient({
  kernelName: POOL_SKIP,
  inputsToSave: ['x'],
  outputsToSave: [true, false],
  gradFunc: (dys, saved) => {
    const [x, y] = saved;
    const [dPooled, dKept] = dys as tf.Tensor[];
    return { x: () => poolGradAdd(dPooled, x, y, dKept) };
  },
});
