/**
 * Batch and patch sizes that fit a WebGPU adapter. Browser-safe and pure.
 *
 * WebGPU gives no "free memory" figure; what breaks first is the per-binding limit: every tensor
 * a kernel reads or writes is one storage-buffer binding, and one over maxStorageBufferBindingSize
 * fails validation (guarded into an exception by device.ts). So the plan keeps the largest
 * tensor of a U-Net training step under that limit, with a margin.
 *
 * The largest tensor of a step (channels-last, float32): the level-0 skip concat and its
 * gradient, N · voxels(patch) · 2·f0 · 4 bytes; the head's logits (N · voxels · outChannels) and
 * the first level's activations (f0 channels) are smaller whenever outChannels ≤ 2·f0, and the
 * deeper levels shrink by 2^d per level while filters at most double. The estimate takes the
 * largest of these.
 */

export interface MemoryRequest {
  spatialDims: 2 | 3;
  batch: number;
  /** [H, W] or [D, H, W]; each a multiple of `multiple`. */
  patch: number[];
  filters: number[];
  inChannels: number;
  outChannels: number;
  /** Spatial sizes must stay multiples of this (2^poolings). */
  multiple: number;
}

export interface MemoryPlan {
  batch: number;
  patch: number[];
  /** Bytes of the largest tensor of a training step with this batch and patch. */
  largestTensorBytes: number;
  limitBytes: number;
  /** True when batch or patch was reduced from the request. */
  reduced: boolean;
  /** One sentence for people: what was chosen and why. */
  text: string;
}

/** Share of the binding limit a plan may use (room for the 4-byte alignment and kernel temporaries). */
export const MEMORY_MARGIN = 0.8;

export function largestTensorBytes(r: Pick<MemoryRequest, 'batch' | 'patch' | 'filters' | 'inChannels' | 'outChannels'>): number {
  const voxels = r.patch.reduce((a, b) => a * b, 1);
  const channels = Math.max(2 * r.filters[0], r.outChannels, r.inChannels);
  return 4 * r.batch * voxels * channels;
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(b < 10 * 2 ** 20 ? 1 : 0)} MiB`;

/**
 * The request's batch and patch if they fit `maxStorageBufferBindingSize` (× MEMORY_MARGIN);
 * otherwise the batch is lowered first (down to 1), then the largest patch axis is halved
 * (staying a multiple of `multiple`) until the step fits. Throws when even the smallest patch
 * does not fit (a broken adapter limit).
 */
export function planMemory(r: MemoryRequest, maxStorageBufferBindingSize: number): MemoryPlan {
  const limit = maxStorageBufferBindingSize * MEMORY_MARGIN;
  let batch = r.batch;
  const patch = [...r.patch];
  const bytes = () => largestTensorBytes({ ...r, batch, patch });
  while (bytes() > limit && batch > 1) batch = Math.max(1, Math.floor(batch / 2));
  while (bytes() > limit) {
    const axis = patch.indexOf(Math.max(...patch));
    const half = Math.floor(patch[axis] / 2 / r.multiple) * r.multiple;
    if (half < r.multiple) throw new Error(`webgpu: no patch fits maxStorageBufferBindingSize ${mib(maxStorageBufferBindingSize)}`);
    patch[axis] = half;
  }
  const reduced = batch !== r.batch || patch.some((p, i) => p !== r.patch[i]);
  const largest = bytes();
  const text = reduced
    ? `webgpu memory plan: batch ${r.batch} → ${batch}, patch ${r.patch.join('×')} → ${patch.join('×')}, so the largest tensor (${mib(largest)}) fits the adapter's maxStorageBufferBindingSize (${mib(maxStorageBufferBindingSize)}, ${Math.round(MEMORY_MARGIN * 100)}% used at most)`
    : `webgpu memory plan: batch ${batch}, patch ${patch.join('×')} fit: largest tensor ${mib(largest)} of the adapter's maxStorageBufferBindingSize ${mib(maxStorageBufferBindingSize)}`;
  return { batch, patch, largestTensorBytes: largest, limitBytes: maxStorageBufferBindingSize, reduced, text };
}

/**
 * How many inference windows (2D slices or 3D patches) to run at once so that the largest
 * tensor of a forward pass fits; at least 1. Inference holds no gradients, so the same bound as
 * training is conservative.
 */
export function inferenceBatch(r: Omit<MemoryRequest, 'batch' | 'multiple'>, requested: number, maxStorageBufferBindingSize: number): number {
  let b = requested;
  while (b > 1 && largestTensorBytes({ ...r, batch: b }) > maxStorageBufferBindingSize * MEMORY_MARGIN) b = Math.max(1, Math.floor(b / 2));
  return b;
}
