/**
 * Inference with the GPU host doing the arithmetic: a trained run's checkpoint is loaded on the
 * page as an inference model of its own (op `load`, beside any training model), then a volume's
 * windows stream to it one batch per `predict` call, sized for the page's
 * maxStorageBufferBindingSize (predict.ts plans the windows; the volume and the blended
 * probabilities stay here, in the services). Progress and cancel act between window batches
 * (InferOptions.onProgress / signal); reading the CT and writing the results stay with the caller.
 * The services pick this when a GPU host with an adapter is attached (the rule training uses),
 * else the CPU ladder (`openInference`).
 */
import { randomBytes } from 'node:crypto';
import { readCheckpoint } from './checkpoint.ts';
import type { GpuHostDriver } from './gpu-host-driver.ts';
import { localInference, type InferenceBackend, type LoadedModel } from './infer.ts';
import type { PrecisionChoice } from './native/infer-net.ts';
import type { WindowRunner } from './predict.ts';

/** A run's model made ready to predict: where its windows go, what that is, and how to let it go. */
export interface Inference {
  backend: InferenceBackend;
  /** The GPU host's window runner; undefined: this process's backend (predictCt's default). */
  windows?: WindowRunner;
  close(): Promise<void>;
}

/** Loads `model`'s checkpoint on the page; `windows` then streams window batches to it. */
export async function loadOnGpuHost(host: GpuHostDriver, model: LoadedModel): Promise<Inference> {
  const hello = await host.hello;
  if (!hello.adapter) throw new Error(`the GPU host has no WebGPU adapter: ${hello.reason ?? 'unknown reason'}`);
  const cfg = model.config;
  const key = `infer-${randomBytes(6).toString('hex')}`;
  const tensors = [...readCheckpoint(model.checkpoint).tensors].filter(([name]) => name.startsWith('param:')).map(([name, t]) => ({ name, ...t }));
  await host.call({ op: 'load', key, model: cfg.model, head: cfg.head, hasWhole: cfg.layout.hasWhole, tensors });
  let peak: number | null = null;
  return {
    backend: { name: 'webgpu', host: 'GPU host page', adapter: hello.adapter as InferenceBackend['adapter'], precision: 'fp32', precisionDetail: 'fp32 (the GPU host page runs the tfjs webgpu pass)' },
    windows: {
      bindingLimit: hello.adapter.limits.maxStorageBufferBindingSize,
      async run({ x, shape }) {
        const r = await host.call({ op: 'predict', key, x, shape });
        if (r.gpuBytes !== null) peak = Math.max(peak ?? 0, r.gpuBytes);
        return r.probs;
      },
      peakGpuBytes: () => peak,
    },
    // The page may be gone by now; its models went with it.
    close: async () => { await host.call({ op: 'unload', key }).catch(() => undefined); },
  };
}

/**
 * Where a prediction job runs: on the GPU host when one is given (the services pass it only when
 * it is attached and said it has an adapter), else on this process's backend ladder.
 */
export async function openInference(model: LoadedModel, host: GpuHostDriver | null, precision: PrecisionChoice = 'auto'): Promise<Inference> {
  if (host) return loadOnGpuHost(host, model);
  // Here: at the precision chosen (infer.ts resolvePrecision; bf16 runs the native whole-network pass).
  const local = localInference(model, precision);
  return { backend: local.backend, windows: local.windows, close: async () => local.close() };
}

/** One line for people and version metadata, e.g. "webgpu on the GPU host page (google swiftshader)". */
export function backendLine(b: InferenceBackend): string {
  const a = b.adapter;
  const adapter = a ? ` (${[a.vendor, a.architecture, a.description || a.device].filter(Boolean).join(' ') || 'unnamed adapter'}${a.software ? ', software' : ''})` : '';
  const precision = b.precision ? `, ${b.precision}` : '';
  return `${b.name} on ${b.host === 'this process' ? 'the services process' : `the ${b.host}`}${adapter}${precision}`;
}
