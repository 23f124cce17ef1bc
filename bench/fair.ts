/**
 * Osteon against a fair PyTorch reference in one run (docs/cpu-speed.md, "Fair references"):
 * bench/reference/unet_ref.py runs as a server (--serve) with OpenBLAS pinned to one thread and
 * the thread count Osteon uses, and the bench alternates rounds: Osteon's steps, then each
 * reference's, round after round, so a change in the machine's load hits both sides alike. Per
 * side it keeps every step's time (medians are taken over all of them), the process CPU time
 * over the wall time (the cores it kept busy) and the 1-minute load average at each round.
 * Used by the `unet` and `native` suites. Not a suite itself (no `suite` export).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { timeStats, type BenchRecord, type TimeStats } from '../app/cli/bench-types.ts';

const REF = join(dirname(fileURLToPath(import.meta.url)), 'reference', 'unet_ref.py');

export interface RefInfo {
  torch: string;
  threads: number;
  openblas_threads: string | null;
  mkldnn: boolean;
  /** Conv kernels one training step ran, by ATen name (slow_conv3d vs mkldnn_convolution). */
  routes: Record<string, number>;
}

interface RefRound { times: number[]; cpu_s: number; wall_s: number }

/** One unet_ref.py --serve process: a model built and warmed up once, timed on request. */
export class RefServer {
  private waiting: Array<{ ok: (line: string) => void; fail: (e: Error) => void }> = [];
  private dead: string | null = null;
  private stderr = '';
  info!: RefInfo;

  private constructor(private readonly child: ChildProcessWithoutNullStreams, readonly label: string) {
    createInterface({ input: child.stdout }).on('line', (line) => this.waiting.shift()?.ok(line));
    child.stderr.on('data', (d: Buffer) => { this.stderr = (this.stderr + d.toString()).slice(-2000); });
    const end = (why: string): void => {
      this.dead ??= why;
      for (const w of this.waiting.splice(0)) w.fail(new Error(`${why}: ${this.stderr.trim().split('\n').pop() ?? ''}`));
    };
    child.on('exit', (code) => end(`PyTorch reference exited (${code})`));
    child.on('error', (e) => end(`PyTorch reference did not start: ${e.message}`));
  }

  private next(): Promise<string> {
    if (this.dead) return Promise.reject(new Error(this.dead));
    return new Promise((ok, fail) => this.waiting.push({ ok, fail }));
  }

  /** Starts a reference server; returns why not on failure (no /usr/bin/python3 with torch). */
  static async start(dims: 2 | 3, batch: number, size: number, filters: number[], threads: number, mkldnn: boolean): Promise<RefServer | string> {
    const args = [REF, '--serve', '--dims', String(dims), '--batch', String(batch), '--size', String(size), '--filters', filters.join(','), '--threads', String(threads), '--warmup', '2', ...(mkldnn ? ['--mkldnn'] : [])];
    const child = spawn('/usr/bin/python3', args, { env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: String(threads) }, stdio: ['pipe', 'pipe', 'pipe'] });
    const s = new RefServer(child, mkldnn ? 'PyTorch, oneDNN forced' : 'PyTorch');
    try {
      s.info = JSON.parse(await s.next()) as RefInfo;
      return s;
    } catch (e) {
      s.close();
      return e instanceof Error ? e.message : String(e);
    }
  }

  async run(what: 'train' | 'infer', n: number): Promise<RefRound> {
    const line = this.next();
    this.child.stdin.write(`${what} ${n}\n`);
    return JSON.parse(await line) as RefRound;
  }

  close(): void {
    if (!this.dead) {
      this.child.stdin.end('quit\n');
      this.dead = 'closed';
    }
  }

  /** e.g. "torch 1.13.0a0, 2 threads, OpenBLAS 1 thread; convs: 10 slow_conv3d, 5 mkldnn_convolution". */
  describe(): string {
    const r = Object.entries(this.info.routes).filter(([k]) => !k.endsWith('_forward')).map(([k, v]) => `${v} ${k.replace('aten::', '')}`).join(', ');
    return `torch ${this.info.torch}, ${this.info.threads} threads, OpenBLAS ${this.info.openblas_threads ?? 'default'} thread(s)${r ? `; convs: ${r}` : ''}`;
  }
}

export interface SideResult { stats: TimeStats; cores: number }
export interface Interleaved { osteon: SideResult; refs: SideResult[]; loadavg: number; rounds: number; perRound: number }

/**
 * `rounds` rounds of `perRound` Osteon steps then `perRound` steps of each reference.
 * Run Osteon's warm-up before (the references warm up when they start).
 */
export async function interleave(what: 'train' | 'infer', osteonStep: () => Promise<void>, refs: readonly RefServer[], rounds: number, perRound: number): Promise<Interleaved> {
  const ours: number[] = [];
  let cpuMs = 0, wallMs = 0;
  const theirs = refs.map(() => ({ times: [] as number[], cpu: 0, wall: 0 }));
  const loads: number[] = [];
  for (let r = 0; r < rounds; r++) {
    loads.push(loadavg()[0]);
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    for (let k = 0; k < perRound; k++) {
      const t = performance.now();
      await osteonStep();
      ours.push(performance.now() - t);
    }
    wallMs += performance.now() - w0;
    const c = process.cpuUsage(c0);
    cpuMs += (c.user + c.system) / 1000;
    for (const [i, ref] of refs.entries()) {
      const got = await ref.run(what, perRound);
      theirs[i].times.push(...got.times);
      theirs[i].cpu += got.cpu_s;
      theirs[i].wall += got.wall_s;
    }
  }
  return {
    osteon: { stats: timeStats(ours), cores: cpuMs / wallMs },
    refs: theirs.map((t) => ({ stats: timeStats(t.times), cores: t.wall > 0 ? t.cpu / t.wall : NaN })),
    loadavg: timeStats(loads).median, rounds, perRound,
  };
}

/** Rows for one measurement: Osteon against each reference (the first is the main row). */
export function fairRows(name: string, unit: 'ms', r: Interleaved, refs: readonly RefServer[], detail: string): BenchRecord[] {
  const base = { unit, ...r.osteon.stats };
  const how = `${r.rounds} interleaved rounds × ${r.perRound}; CPU ${r.osteon.cores.toFixed(2)} cores`;
  if (refs.length === 0) return [{ name, ...base, cpu: { osteon: r.osteon.cores, loadavg: r.loadavg }, detail: `${detail}; ${how}; load ${r.loadavg.toFixed(2)}` }];
  return refs.map((ref, i) => ({
    name: i === 0 ? name : `${name} vs ${ref.label}`, ...base,
    reference: { name: `${ref.label} ${ref.info.torch}`, median: r.refs[i].stats.median },
    ratio: r.osteon.stats.median / r.refs[i].stats.median,
    cpu: { osteon: r.osteon.cores, reference: r.refs[i].cores, loadavg: r.loadavg },
    detail: `${detail}; ${how} vs ${ref.label} ${r.refs[i].cores.toFixed(2)} (${ref.describe()}), median ${r.refs[i].stats.median.toFixed(1)} ms [${r.refs[i].stats.min.toFixed(1)}–${r.refs[i].stats.max.toFixed(1)}]; load ${r.loadavg.toFixed(2)}`,
  }));
}
