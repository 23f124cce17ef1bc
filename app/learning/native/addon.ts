/**
 * Loads the optional oneDNN addon (native/dnnl, npm package @osteon/dnnl-kernels) and sets its
 * threads. Never throws: `loadNative()` returns the addon or the reason it is unavailable, which
 * the backend ladder and `osteon doctor` show ("OSTEON_NATIVE=0", "addon not built: libdnnl-dev
 * headers not found ...", "libdnnl not found: ...", "package not installed").
 *
 * Threads: oneDNN and the kernels in native/dnnl/src/memops.cc run on OpenMP, by default one
 * thread per CPU (the wasm backend is single-threaded in Node, so they do not compete). How idle
 * OpenMP threads wait is chosen when the addon loads (prepareNativeEnv): on a machine where other
 * processes keep less than half a CPU busy they spin GOMP_SPINCOUNT times before they sleep
 * (SPIN_COUNT), so the next kernel a few microseconds later does not wait for a futex wake-up
 * (measured ~8 ms of a ~81 ms 2D U-Net step on 2 vCPUs); on a busy one they sleep at once
 * (OMP_WAIT_POLICY=passive), since a spinning thread then takes the core the other one needs
 * (measured 2-6x slower steps at load 4-5 on 2 vCPUs). docs/cpu-speed.md, "2D training step".
 * A user's OMP_WAIT_POLICY or GOMP_SPINCOUNT wins.
 * OSTEON_THREADS (or initBackend's `threads`) overrides the count.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';

/** The addon's functions (native/dnnl/src/addon.cc). Buffers are Float32Array views. */
export interface DnnlAddon {
  /** 0 forward (a=x, b=filter, out=y, bias read), 1 backward data (a=dy, b=filter, out=dx), 2 backward weights (a=x, b=dy, out=dfilter, bias=dbias written). */
  conv(op: 0 | 1 | 2, geometry: Int32Array, a: Float32Array, b: Float32Array, out: Float32Array, bias: Float32Array | null): void;
  convImpl(op: 0 | 1 | 2, geometry: Int32Array): string;
  maxPoolGrad(geometry: Int32Array, x: Float32Array, dy: Float32Array, dx: Float32Array): void;
  concatRows(outer: number, pieces: Float32Array[], widths: number[], dst: Float32Array): void;
  splitRows(outer: number, src: Float32Array, widths: number[], pieces: Float32Array[]): void;
  sumRows(rows: number, cols: number, x: Float32Array, out: Float32Array): void;
  /** op 0: out = a + b, 1: out = a * b, b being `cols` values repeated over `rows` rows of a. */
  binaryRows(op: 0 | 1, rows: number, cols: number, a: Float32Array, b: Float32Array, out: Float32Array): void;
  slice(inShape: number[], begin: number[], size: number[], src: Float32Array, dst: Float32Array): void;
  /** the head loss fused (src/loss.cc); dims {m,c,s,bceC0,bceN,ceC0,ceK,diceSigFrom,diceSoftFrom,0}, params {a,b,c,smoothNr,smoothDr}; out = [bce, ce, dice]. Absent in addons built before it. */
  lossFused?(dims: Int32Array, params: Float64Array, logits: Float32Array, targets: Float32Array | null, labels: Int32Array | null, posWeight: Float32Array | null, classWeight: Float32Array | null, grad: Float32Array | null, out: Float64Array): void;
  /** Adam over every tensor in one call (src/adam.cc): m, v in place, new weights to wOut; k = {lr, b1, b2, eps, 1-b1, 1-b2, 1-accBeta1, 1-accBeta2}. */
  adamFused?(w: Float32Array[], g: Float32Array[], m: Float32Array[], v: Float32Array[], wOut: Float32Array[], k: Float32Array): void;
  /** Transposed conv + bias (src/deconv.cc), geometry of the conv output → input: op 0 y = convT(a = x, b = filter) + bias, op 2 out = dfilter, bias = dbias from a = x, b = dy. Absent in addons built before it. */
  deconv?(op: 0 | 2, geometry: Int32Array, a: Float32Array, b: Float32Array, out: Float32Array, bias: Float32Array): void;
  deconvImpl?(op: 0 | 2, geometry: Int32Array): string;
  setNumThreads(n: number): void;
  numThreads(): number;
  version(): string;
  // fused network kernels (src/fused.cc, src/pool.cc)
  /** dyOut = dy·[y>0] and, when dbias is given, dbias[j] = Σ rows dyOut[row, j]; rows × cols channels-last. */
  reluBiasGrad(rows: number, cols: number, y: Float32Array, dy: Float32Array, dyOut: Float32Array, dbias: Float32Array | null): void;
  /** Max pool forward (oneDNN pooling), pool geometry as for maxPoolGrad. */
  maxPool(geometry: Int32Array, x: Float32Array, y: Float32Array): void;
  maxPoolImpl(geometry: Int32Array): string;
  /** Max pool backward vectorised over channels; dy to the first maximum of a window, or the last with lastMax (tfjs's cpu backend in 3D). */
  maxPoolGradV(geometry: Int32Array, x: Float32Array, dy: Float32Array, dx: Float32Array, lastMax: boolean): void;
  /** dx = add (x's shape) + maxPoolGradV's gradient, in one pass. Absent in addons built before it. */
  maxPoolGradAdd?(geometry: Int32Array, x: Float32Array, dy: Float32Array, dx: Float32Array, lastMax: boolean, add: Float32Array): void;
  /** reluBiasGrad writing over its input: g = g·[y>0], the same bits (src/fused.cc with dyOut = dy; the native training step). Absent in addons built before it. */
  reluBiasGradInPlace?(rows: number, cols: number, y: Float32Array, g: Float32Array, dbias: Float32Array | null): void;
  /** Softmax over the last axis of rows × cols. */
  softmax(rows: number, cols: number, x: Float32Array, y: Float32Array): void;
}

export interface NativeStatus {
  addon: DnnlAddon | null;
  /** Why `addon` is null. */
  reason: string | null;
  /** OpenMP threads the addon uses (0 when unavailable). */
  threads: number;
  /** e.g. "2.6.3 (N/A, cpu runtime OpenMP)". */
  version: string | null;
}

interface LoaderModule {
  addon: DnnlAddon | null;
  loadError: string | null;
}

const PACKAGE = '@osteon/dnnl-kernels';
let status: NativeStatus | null = null;

/** Threads requested by OSTEON_THREADS or the caller, else one per CPU. */
export function nativeThreads(requested?: number): number {
  const env = Number(process.env.OSTEON_THREADS);
  if (Number.isInteger(env) && env > 0) return env;
  if (requested && requested > 0) return requested;
  return Math.max(1, cpus().length);
}

function loader(): LoaderModule | string {
  const require = createRequire(import.meta.url);
  try {
    return require(PACKAGE) as LoaderModule;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code !== 'MODULE_NOT_FOUND') return `${PACKAGE} failed to load: ${String((e as Error).message ?? e).split('\n')[0]}`;
  }
  // A checkout whose node_modules lacks the optional package: use the sources beside it.
  try {
    return require('../../../native/dnnl/index.cjs') as LoaderModule;
  } catch {
    return 'package not installed (npm skipped the optional dependency @osteon/dnnl-kernels)';
  }
}

/**
 * Spins of an idle OpenMP thread before it sleeps: ~0.4 ms here (a `pause` is ~14 ns on this
 * Xeon), longer than the gaps between a step's kernels. libgomp's own default, 300000, spins ~4 ms:
 * as fast on an idle machine, but measured 2.6x worse than this when the load rose mid-run.
 */
export const SPIN_COUNT = '30000';
/** Spinning only while other processes keep less than this many CPUs busy. */
export const SPIN_MAX_BUSY = 0.5;

/** CPUs kept busy by everything on the machine over a 50 ms look at /proc/stat (this thread sleeps meanwhile); the 1-minute load average where /proc/stat is unreadable. */
export function busyCpus(): number {
  const sample = (): number[] | null => {
    try {
      const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
      const v = line.trim().split(/\s+/).slice(1).map(Number);
      // user nice system idle iowait irq softirq steal: idle = idle + iowait
      return v.length >= 5 && v.every(Number.isFinite) ? [v.reduce((a, b) => a + b, 0), v[3] + v[4]] : null;
    } catch {
      return null;
    }
  };
  const a = sample();
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  const b = sample();
  if (!a || !b || b[0] <= a[0]) return loadavg()[0];
  return (1 - (b[1] - a[1]) / (b[0] - a[0])) * cpus().length;
}

/**
 * Chooses how idle OpenMP threads wait (see the top of this file), unless the user set
 * OMP_WAIT_POLICY or GOMP_SPINCOUNT: GOMP_SPINCOUNT=SPIN_COUNT while other processes keep less than
 * SPIN_MAX_BUSY CPUs busy (busyCpus), else
 * OMP_WAIT_POLICY=passive. Sets it in the real process environment, where libgomp reads it when
 * the addon loads. Call it on the main thread before starting a worker that will load the addon:
 * a worker's process.env is a private copy that native code never sees.
 */
export function prepareNativeEnv(): void {
  if (process.env.OMP_WAIT_POLICY !== undefined || process.env.GOMP_SPINCOUNT !== undefined) return;
  if (busyCpus() < SPIN_MAX_BUSY) process.env.GOMP_SPINCOUNT = SPIN_COUNT;
  else process.env.OMP_WAIT_POLICY = 'passive';
}

/** How idle OpenMP threads wait in this process, as libgomp read it (for reports). */
export function ompWait(): string {
  if (process.env.GOMP_SPINCOUNT !== undefined) return `spin ${process.env.GOMP_SPINCOUNT}`;
  return process.env.OMP_WAIT_POLICY ?? 'libgomp default';
}

/** Loads the addon once (later calls return the same status; `threads` applies the first time). */
export function loadNative(threads?: number): NativeStatus {
  if (status) return status;
  if (process.env.OSTEON_NATIVE === '0') return (status = { addon: null, reason: 'OSTEON_NATIVE=0', threads: 0, version: null });
  const n = nativeThreads(threads);
  // libgomp reads these when the addon loads (on the main thread; see prepareNativeEnv); the
  // user's own settings win. setNumThreads below applies the count in workers too.
  prepareNativeEnv();
  process.env.OMP_NUM_THREADS ??= String(n);
  const mod = loader();
  if (typeof mod === 'string') return (status = { addon: null, reason: mod, threads: 0, version: null });
  if (!mod.addon) return (status = { addon: null, reason: mod.loadError ?? 'addon not built', threads: 0, version: null });
  try {
    mod.addon.setNumThreads(n);
    return (status = { addon: mod.addon, reason: null, threads: mod.addon.numThreads(), version: mod.addon.version() });
  } catch (e) {
    return (status = { addon: null, reason: `addon failed: ${e instanceof Error ? e.message : String(e)}`, threads: 0, version: null });
  }
}

/** The loaded addon; throws when unavailable (kernels call it only after registration). */
export function dnnl(): DnnlAddon {
  const a = status?.addon;
  if (!a) throw new Error('oneDNN addon is not loaded');
  return a;
}
