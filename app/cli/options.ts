/** Parsing of CLI option values, with usage errors that name the option and say what is expected. */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { usageError } from '../util/errors.ts';

/** The bundled label schema presets (resources/presets/NAME.json). */
export const presetsDir = fileURLToPath(new URL('../../resources/presets/', import.meta.url));

/**
 * `--schema` as a file, or the name of a bundled preset (`--schema pelvis` is
 * resources/presets/pelvis.json). A name that is neither gets a usage error listing the presets.
 */
export function schemaOpt(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  const s = String(v);
  if (existsSync(s)) return s;
  const preset = join(presetsDir, `${s}.json`);
  if (/^[A-Za-z0-9_-]+$/.test(s) && existsSync(preset)) return preset;
  const names = existsSync(presetsDir) ? readdirSync(presetsDir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort() : [];
  throw usageError(`--schema ${s}: no such file, and not a preset name (presets: ${names.join(', ') || 'none'})`);
}

export function intOpt(v: unknown, name: string, def: number, lo: number, hi: number): number {
  if (v === undefined) return def;
  const s = String(v);
  if (!/^-?\d+$/.test(s) || Number(s) < lo || Number(s) > hi) throw usageError(`--${name} ${s}: expected an integer in ${lo}..${hi}`);
  return Number(s);
}

export function numOpt(v: unknown, name: string, def: number, lo: number, hi: number): number {
  if (v === undefined) return def;
  const x = Number(v);
  if (String(v).trim() === '' || !Number.isFinite(x) || x < lo || x > hi) throw usageError(`--${name} ${String(v)}: expected a number in ${lo}..${hi}`);
  return x;
}

/** Comma-separated numbers, e.g. "16,32,64,128". */
export function numListOpt(v: unknown, name: string, opts: { min?: number; max?: number; integer?: boolean; length?: number } = {}): number[] | undefined {
  if (v === undefined) return undefined;
  const parts = String(v).split(',').map((s) => s.trim());
  const xs = parts.map(Number);
  const ok = parts.every((s) => s !== '') && xs.every((x) => Number.isFinite(x) && (!opts.integer || Number.isInteger(x))
    && (opts.min === undefined || x >= opts.min) && (opts.max === undefined || x <= opts.max));
  if (!ok || (opts.length !== undefined && xs.length !== opts.length)) {
    const what = `${opts.length ?? 'one or more'} comma-separated ${opts.integer ? 'integers' : 'numbers'}${opts.min !== undefined ? ` ≥ ${opts.min}` : ''}${opts.max !== undefined ? ` ≤ ${opts.max}` : ''}`;
    throw usageError(`--${name} ${String(v)}: expected ${what}`);
  }
  return xs;
}

export function enumOpt<T extends string>(v: unknown, name: string, allowed: readonly T[], def: T): T {
  if (v === undefined) return def;
  if (!allowed.includes(String(v) as T)) throw usageError(`--${name} ${String(v)}: expected one of ${allowed.join(', ')}`);
  return String(v) as T;
}

export function requiredString(v: unknown, name: string, command: string): string {
  if (typeof v !== 'string' || v === '') throw usageError(`--${name} is required\nRun \`osteon ${command} --help\`.`);
  return v;
}

/**
 * Repeated `--map KEY=VALUE` options as a table without a prototype (a key such as "__proto__"
 * is a plain key). `split: 'last'` splits at the last "=", for keys that may contain one (DICOM
 * segment labels); `expected` names the form in the usage error.
 */
export function mapOpt(v: unknown, expected: string, split: 'first' | 'last' = 'first'): Record<string, string> {
  const list = Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : [];
  const out = Object.create(null) as Record<string, string>;
  for (const item of list) {
    const eq = split === 'first' ? item.indexOf('=') : item.lastIndexOf('=');
    if (eq <= 0 || eq === item.length - 1) throw usageError(`--map ${item}: expected ${expected}`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}
