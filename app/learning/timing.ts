/**
 * Times the reference U-Net (joint head, Adam) on the active backend: a training step and a
 * forward pass, each `repeats` times after `warmup` untimed runs (shader compilation, caches).
 * Used by `osteon bench --suite unet` and `osteon gpu-check`.
 */
import * as tf from '@tensorflow/tfjs';
import { timeStats } from '../cli/bench-types.ts';
import { lossFor } from './heads.ts';
import { createAdam } from './native/loss-adam.ts';
import { PROFILE_STEPS, profileSteps, type ProfileReport } from './profile.ts';
import { createParams, disposeParams, forward, type UNetConfig } from './model/unet.ts';
import { createTrainStep } from './step.ts';

/** The reference model, its data and a training step and inference pass; `dispose` frees them. */
export function referenceModel(dims: 2 | 3, batch: number, size: number, filters: number[]) {
  const cfg: UNetConfig = { spatialDims: dims, inChannels: 1, outChannels: 5, filters, normalization: 'none', seed: 0 };
  const params = createParams(cfg);
  const spatial = Array(dims).fill(size);
  const x = tf.randomNormal([batch, ...spatial, 1], 0, 1, 'float32', 1);
  // Labels from host memory, as the sampler makes them: the loss checks their range on the host
  // (webgpu in Node cannot read a device tensor synchronously).
  const n = batch * spatial.reduce((a, b) => a * b, 1);
  const lab = Int32Array.from({ length: n }, (_, i) => Math.floor(Math.abs(Math.sin(i * 12.9898 + 2)) * 4) % 4);
  const labels = tf.tensor(lab, [batch, ...spatial], 'int32');
  const whole = tf.tensor(Float32Array.from(lab, (v) => (v > 0 ? 1 : 0)), [batch, ...spatial]);
  const loss = lossFor({ kind: 'joint', parts: 3, posWeight: 3, a: 1, b: 1, c: 0 });
  const opt = createAdam(1e-3);
  // The training loop's step (step.ts): native on wasm+dnnl, tfjs's minimize elsewhere.
  const stepper = createTrainStep(params, cfg, loss as never, opt);
  const step = async () => {
    const { total, components } = stepper.run(x, { whole, labels });
    await total!.data();
    tf.dispose([total!, ...Object.values(components)]);
  };
  const inferOnce = async () => {
    const y = tf.tidy(() => forward(params, cfg, x));
    await y.data();
    y.dispose();
  };
  const dispose = () => {
    tf.dispose([x, labels, whole]);
    stepper.dispose();
    opt.dispose();
    disposeParams(params);
  };
  return { step, inferOnce, dispose };
}

export async function timeModel(dims: 2 | 3, batch: number, size: number, filters: number[], repeats: number, warmup = 2) {
  const { step, inferOnce, dispose } = referenceModel(dims, batch, size, filters);
  const train: number[] = [], infer: number[] = [];
  for (let i = 0; i < repeats + warmup; i++) {
    const t = performance.now();
    await step();
    if (i >= warmup) train.push(performance.now() - t);
  }
  for (let i = 0; i < repeats + warmup; i++) {
    const t = performance.now();
    await inferOnce();
    if (i >= warmup) infer.push(performance.now() - t);
  }
  dispose();
  return { train: timeStats(train), infer: timeStats(infer) };
}

/**
 * Per-op profiles (profile.ts) of the same training step and inference pass: `steps` of each
 * after two warm-up runs. For `osteon bench --profile` / OSTEON_PROFILE=1.
 */
export async function profileModel(dims: 2 | 3, batch: number, size: number, filters: number[], steps = PROFILE_STEPS): Promise<{ train: ProfileReport; infer: ProfileReport }> {
  const { step, inferOnce, dispose } = referenceModel(dims, batch, size, filters);
  try {
    await step();
    await step();
    const train = await profileSteps('training step', step, steps);
    await inferOnce();
    const infer = await profileSteps('inference', inferOnce, steps);
    return { train, infer };
  } finally {
    dispose();
  }
}
