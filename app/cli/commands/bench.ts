import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Command } from '../command.ts';
import type { BenchRecord, BenchSuite } from '../bench-types.ts';
import { usageError } from '../../util/errors.ts';
import { profileRequested } from '../../learning/profile.ts';

/** bench/ at the repository root, beside app/. */
const benchDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bench');

async function loadSuites(): Promise<BenchSuite[]> {
  if (!existsSync(benchDir)) return [];
  const files = readdirSync(benchDir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts')).sort();
  const suites: BenchSuite[] = [];
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(benchDir, f)).href)) as { suite?: BenchSuite };
    if (mod.suite) suites.push(mod.suite);
  }
  return suites.sort((a, b) => a.name.localeCompare(b.name));
}

function num(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(v >= 1 ? 2 : 3);
}

/** An aligned text table: one row per record (with CPU columns when a record has them). */
export function renderTable(rows: Array<{ suite: string } & BenchRecord>): string {
  const cpu = rows.some((r) => r.cpu);
  const head = ['suite', 'measurement', 'median', 'min', 'max', 'unit', 'n', 'reference', 'ref median', 'ratio', 'check', ...(cpu ? ['cores', 'ref cores', 'load'] : [])];
  const body = rows.map((r) => [
    r.suite, r.name, num(r.median), num(r.min), num(r.max), r.unit, String(r.n),
    r.reference?.name ?? '-', r.reference ? num(r.reference.median) : '-', r.ratio !== undefined ? num(r.ratio) : '-',
    r.ok === undefined ? '-' : r.ok ? 'ok' : 'FAILED',
    ...(cpu ? [r.cpu ? r.cpu.osteon.toFixed(2) : '-', r.cpu?.reference !== undefined ? r.cpu.reference.toFixed(2) : '-', r.cpu ? r.cpu.loadavg.toFixed(2) : '-'] : []),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const numeric = new Set([2, 3, 4, 6, 8, 9, 11, 12, 13]);
  const line = (cells: string[]) => cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  const details = rows.filter((r) => r.detail).map((r) => `  ${r.suite} / ${r.name}: ${r.detail}`);
  return [line(head), ...body.map(line), ...(details.length ? ['', ...details] : [])].join('\n');
}

export const command: Command = {
  name: 'bench',
  summary: 'Time Osteon\'s kernels against reference implementations (bench/*.ts suites).',
  usage: '[--suite NAME] [--repeats N] [--profile] [--json]',
  help: [
    'Runs the benchmark suites found in bench/*.ts (each module exports `suite`) and prints one',
    'row per measurement: median, min and max over the repetitions, and, where a suite times a',
    'reference implementation (e.g. numpy/scipy through /usr/bin/python3) on the same data in',
    'the same run, its median and the ratio Osteon/reference (below 1 = Osteon faster).',
    'With --json, one JSON object per line per record on stdout; notices go to stderr.',
    'Timings depend on the machine and its load; compare runs taken under similar load.',
    '',
    'Exit 0 when every check passed, 1 when a suite failed or its values disagreed with the reference.',
    'Example: npm run bench -- --suite metrics',
  ].join('\n'),
  options: {
    suite: { type: 'string' },
    repeats: { type: 'string' },
    json: { type: 'boolean' },
    profile: { type: 'boolean' },
  },
  optionHelp: {
    suite: 'NAME[,NAME]: run only these suites (bench/*.ts)',
    repeats: 'N: timed repetitions per measurement, 1..100 (default 3)',
    json: 'one JSON object per record on stdout; notices go to stderr',
    profile: 'also print per-op time tables (kernel, backend, calls, ms, % of step) where a suite has them (unet, native; also OSTEON_PROFILE=1)',
  },
  allowPositionals: false,
  async run({ values, io }) {
    const repeats = values.repeats === undefined ? 3 : Number(values.repeats);
    if (!Number.isInteger(repeats) || repeats < 1 || repeats > 100) throw usageError(`--repeats ${String(values.repeats)}: expected an integer 1..100`);
    const all = await loadSuites();
    const wanted = typeof values.suite === 'string' ? values.suite.split(',').map((s) => s.trim()).filter(Boolean) : null;
    for (const w of wanted ?? []) {
      if (!all.some((s) => s.name === w)) throw usageError(`--suite ${w}: no such suite (have: ${all.map((s) => s.name).join(', ') || 'none'})`);
    }
    const suites = wanted ? all.filter((s) => wanted.includes(s.name)) : all;
    const rows: Array<{ suite: string } & BenchRecord> = [];
    let failed = false;
    for (const s of suites) {
      io.err(`bench: ${s.name}: ${s.description}`);
      const t0 = performance.now();
      try {
        const records = await s.run({ repeats, notice: (t) => io.err(`bench: ${s.name}: ${t}`), profile: profileRequested(values.profile === true) });
        for (const r of records) {
          rows.push({ suite: s.name, ...r });
          if (r.ok === false) failed = true;
          if (values.json) io.out(JSON.stringify({ suite: s.name, ...r }));
        }
      } catch (e) {
        failed = true;
        io.err(`bench: ${s.name}: failed: ${e instanceof Error ? e.message : String(e)}`);
        if (values.json) io.out(JSON.stringify({ suite: s.name, error: e instanceof Error ? e.message : String(e) }));
      }
      io.err(`bench: ${s.name}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    if (!values.json) io.out(rows.length ? renderTable(rows) : 'bench: no records');
    return failed ? 1 : 0;
  },
};
