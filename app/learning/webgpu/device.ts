/**
 * Opens a WebGPU device for tfjs-backend-webgpu with the adapter's own limits, and guards it so
 * that a validation error becomes an exception instead of a log line and a wrong number.
 * Browser-safe: the GPU comes in as a parameter (Dawn's `create([])` in Node, `navigator.gpu`
 * in a Chromium page); nothing here imports Node or reads DOM globals.
 *
 * Why the limits: tfjs 4.22 asks the device for six limits only, so it runs with the WebGPU
 * defaults elsewhere, e.g. 8 storage buffers per shader stage where lavapipe and every desktop
 * GPU offer 16 or more (../shared/notes/gpu-webgpu-measured.md §3).
 */
import * as tf from '@tensorflow/tfjs';
import { OsteonError } from '../../util/errors.ts';

/** The adapter limits Osteon requests for its device (all that tfjs kernels or Osteon's memory plan read). */
export const REQUESTED_LIMITS = [
  'maxStorageBufferBindingSize', 'maxBufferSize', 'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize', 'maxComputeWorkgroupsPerDimension', 'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY', 'maxComputeWorkgroupSizeZ', 'maxUniformBufferBindingSize',
] as const;
export type LimitName = (typeof REQUESTED_LIMITS)[number];

/** What `osteon doctor`, run metadata and the UI show about the adapter. */
export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for CPU adapters (lavapipe, SwiftShader): correct, but no speed to expect. */
  software: boolean;
  limits: Record<LimitName, number>;
  features: string[];
}

// Minimal structural views of the WebGPU objects used here (Dawn's and Chromium's agree).
interface GpuError { message: string }
interface GpuDeviceLike {
  limits: Record<string, number>;
  lost?: Promise<{ reason?: string; message?: string }>;
  pushErrorScope(filter: 'validation' | 'out-of-memory' | 'internal'): void;
  popErrorScope(): Promise<GpuError | null>;
  addEventListener?(type: 'uncapturederror', cb: (e: { error: GpuError }) => void): void;
  onuncapturederror?: ((e: { error: GpuError }) => void) | null;
}
interface GpuAdapterLike {
  limits: Record<string, number>;
  features: Iterable<string> & { has(f: string): boolean };
  info?: { vendor?: string; architecture?: string; device?: string; description?: string };
  requestDevice(desc: { requiredLimits?: Record<string, number>; requiredFeatures?: string[] }): Promise<GpuDeviceLike>;
}
export interface GpuLike {
  requestAdapter(opts?: { powerPreference?: 'high-performance' | 'low-power' }): Promise<GpuAdapterLike | null>;
}
/** tfjs-backend-webgpu's WebGPUBackend constructor (passed in: the module is imported by the host). */
export type WebGPUBackendCtor = new (device: never, adapterInfo?: never) => tf.KernelBackend;

export function summarizeAdapter(adapter: GpuAdapterLike): AdapterSummary {
  const info = adapter.info ?? {};
  const limits = Object.fromEntries(REQUESTED_LIMITS.map((k) => [k, Number(adapter.limits[k])])) as Record<LimitName, number>;
  const features = [...adapter.features];
  const architecture = info.architecture ?? '';
  const text = `${info.vendor ?? ''} ${architecture} ${info.device ?? ''} ${info.description ?? ''}`;
  return {
    vendor: info.vendor ?? '', architecture, device: info.device ?? '', description: info.description ?? '',
    software: /llvmpipe|lavapipe|swiftshader|software|\bcpu\b/i.test(text),
    limits, features: features.sort(),
  };
}

/** Thrown for any WebGPU validation, out-of-memory or device-lost error, and for oversized tensors. */
export function gpuError(message: string, detail?: string): OsteonError {
  return new OsteonError({ code: 'backend', message: `webgpu: ${message}`, detail });
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 2 : 0)} MiB`;
}

interface BackendInternals {
  device: GpuDeviceLike;
  runWebGPUProgram(program: { outputShape: number[]; constructor: { name: string } }, inputs: tf.TensorInfo[], ...rest: unknown[]): tf.TensorInfo;
  read(dataId: object): Promise<tf.backend_util.BackendValues>;
  readSync(dataId: object): tf.backend_util.BackendValues;
}

/**
 * Makes every error of the device surface as an exception (defect 4 of workarounds.ts):
 * - before a program runs, each input and the output must fit maxStorageBufferBindingSize
 *   (else the binding fails and the op reads as zeros); the error names the program and sizes;
 * - each program runs in a validation error scope, and an uncaptured-error hook catches what
 *   happens at submit time; the first error is thrown by the next program or the next read
 *   (`tensor.data()`), so a step whose numbers are wrong never returns them.
 */
export function guardBackend(backend: tf.KernelBackend): void {
  const b = backend as unknown as BackendInternals;
  const device = b.device;
  const maxBinding = Number(device.limits.maxStorageBufferBindingSize);
  // Every error since the last throw, in arrival order: a program's own scope can resolve after
  // the uncaptured submit error it caused, and the root cause must not be lost.
  let errors: Array<{ where: string; message: string }> = [];
  const record = (where: string, e: GpuError) => {
    if (errors.length < 8) errors.push({ where, message: e.message });
  };
  const throwPending = () => {
    if (!errors.length) return;
    const all = errors;
    errors = [];
    const root = all.find((e) => !/invalid due to a previous error/.test(e.message)) ?? all[0];
    throw gpuError(`${root.where}: ${root.message.split('\n')[0]}`, all.map((e) => `${e.where}: ${e.message}`).join('\n'));
  };
  const onError = (e: { error: GpuError }) => record('uncaptured device error', e.error);
  if (device.addEventListener) device.addEventListener('uncapturederror', onError);
  else device.onuncapturederror = onError;
  void device.lost?.then((l) => record('device lost', { message: `${l.reason ?? 'unknown'}: ${l.message ?? ''}` }));

  const run = b.runWebGPUProgram.bind(b);
  b.runWebGPUProgram = (program, inputs, ...rest) => {
    throwPending();
    const name = program.constructor.name;
    const check = (shape: readonly number[], what: string) => {
      const bytes = 4 * shape.reduce((a, c) => a * c, 1);
      if (bytes > maxBinding) {
        throw gpuError(`${name}: ${what} [${shape.join(',')}] needs ${mib(bytes)}, over this adapter's maxStorageBufferBindingSize (${mib(maxBinding)}); use a smaller patch or batch`);
      }
    };
    inputs.forEach((t, i) => check(t.shape, `input ${i}`));
    check(program.outputShape, 'output');
    device.pushErrorScope('validation');
    try {
      return run(program, inputs, ...rest);
    } finally {
      void device.popErrorScope().then((e) => { if (e) record(name, e); });
    }
  };
  const read = b.read.bind(b);
  b.read = async (dataId) => {
    throwPending();
    const values = await read(dataId);
    throwPending();
    return values;
  };
  // In Node there is no synchronous read-back (tfjs uses an OffscreenCanvas): say so plainly.
  const readSync = b.readSync.bind(b);
  b.readSync = (dataId) => {
    throwPending();
    try {
      return readSync(dataId);
    } catch (e) {
      if (e instanceof ReferenceError && e.message.includes('OffscreenCanvas')) {
        throw gpuError('dataSync()/arraySync() of a tensor that lives on the GPU: this host has no synchronous read-back; use await tensor.data()');
      }
      throw e;
    }
  };
}

/** The active webgpu device's maxStorageBufferBindingSize, or null when webgpu is not the active backend. */
export function activeBindingLimit(): number | null {
  if (tf.getBackend() !== 'webgpu') return null;
  const b = tf.backend() as unknown as Partial<BackendInternals>;
  const v = Number(b.device?.limits.maxStorageBufferBindingSize);
  return Number.isFinite(v) && v > 0 ? v : null;
}

/**
 * Requests the adapter, a device with the adapter's limits, and registers tfjs's 'webgpu'
 * backend on it (replacing the factory that tfjs-backend-webgpu registered at import, which
 * asks for six limits only). Resolves with the adapter summary, or null when there is no
 * adapter. The backend is guarded (`guardBackend`); call `tf.setBackend('webgpu')` next.
 */
export async function registerWebgpuBackend(gpu: GpuLike, WebGPUBackend: WebGPUBackendCtor): Promise<AdapterSummary | null> {
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return null;
  const summary = summarizeAdapter(adapter);
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', async () => {
    const requiredFeatures = ['timestamp-query'].filter((f) => adapter.features.has(f));
    const requiredLimits = Object.fromEntries(Object.entries(summary.limits).filter(([, v]) => Number.isFinite(v)));
    const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
    const backend = new WebGPUBackend(device as never, adapter.info as never);
    guardBackend(backend);
    return backend;
  }, 3);
  return summary;
}
