// The training form's time estimate: steps × seconds per step, where a step costs about
// batch × Σ filters units (the U-Net's work grows with its width; the patch is the project's).
// The unit cost comes from this project's measured runs (train.plan); before any run, a rough
// default measured on the CPU/wasm backends with the phantom cases.

/**
 * Seconds per (sample × Σ filters) unit when nothing was measured yet: 3 epochs × 4 steps of
 * batch 2, filters 4,8 on the 32×32×16 phantom took ~2.8 s per epoch with validation on the wasm
 * backend here (2.8 / (4 × 2 × 12) ≈ 0.03).
 */
export const DEFAULT_SECONDS_PER_UNIT = 0.03;
/** Starting the worker, the backend and loading the cases. */
export const STARTUP_SECONDS = 5;

export interface EstimateInput {
  epochs: number;
  stepsPerEpoch: number;
  batchSize: number;
  filters: readonly number[];
}

export function estimateSeconds(o: EstimateInput, secondsPerUnit: number | null): { seconds: number; measured: boolean } {
  const units = o.batchSize * o.filters.reduce((a, b) => a + b, 0);
  const perUnit = secondsPerUnit ?? DEFAULT_SECONDS_PER_UNIT;
  return { seconds: STARTUP_SECONDS + o.epochs * o.stepsPerEpoch * units * perUnit, measured: secondsPerUnit !== null };
}

/** 75 → "1 min 15 s", 4000 → "1 h 7 min", 12 → "12 s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ''}`;
}

/** Parses "4, 8, 16" into filters; null unless 2..7 positive integers. */
export function parseFilters(text: string): number[] | null {
  const f = text.split(/[\s,;]+/).filter(Boolean).map(Number);
  return f.length >= 2 && f.length <= 7 && f.every((x) => Number.isInteger(x) && x > 0) ? f : null;
}
