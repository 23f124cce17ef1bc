/**
 * A sampled batch (data/sampler.ts) as the tensors the model and the head's loss take. Browser
 * safe (no Node), so the GPU host page (gpuhost/) builds batches exactly as the training worker does.
 */
import * as tf from '@tensorflow/tfjs';
import type { HeadConfig, TargetByKind } from './heads.ts';
import type { Batch } from './data/sampler.ts';

export type BatchTarget = TargetByKind[HeadConfig['kind']];

export function batchTensors(b: Batch, head: HeadConfig): { x: tf.Tensor; target: BatchTarget } {
  const sp = b.shape;
  const x = tf.tensor(b.x, [b.n, ...sp, b.inChannels]);
  switch (head.kind) {
    case 'joint': return { x, target: { whole: tf.tensor(b.whole!, [b.n, ...sp]), labels: tf.tensor(b.labels!, [b.n, ...sp], 'int32') } };
    case 'softmax': return { x, target: tf.tensor(b.labels!, [b.n, ...sp], 'int32') };
    case 'sigmoid': return { x, target: tf.tensor(b.multiHot!, [b.n, ...sp, b.structures]) };
    default: { const never: never = head; throw new Error(`unknown head ${JSON.stringify(never)}`); }
  }
}

export function disposeTarget(t: BatchTarget): void {
  if (t instanceof tf.Tensor) t.dispose();
  else { t.whole.dispose(); t.labels.dispose(); }
}
