/**
 * The page's WebGPU for tfjs, set up with the same browser-safe code the CLI uses on Dawn
 * (app/learning/webgpu/): a device with the adapter's own limits, guarded so that any validation
 * or out-of-memory error, and any tensor over maxStorageBufferBindingSize, becomes an exception
 * (a wrong number never flows on silently), plus the tfjs-backend-webgpu 4.22 kernel workarounds
 * and the gradients tfjs lacks. Only the GPU differs: here it is Chromium's `navigator.gpu`.
 */
import * as tf from '@tensorflow/tfjs';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { registerWebgpuBackend, type GpuLike, type WebGPUBackendCtor } from '../app/learning/webgpu/device.ts';
import { installWebgpuKernelWorkarounds, registerMissingGradients } from '../app/learning/webgpu/workarounds.ts';
import type { AdapterInfo } from '../app/learning/gpu-host/protocol.ts';

export interface GpuStart {
  adapter: AdapterInfo | null;
  /** Why there is no adapter (then training stays on the CPU ladder). */
  reason?: string;
  /** Osteon's kernel workarounds and gradients in force, e.g. 'webgpu:Select'. */
  kernels: string[];
}

export async function startWebgpu(): Promise<GpuStart> {
  if (!('gpu' in navigator) || !navigator.gpu) return { adapter: null, reason: 'navigator.gpu is missing: WebGPU is off in this browser (or the page is not a secure context)', kernels: [] };
  const adapter = await registerWebgpuBackend(navigator.gpu as unknown as GpuLike, WebGPUBackend as unknown as WebGPUBackendCtor);
  if (!adapter) return { adapter: null, reason: 'navigator.gpu.requestAdapter() found no adapter', kernels: [] };
  const kernels = [...installWebgpuKernelWorkarounds(), ...registerMissingGradients()];
  if (!(await tf.setBackend('webgpu'))) return { adapter: null, reason: 'tfjs could not start its webgpu backend on the adapter', kernels };
  return { adapter, kernels };
}
