/**
 * Picks the tfjs backend at run time, best first: tfjs-node-gpu (CUDA) → webgpu (Dawn) →
 * tfjs-node → wasm+dnnl → wasm → cpu, and records why each candidate that did not load failed,
 * for `osteon doctor` and the UI. The webgpu rung is docs/gpu.md.
 *
 * Use the `tf` exported here (it is `@tensorflow/tfjs`). tfjs-node(-gpu) 4.22 depends on the same
 * @tensorflow/tfjs 4.22, so npm dedupes it to this one tfjs-core; a second copy would register
 * its backend on another engine, which `tryNative` detects and reports.
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import { OsteonError } from '../util/errors.ts';
import { registerCustomKernels } from './kernels/index.ts';
import { loadNative } from './native/addon.ts';
import { registerNativeKernels } from './native/register.ts';
import { nativeFusedHeadLoss } from './native/loss-adam.ts';
import { setFusedLoss } from './fusion.ts';
import { simdFusedKernelNames } from './kernels/simd/fused.ts';
import { startWasmThreads, wasmThreadsStatus } from './kernels/parallel/pool.ts';
import { useNativeAccumulate } from './window-accumulate.ts';
import { installTfjsNodeShim } from './tfjs-node-shim.ts';
import type { AdapterSummary } from './webgpu/device.ts';
import { loadNodeWebgpu } from './webgpu/node.ts';

export { tf };

// tfjs-backend-cpu prints an "install our node backend" banner on its first tensor in Node, on
// every CLI start; `osteon doctor` already says which rung loaded and why the others did not.
// In tfjs 4.22 the PROD flag only gates tfjs's own log.warn/info messages (log.ts, environment.ts).
tf.env().set('PROD', true);

/** 'wasm+dnnl': the wasm backend with the optional oneDNN kernels (native/dnnl, app/learning/native). */
export type BackendCandidate = 'tfjs-node-gpu' | 'webgpu' | 'tfjs-node' | 'wasm+dnnl' | 'wasm' | 'cpu';
export type BackendPreference = 'auto' | BackendCandidate;

export interface BackendAttempt {
  candidate: BackendCandidate;
  ok: boolean;
  /** Why it was not used; absent when ok. */
  reason?: string;
  /** Something to know about a candidate that did load (e.g. tfjs-node-gpu running without a GPU). */
  note?: string;
}

export interface BackendReport {
  /** The tfjs backend name now active. */
  name: 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
  /** The npm package that provides it, e.g. '@tensorflow/tfjs-backend-wasm'. */
  package: string;
  /** Every candidate tried, in order, with the reason for each failure. */
  attempts: BackendAttempt[];
  /** Osteon's own kernels and gradients registered, e.g. 'wasm:Conv2DBackpropFilter'. */
  kernels: string[];
  /** Compute threads the backend uses (wasm in Node: 1 plus the helper threads that split its convolutions, kernels/parallel/pool.ts). */
  threads: number;
  /** How the ladder was chosen: 'auto', or the candidate forced by option or OSTEON_BACKEND. */
  preference: BackendPreference;
  /** The WebGPU adapter found (whether or not webgpu is the active backend); null when none. */
  adapter: AdapterSummary | null;
}

export interface InitBackendOptions {
  /** 'auto' (default) walks the ladder; a candidate forces it (failure is an error). */
  prefer?: BackendPreference;
  /** Threads for tfjs-node (TF_NUM_INTRAOP_THREADS) and the wasm rung (its helper threads + 1; OSTEON_WASM_THREADS wins). */
  threads?: number;
}

export const ladder: readonly BackendCandidate[] = ['tfjs-node-gpu', 'webgpu', 'tfjs-node', 'wasm+dnnl', 'wasm', 'cpu'];
const packages: Record<BackendCandidate, string> = {
  'tfjs-node-gpu': '@tensorflow/tfjs-node-gpu',
  webgpu: '@tensorflow/tfjs-backend-webgpu + webgpu (Dawn)',
  'tfjs-node': '@tensorflow/tfjs-node',
  'wasm+dnnl': '@tensorflow/tfjs-backend-wasm + @osteon/dnnl-kernels',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
};

let pending: Promise<BackendReport> | null = null;
let report: BackendReport | null = null;
let wasmThreadsCount: (() => number) | null = null;

/** The report of the backend chosen by `initBackend`, or null before it finished. */
export function getBackendReport(): BackendReport | null {
  return report;
}

/** Every value --backend and OSTEON_BACKEND accept. */
export const backendChoices: readonly BackendPreference[] = ['auto', ...ladder];

export function isBackendPreference(v: string): v is BackendPreference {
  return v === 'auto' || (ladder as readonly string[]).includes(v);
}

/**
 * Chooses and activates a backend; idempotent: once one succeeded, later calls return its
 * report whatever their options. The preference comes from `opts.prefer`, else the
 * OSTEON_BACKEND environment variable, else 'auto'. Throws BackendInitError (code 'backend')
 * when no candidate starts (e.g. a forced one); a later call may then try again.
 * Call it before building models: it also registers the conv3dTranspose gradient.
 */
export function initBackend(opts: InitBackendOptions = {}): Promise<BackendReport> {
  pending ??= choose(opts).then(
    (r) => (report = r),
    (e: unknown) => {
      pending = null;
      throw e;
    },
  );
  return pending;
}

function preferenceOf(opts: InitBackendOptions): BackendPreference {
  if (opts.prefer && opts.prefer !== 'auto') return opts.prefer;
  const env = process.env.OSTEON_BACKEND?.trim();
  if (!env) return 'auto';
  if (!isBackendPreference(env)) {
    throw new OsteonError({ code: 'usage', field: 'OSTEON_BACKEND', message: `OSTEON_BACKEND=${env}: expected one of auto, ${ladder.join(', ')}` });
  }
  return env;
}

async function choose(opts: InitBackendOptions): Promise<BackendReport> {
  const preference = preferenceOf(opts);
  const candidates = preference === 'auto' ? ladder : [preference];
  const attempts: BackendAttempt[] = [];
  const probe: WebgpuProbe = { adapter: null, kernels: [], auto: preference === 'auto' };
  for (const candidate of candidates) {
    const reason = await tryCandidate(candidate, opts.threads, probe);
    if (reason !== null) {
      attempts.push({ candidate, ok: false, reason });
      continue;
    }
    let note = candidate === 'tfjs-node-gpu' && !usingGpu() ? 'loaded, but TensorFlow found no usable CUDA GPU: running on the CPU' : undefined;
    attempts.push(note ? { candidate, ok: true, note } : { candidate, ok: true });
    const name = tf.getBackend() as BackendReport['name'];
    let kernels = registerCustomKernels(name);
    if (candidate === 'webgpu') {
      kernels = [...kernels, ...probe.kernels];
      note = probe.adapter ? adapterLine(probe.adapter) : undefined;
      if (note) attempts[attempts.length - 1] = { candidate, ok: true, note };
    }
    if (candidate === 'wasm+dnnl') {
      const native = registerNativeKernels(opts.threads);
      useNativeAccumulate(native.status.addon); // whole-volume blending in the addon too
      kernels = [...kernels.filter((k) => !simdFusedKernelNames.includes(k)), ...native.kernels];
      note = `oneDNN ${native.status.version ?? '?'}, ${native.status.threads} OpenMP thread(s) (OSTEON_THREADS; OSTEON_NATIVE=0 disables)`;
      attempts[attempts.length - 1] = { candidate, ok: true, note };
    }
    if (candidate === 'wasm') {
      // The pure-wasm rung: convolutions split by batch over helper threads (kernels/parallel/pool.ts).
      const t = await startWasmThreads(opts.threads);
      setFusedLoss(nativeFusedHeadLoss); // the loss fused in the SIMD module (kernels/simd/fused.ts)
      note = `${t.threads} thread(s) for convolutions (OSTEON_WASM_THREADS)${t.reason ? `; ${t.reason}` : ''}`;
      attempts[attempts.length - 1] = { candidate, ok: true, note };
    }
    const threads = candidate === 'wasm+dnnl' ? (loadNative(opts.threads).threads || 1) : threadsOf(name, opts.threads);
    return { name, package: packages[candidate], attempts, kernels, threads, preference, adapter: probe.adapter };
  }
  throw new BackendInitError(attempts);
}

/**
 * The rung and its threads in a few words for CLI lines: 'wasm+dnnl, 2 OpenMP thread(s)',
 * 'wasm, 2 thread(s)', 'tensorflow, 8 thread(s)', 'webgpu'.
 */
export function backendLabel(r: BackendReport): string {
  const rung = [...r.attempts].reverse().find((a) => a.ok)?.candidate;
  const threads = threadsLabel(r);
  return `${rung === 'wasm+dnnl' ? rung : r.name}${threads ? `, ${threads}` : ''}`;
}

/** '2 OpenMP thread(s)' (wasm+dnnl), '2 thread(s)' (wasm, tensorflow), else ''. */
export function threadsLabel(r: BackendReport): string {
  const rung = [...r.attempts].reverse().find((a) => a.ok)?.candidate;
  if (rung === 'wasm+dnnl') return `${r.threads} OpenMP thread(s)`;
  return r.name === 'wasm' || r.name === 'tensorflow' ? `${r.threads} thread(s)` : '';
}

/** No candidate could be started; `attempts` says why for each. */
export class BackendInitError extends OsteonError {
  readonly attempts: BackendAttempt[];

  constructor(attempts: BackendAttempt[]) {
    const why = attempts.map((a) => `${a.candidate}: ${a.reason}`).join('; ');
    super({ code: 'backend', message: `no tfjs backend could be started (${why})`, detail: JSON.stringify(attempts) });
    this.attempts = attempts;
  }
}

/** What the webgpu rung found, kept for the report even when another rung is used. */
interface WebgpuProbe {
  adapter: AdapterSummary | null;
  kernels: string[];
  /** The ladder is walked automatically: a software adapter is then passed over. */
  auto: boolean;
}

/** One line about an adapter, e.g. "mesa software, llvmpipe …, maxStorageBufferBindingSize 128 MiB". */
export function adapterLine(a: AdapterSummary): string {
  const name = [a.vendor, a.architecture].filter(Boolean).join(' ') || 'unknown vendor';
  const dev = a.description || a.device;
  return `${name}${dev ? `, ${dev}` : ''}${a.software ? ' (software adapter)' : ''}, maxStorageBufferBindingSize ${Math.round(a.limits.maxStorageBufferBindingSize / 2 ** 20)} MiB`;
}

/** Returns null when the candidate is now the active backend, else why not. */
async function tryCandidate(candidate: BackendCandidate, threads: number | undefined, probe: WebgpuProbe): Promise<string | null> {
  try {
    switch (candidate) {
      case 'tfjs-node-gpu':
      case 'tfjs-node':
        return await tryNative(candidate, threads);
      case 'webgpu':
        return await tryWebgpu(probe);
      case 'wasm+dnnl': {
        const native = loadNative(threads);
        return native.addon ? await tryWasm(threads) : native.reason;
      }
      case 'wasm':
        return await tryWasm(threads);
      case 'cpu':
        return (await tf.setBackend('cpu')) ? null : 'tf.setBackend("cpu") returned false';
      default: {
        const never: never = candidate;
        return `unknown candidate ${String(never)}`;
      }
    }
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

async function tryNative(candidate: 'tfjs-node-gpu' | 'tfjs-node', threads: number | undefined): Promise<string | null> {
  const pkg = packages[candidate];
  if (threads && !process.env.TF_NUM_INTRAOP_THREADS) process.env.TF_NUM_INTRAOP_THREADS = String(threads);
  // tfjs-node 4.22 calls util.isNullOrUndefined, which Node 23 removed (tfjs-node-shim.ts).
  installTfjsNodeShim();
  try {
    // A variable specifier: the packages are optional and may be absent at type-check time.
    const spec: string = pkg;
    await import(spec);
  } catch (e) {
    return explainImportFailure(pkg, e);
  }
  if (!tf.engine().registryFactory.tensorflow) {
    return `${pkg} loaded but registered its backend with another copy of @tensorflow/tfjs-core (Osteon uses ${tf.version_core}); reinstall so npm dedupes it`;
  }
  if (!(await tf.setBackend('tensorflow'))) return `${pkg} loaded but the 'tensorflow' backend failed to initialise`;
  return null;
}

/** What tfjs-node-gpu 4.22 needs: it is built on libtensorflow 2.9.1 (tfjs issues #8362, #8187). */
export const TFJS_NODE_GPU_NEEDS = 'tfjs-node-gpu 4.22 is built on libtensorflow 2.9.1 and needs CUDA 11.2 (libcudart.so.11.0) and cuDNN 8.1 (libcudnn.so.8) on the library path; CUDA 12/13 alone does not satisfy it, and Blackwell (RTX 50xx) GPUs are not supported. The webgpu rung needs no CUDA';

async function tryWebgpu(probe: WebgpuProbe): Promise<string | null> {
  const r = await loadNodeWebgpu();
  if (typeof r === 'string') return r;
  probe.adapter = r.adapter;
  probe.kernels = r.kernels;
  if (probe.auto && r.adapter.software) {
    return `adapter ${adapterLine(r.adapter)}: a software rasterizer, correct but slower than the CPU rungs, so auto passes it over (force with --backend webgpu or OSTEON_BACKEND=webgpu)`;
  }
  if (!(await tf.setBackend('webgpu'))) return 'tf.setBackend("webgpu") returned false (device request failed)';
  return null;
}

/** tfjs-node's binding says whether TensorFlow placed ops on a GPU; unknown counts as no. */
function usingGpu(): boolean {
  const b = tf.backend() as { binding?: { isUsingGpuDevice?: () => boolean } };
  try {
    return b.binding?.isUsingGpuDevice?.() === true;
  } catch {
    return false;
  }
}

/** Turns an import error into a short reason a user can act on. */
export function explainImportFailure(pkg: string, e: unknown): string {
  const err = e as { code?: string; message?: string };
  const msg = err.message ?? String(e);
  if ((err.code === 'ERR_MODULE_NOT_FOUND' || err.code === 'MODULE_NOT_FOUND') && msg.includes(pkg)) return 'package not installed';
  const lib = /(lib[\w.-]+\.so[\w.]*)/.exec(msg);
  if (lib && /cud|cublas|cufft|curand|cusolver|cusparse|nvinfer/i.test(lib[1])) {
    const why = `CUDA libraries not found (${lib[1]}): ${firstLine(msg)}`;
    return pkg === packages['tfjs-node-gpu'] ? `${why}. ${TFJS_NODE_GPU_NEEDS}` : why;
  }
  if (lib) return `native library failed to load (${lib[1]}): ${firstLine(msg)}`;
  return firstLine(msg);
}

function firstLine(s: string): string {
  return s.split('\n')[0].slice(0, 300);
}

async function tryWasm(threads: number | undefined): Promise<string | null> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // Node: load the .wasm binaries from the package's own dist folder as file paths.
  const dist = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
  wasm.setWasmPaths(`${dist}/`);
  // No effect in Node with tfjs 4.22 (WASM_HAS_MULTITHREAD_SUPPORT is false there); kept for when it works.
  if (threads) wasm.setThreadsCount(threads);
  if (!(await tf.setBackend('wasm'))) return 'tf.setBackend("wasm") returned false';
  wasmThreadsCount = wasm.getThreadsCount;
  return null;
}

function threadsOf(name: BackendReport['name'], requested: number | undefined): number {
  if (name === 'wasm') return Math.max(wasmThreadsCount?.() ?? 1, wasmThreadsStatus().threads);
  if (name === 'tensorflow') return Number(process.env.TF_NUM_INTRAOP_THREADS) || requested || cpus().length;
  return 1;
}
