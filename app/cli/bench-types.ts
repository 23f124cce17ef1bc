/**
 * The contract between `osteon bench` (app/cli/commands/bench.ts) and the suites in bench/*.ts:
 * a suite module exports `suite: BenchSuite`; the runner finds it, runs it and prints its
 * records as a table or as JSON lines.
 */

export interface BenchContext {
  /** Timed repetitions per measurement (--repeats; a suite may use fewer for very slow steps). */
  repeats: number;
  /** A line for people (stderr), e.g. "python3 has no scipy: Osteon timed alone". */
  notice(text: string): void;
  /** --profile or OSTEON_PROFILE=1: suites that can print per-op time tables (app/learning/profile.ts) do. */
  profile?: boolean;
}

export interface BenchRecord {
  /** What was timed, e.g. "dice+hd95+msd, 4 channels, 512×512×300". */
  name: string;
  unit: 'ms' | 's' | 'MiB';
  median: number;
  min: number;
  max: number;
  /** Number of timed repetitions. */
  n: number;
  /** The same computation by a reference implementation, timed in the same run. */
  reference?: { name: string; median: number };
  /** median / reference.median: below 1 means Osteon is faster. */
  ratio?: number;
  /** False when a check made alongside the timing failed (e.g. values disagree with the reference). */
  ok?: boolean;
  /** One line of context: sizes, agreement, versions. */
  detail?: string;
  /**
   * CPU utilisation while timed, in cores (process CPU time / wall time), of Osteon and of the
   * reference, and the 1-minute load average over the rounds (median).
   */
  cpu?: { osteon: number; reference?: number; loadavg: number };
}

export interface BenchSuite {
  name: string;
  description: string;
  run(ctx: BenchContext): Promise<BenchRecord[]>;
}

export interface TimeStats {
  median: number;
  min: number;
  max: number;
  n: number;
}

/** Median (mean of the two middle values for even n), min and max. */
export function timeStats(samples: readonly number[]): TimeStats {
  if (samples.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const s = [...samples].sort((a, b) => a - b);
  const h = s.length >> 1;
  const median = s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
  return { median, min: s[0], max: s[s.length - 1], n: s.length };
}
