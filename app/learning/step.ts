/**
 * One training step of the U-Net (forward, loss, backward, optimizer update): the entry point of
 * the training loop (train.ts) and of the bench's timings (timing.ts), so the bench times what
 * users run. On the wasm+dnnl rung it is the native step (native/net-step.ts: the addon's kernels
 * called directly, no tfjs engine or tape); everywhere else, and for whatever that does not cover
 * (normalisation, OSTEON_NATIVE_STEP=0, ...), tfjs's `optimizer.minimize` over the model's ops.
 */
import * as tf from '@tensorflow/tfjs';
import { forward, type Params, type UNetConfig } from './model/unet.ts';
import { NativeNetStep } from './native/net-step.ts';

export interface TrainStepResult {
  /** The loss; null only where tfjs's minimize returned none. The caller disposes it and the components. */
  total: tf.Scalar | null;
  components: Record<string, tf.Scalar>;
}

export interface TrainStep {
  /** One optimizer step on a batch. */
  run(x: tf.Tensor, target: unknown): TrainStepResult;
  /** Which path the last `run` took. */
  readonly last: 'native' | 'tfjs' | null;
  /** Frees the native step's buffers (rebuilt by the next `run`), e.g. while validation needs the memory. */
  release(): void;
  dispose(): void;
}

type LossFn = (logits: tf.Tensor, target: never) => { total: tf.Scalar; components: Record<string, tf.Scalar | undefined> };

export function createTrainStep(params: Params, model: UNetConfig, loss: LossFn, optimizer: tf.Optimizer, lossInputHook?: (logits: tf.Tensor) => tf.Tensor): TrainStep {
  const varList = [...params.values()];
  const native = new NativeNetStep(params, model, loss, optimizer, lossInputHook);
  let last: 'native' | 'tfjs' | null = null;
  const tfjsStep = (x: tf.Tensor, target: unknown): TrainStepResult => {
    let components: Record<string, tf.Scalar> = {};
    const total = optimizer.minimize(() => {
      const out = forward(params, model, x);
      const r = loss(lossInputHook ? lossInputHook(out) : out, target as never);
      components = Object.fromEntries(Object.entries(r.components).filter((e): e is [string, tf.Scalar] => e[1] !== undefined).map(([k, v]) => [k, tf.keep(v)]));
      return r.total;
    }, true, varList);
    return { total, components };
  };
  return {
    run(x, target) {
      const r = native.run(x, target);
      last = r ? 'native' : 'tfjs';
      return r ?? tfjsStep(x, target);
    },
    get last() {
      return last;
    },
    release() {
      native.dispose();
    },
    dispose() {
      native.dispose();
    },
  };
}
