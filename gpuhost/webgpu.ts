/**
 * The page's WebGPU device for tfjs: one adapter, a device that asks for the adapter's own
 * limits (tfjs 4.22 asks for six and leaves maxStorageBuffersPerShaderStage at the default 8, so
 * an AddN of 8 inputs silently returns garbage), and validation that throws: every call runs
 * inside error scopes, and an uncaptured device error fails the next call. A wrong number never
 * flows on silently (issue 19; ../shared/notes/gpu-webgpu-measured.md).
 */
import * as tf from '@tensorflow/tfjs';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { AdapterInfo } from '../app/learning/gpu-host/protocol.ts';

export interface GpuStart {
  adapter: AdapterInfo | null;
  /** Why there is no adapter (then training stays on the CPU ladder). */
  reason?: string;
  /** Runs fn with the device's validation and out-of-memory errors turned into exceptions. */
  guard<T>(what: string, fn: () => Promise<T>): Promise<T>;
}

function limitsOf(l: GPUSupportedLimits): Record<string, number> {
  const out: Record<string, number> = {};
  // WebIDL attributes live on the prototype: for..in walks them, Object.keys would not.
  for (const k in l) {
    const v = (l as unknown as Record<string, unknown>)[k];
    if (typeof v === 'number') out[k] = v;
  }
  return out;
}

const noGuard = <T>(_what: string, fn: () => Promise<T>) => fn();

export async function startWebgpu(): Promise<GpuStart> {
  if (!('gpu' in navigator) || !navigator.gpu) return { adapter: null, reason: 'navigator.gpu is missing: WebGPU is off in this browser', guard: noGuard };
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return { adapter: null, reason: 'navigator.gpu.requestAdapter() found no adapter', guard: noGuard };
  const limits = limitsOf(adapter.limits);
  const features = [...adapter.features].map(String).sort();
  const device = await adapter.requestDevice({
    requiredLimits: limits,
    requiredFeatures: features.includes('timestamp-query') ? ['timestamp-query'] : [],
  });
  let uncaptured: string | null = null;
  device.addEventListener('uncapturederror', (e) => { uncaptured ??= (e as GPUUncapturedErrorEvent).error.message; });
  const info = adapter.info;
  tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new WebGPUBackend(device, info), 3);
  if (!(await tf.setBackend('webgpu'))) return { adapter: null, reason: 'tfjs could not start its webgpu backend on the adapter', guard: noGuard };
  // Hook for the tfjs-backend-webgpu 4.22 workarounds (rank-5 binary ops with a short 1-D operand,
  // rank-5 Select, AddN chunking): one call, here, once it exists (see docs/gpu-host.md).

  const guard = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    if (uncaptured) throw new Error(`WebGPU device error before ${what}: ${uncaptured}`);
    device.pushErrorScope('validation');
    device.pushErrorScope('out-of-memory');
    let value: T, failed: unknown = null;
    try { value = await fn(); } catch (e) { failed = e; }
    const oom = await device.popErrorScope();
    const invalid = await device.popErrorScope();
    const err = invalid ?? oom;
    if (err) throw new Error(`WebGPU ${invalid ? 'validation' : 'out-of-memory'} error in ${what}: ${err.message}`);
    if (uncaptured) throw new Error(`WebGPU device error in ${what}: ${uncaptured}`);
    if (failed) throw failed;
    return value!;
  };
  return {
    adapter: { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description, limits, features },
    guard,
  };
}
