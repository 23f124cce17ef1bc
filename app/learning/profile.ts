/**
 * The per-op profiler behind `OSTEON_PROFILE=1` / `--profile` (osteon train, infer, bench): times
 * a few steps under tf.profile and prints one row per kernel with the backend that ran it, how
 * often, its total milliseconds and its share of the step. Native calls made outside tfjs's
 * kernel registry (the fused loss and Adam, app/learning/native/loss-adam.ts) are recorded as spans,
 * and the time in neither (the tfjs engine and tape, JS glue, tensor bookkeeping) is a row of its
 * own, so the rows add up to the steps' wall time.
 *
 * backend: 'native' (the oneDNN addon, or TensorFlow's C++ under tfjs-node), 'wasm' (tfjs's wasm
 * kernels and Osteon's pure-wasm ones), 'js' (the cpu backend, and the engine), 'webgpu'.
 * A wasm+dnnl kernel that handed a call to the kernel it replaced counts as 'wasm' for that call.
 */
import * as tf from '@tensorflow/tfjs';
import { servedLog } from './native/run.ts';

export type ProfileBackend = 'native' | 'wasm' | 'js' | 'webgpu';

export interface ProfileRow {
  kernel: string;
  backend: ProfileBackend;
  calls: number;
  totalMs: number;
  /** Share of the profiled steps' wall time, in percent. */
  percent: number;
}

export interface ProfileReport {
  /** What was profiled, e.g. "training step". */
  what: string;
  steps: number;
  /** Wall time of the profiled steps together. */
  wallMs: number;
  /** Sorted by total time, largest first; the engine row included. */
  rows: ProfileRow[];
}

/** The engine/tape row's kernel name. */
export const OUTSIDE_KERNELS = '(engine, tape, JS outside kernels)';

let spans: Array<{ name: string; backend: ProfileBackend; ms: number }> | null = null;

/** Times `fn` as a row of its own while a profile runs (a native call outside tfjs's kernels); otherwise just calls it. */
export function profileSpan<T>(name: string, backend: ProfileBackend, fn: () => T): T {
  if (!spans) return fn();
  const t = performance.now();
  try {
    return fn();
  } finally {
    spans.push({ name, backend, ms: performance.now() - t });
  }
}

/** True when OSTEON_PROFILE=1 (or the caller's flag). */
export function profileRequested(flag?: boolean): boolean {
  return flag === true || process.env.OSTEON_PROFILE === '1';
}

/** Steps profiled by default (after the caller's warm-up). */
export const PROFILE_STEPS = 3;

function backendOf(active: string, served: boolean | undefined): ProfileBackend {
  if (active === 'wasm') return served ? 'native' : 'wasm';
  if (active === 'tensorflow') return 'native';
  if (active === 'webgpu') return 'webgpu';
  return 'js';
}

/**
 * Collects per-kernel times over steps profiled one at a time (`step`), so a caller can profile
 * real steps of its own loop (the training loop profiles steps 2..4 of a run). The per-kernel
 * times come from tf.profile (synchronous kernels: wasm, cpu, the addon; on webgpu, GPU
 * timestamps where the adapter has them), the rest from the wall clock.
 */
export class StepProfiler {
  steps = 0;
  wallMs = 0;
  private inside = 0;
  private readonly by = new Map<string, ProfileRow>();

  private add(kernel: string, backend: ProfileBackend, ms: number): void {
    const key = `${kernel}\u0000${backend}`;
    const r = this.by.get(key) ?? { kernel, backend, calls: 0, totalMs: 0, percent: 0 };
    r.calls++;
    r.totalMs += ms;
    this.by.set(key, r);
    this.inside += ms;
  }

  /** Runs and profiles one step; returns what the step returned. */
  async step<T>(fn: () => Promise<T> | T): Promise<T> {
    const active = tf.getBackend();
    spans = [];
    servedLog.list = [];
    servedLog.on = true;
    let out!: T;
    const t = performance.now();
    let info: Awaited<ReturnType<typeof tf.profile>>;
    try {
      info = await tf.profile(async () => { out = await fn(); });
    } finally {
      servedLog.on = false;
    }
    this.wallMs += performance.now() - t;
    this.steps++;
    // Which calls the native kernels served, in call order per kernel name.
    const queues = new Map<string, boolean[]>();
    for (const [name, served] of servedLog.list) {
      const q = queues.get(name) ?? [];
      q.push(served);
      queues.set(name, q);
    }
    servedLog.list = [];
    for (const k of info.kernels) {
      // Entries that are not registered kernels are op scopes (tf.customGrad: fused conv ops, the
      // fused loss) whose time includes the kernels inside them, listed on their own: skip them
      // (their own glue counts as outside kernels).
      if (!tf.getKernel(k.name, active)) continue;
      this.add(k.name, backendOf(active, queues.get(k.name)?.shift()), typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0);
    }
    for (const sp of spans) this.add(sp.name, sp.backend, sp.ms);
    spans = null;
    return out;
  }

  report(what: string): ProfileReport {
    const rows = [...this.by.values()].map((r) => ({ ...r }));
    rows.push({ kernel: OUTSIDE_KERNELS, backend: 'js', calls: this.steps, totalMs: Math.max(0, this.wallMs - this.inside), percent: 0 });
    for (const r of rows) r.percent = this.wallMs > 0 ? (100 * r.totalMs) / this.wallMs : 0;
    rows.sort((a, b) => b.totalMs - a.totalMs);
    return { what, steps: this.steps, wallMs: this.wallMs, rows };
  }
}

/** Profiles `steps` runs of `step` (run it once or twice beforehand as warm-up). */
export async function profileSteps(what: string, step: () => Promise<void> | void, steps = PROFILE_STEPS): Promise<ProfileReport> {
  const p = new StepProfiler();
  for (let s = 0; s < steps; s++) await p.step(step);
  return p.report(what);
}

/** The table as text: per step milliseconds, then per-backend totals. */
export function renderProfile(r: ProfileReport, maxRows = 40): string {
  const per = (ms: number): string => (ms / r.steps).toFixed(ms / r.steps >= 10 ? 1 : 2);
  const head = ['kernel', 'backend', 'calls/step', 'ms/step', '% of step'];
  const shown = r.rows.slice(0, maxRows);
  const rest = r.rows.slice(maxRows);
  const body = shown.map((x) => [x.kernel, x.backend, (x.calls / r.steps).toFixed(x.calls % r.steps ? 1 : 0), per(x.totalMs), x.percent.toFixed(1)]);
  if (rest.length) {
    const ms = rest.reduce((a, x) => a + x.totalMs, 0);
    body.push([`(${rest.length} more kernels)`, '-', (rest.reduce((a, x) => a + x.calls, 0) / r.steps).toFixed(0), per(ms), ((100 * ms) / r.wallMs).toFixed(1)]);
  }
  const totals = new Map<ProfileBackend, number>();
  for (const x of r.rows) totals.set(x.backend, (totals.get(x.backend) ?? 0) + x.totalMs);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (c: string[]): string => c.map((v, i) => (i >= 2 ? v.padStart(w[i]) : v.padEnd(w[i]))).join('  ').trimEnd();
  return [
    `profile: ${r.what}, ${r.steps} step(s), ${per(r.wallMs)} ms/step wall (backend ${tf.getBackend()})`,
    line(head), ...body.map(line),
    `by backend (ms/step): ${[...totals].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${per(v)} (${((100 * v) / r.wallMs).toFixed(0)}%)`).join(', ')}`,
  ].join('\n');
}
