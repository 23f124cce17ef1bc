/**
 * The webgpu rung in Node (the CLI, the browser host, CI): Dawn's Node binding (npm `webgpu`)
 * provides the GPU. Electron refuses Dawn's external buffers, so the app's main process never
 * takes this path; its GPU host page installs the same workarounds on Chromium's navigator.gpu.
 *
 * Order matters (../shared/notes/gpu-webgpu-measured.md): the WebGPU globals (GPUBufferUsage, …)
 * and navigator.gpu must exist before @tensorflow/tfjs-backend-webgpu is imported, because the
 * backend registers itself at import only when navigator.gpu exists.
 */
import { registerWebgpuBackend, type AdapterSummary, type GpuLike, type WebGPUBackendCtor } from './device.ts';
import { installWebgpuKernelWorkarounds } from './workarounds.ts';

export interface NodeWebgpu {
  adapter: AdapterSummary;
  /** Kernels wrapped by workarounds.ts, e.g. 'webgpu:Select'. */
  kernels: string[];
}

let loaded: Promise<NodeWebgpu | string> | null = null;

/**
 * Loads Dawn, finds an adapter and registers the guarded 'webgpu' backend (not yet active).
 * Resolves with the adapter, or with the reason there is none (no adapter: e.g. Mesa < 25,
 * no Vulkan driver). Once per process.
 */
export function loadNodeWebgpu(): Promise<NodeWebgpu | string> {
  loaded ??= load();
  return loaded;
}

async function load(): Promise<NodeWebgpu | string> {
  const dawn = await import('webgpu');
  const g = globalThis as Record<string, unknown>;
  for (const [k, v] of Object.entries(dawn.globals)) if (!(k in g)) g[k] = v;
  // Dawn logs its own adapter warnings on stderr; the toggles keep them to real problems.
  const gpu = dawn.create([]) as unknown as GpuLike;
  // Node ≥ 21 has a read-only global navigator; define gpu on a copy of it.
  const nav = (g.navigator ?? {}) as object;
  Object.defineProperty(globalThis, 'navigator', { value: Object.assign(Object.create(nav) as object, { gpu }), configurable: true, writable: true });
  const webgpu = await import('@tensorflow/tfjs-backend-webgpu');
  const adapter = await registerWebgpuBackend(gpu, webgpu.WebGPUBackend as unknown as WebGPUBackendCtor);
  if (!adapter) return 'Dawn found no WebGPU adapter (a Vulkan driver is needed on Linux: Mesa ≥ 25 lavapipe, or the GPU vendor\'s driver; `vulkaninfo --summary` lists them)';
  return { adapter, kernels: installWebgpuKernelWorkarounds() };
}
