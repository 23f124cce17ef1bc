// The results table's pure parts: sorting rows by a cell, the CSV of a table, five-number
// summaries for the box plots. null cells (NaN/Infinity on the wire) sort last either way.

export type SortDir = 'asc' | 'desc';

export function compareNullable(a: number | null, b: number | null, dir: SortDir): number {
  if (a === null && b === null) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return dir === 'asc' ? a - b : b - a;
}

/** Rows sorted by `key(row)`; stable; the input is not modified. */
export function sortRows<T>(rows: readonly T[], key: (r: T) => number | string | null, dir: SortDir): T[] {
  return rows.map((r, i) => ({ r, i })).sort((x, y) => {
    const a = key(x.r), b = key(y.r);
    const c = typeof a === 'string' || typeof b === 'string'
      ? String(a ?? '').localeCompare(String(b ?? '')) * (dir === 'asc' ? 1 : -1)
      : compareNullable(a, b, dir);
    return c || x.i - y.i;
  }).map((x) => x.r);
}

/** RFC 4180 CSV: fields with a comma, quote or newline are quoted. */
export function toCsv(header: readonly string[], rows: readonly (readonly (string | number | null)[])[]): string {
  const field = (v: string | number | null) => {
    const s = v === null ? '' : String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [header, ...rows].map((r) => r.map(field).join(',')).join('\n') + '\n';
}

export interface FiveNumbers { min: number; q1: number; median: number; q3: number; max: number; n: number }

/** Min, quartiles (linear interpolation, numpy's default) and max of the finite values; null when none. */
export function fiveNumbers(values: readonly (number | null)[]): FiveNumbers | null {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const q = (p: number) => {
    const h = (v.length - 1) * p, lo = Math.floor(h);
    return v[lo] + (h - lo) * ((v[Math.min(lo + 1, v.length - 1)]) - v[lo]);
  };
  return { min: v[0], q1: q(0.25), median: q(0.5), q3: q(0.75), max: v[v.length - 1], n: v.length };
}
