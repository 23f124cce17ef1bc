/**
 * In-process A/B of the pure-wasm rung's direct 2x2 stride-2 transposed-conv kernels
 * (kernels/simd/fused.ts setSimdUpconv) on the bench's 2D reference training step (timing.ts
 * referenceModel, [4,128,128,1], U-Net 16-32-64-128, joint head, Adam), with the rung's helper
 * threads as `osteon train` starts them: alternating blocks of steps with the direct kernels on
 * and off, medians and minima per variant, the load average beside them.
 *
 *   OSTEON_NATIVE=0 node --import tsx bench/upconv-ab.ts [--blocks 8] [--steps 4]
 */
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { initBackend } from '../app/learning/backend.ts';
import { setSimdUpconv, simdFusedCounts, UPCONV_DIRECT, UPCONV_DIRECT_DX, UPCONV_DIRECT_GRAD } from '../app/learning/kernels/simd/fused.ts';
import { referenceModel } from '../app/learning/timing.ts';

/** Runs the A/B and prints its rows (the bench runner imports this file but only runs `suite` exports). */
export async function main(): Promise<void> {
  const arg = (name: string, def: number): number => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : def;
  };
  const blocks = arg('blocks', 8);
  const steps = arg('steps', 4);
  const report = await initBackend({ prefer: 'wasm' });
  if (report.name !== 'wasm') throw new Error(`upconv-ab: backend ${report.name}, expected wasm (set OSTEON_NATIVE=0)`);
  const m = referenceModel(2, 4, 128, [16, 32, 64, 128]);
  const times: Record<'direct' | 'generic', number[]> = { direct: [], generic: [] };
  const load = (): string => loadavg().map((v) => v.toFixed(2)).join(' ');
  const loadBefore = load();
  for (const on of [true, false]) { setSimdUpconv(on); await m.step(); await m.step(); }
  const c0 = simdFusedCounts();
  for (let b = 0; b < blocks; b++) {
    for (const on of b % 2 ? [false, true] : [true, false]) {
      setSimdUpconv(on);
      for (let s = 0; s < steps; s++) {
        const t = performance.now();
        await m.step();
        times[on ? 'direct' : 'generic'].push(performance.now() - t);
      }
    }
  }
  setSimdUpconv(true);
  m.dispose();
  const c1 = simdFusedCounts();
  const med = (a: number[]): number => { const s = [...a].sort((x, y) => x - y); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
  const row = (k: 'direct' | 'generic'): string => `${k.padEnd(7)} median ${med(times[k]).toFixed(1)} ms, min ${Math.min(...times[k]).toFixed(1)} ms (${times[k].length} steps)`;
  const d = (k: string): number => (c1[k] ?? 0) - (c0[k] ?? 0);
  process.stdout.write([
    `2D reference step [4,128,128,1] 16-32-64-128, joint head, Adam; ${report.name}, ${report.threads} thread(s)`,
    row('direct'), row('generic'),
    `direct/generic medians ${(med(times.direct) / med(times.generic)).toFixed(3)}, min ${(Math.min(...times.direct) / Math.min(...times.generic)).toFixed(3)}; direct calls forward ${d(UPCONV_DIRECT)}, filter gradient ${d(UPCONV_DIRECT_GRAD)}, input gradient ${d(UPCONV_DIRECT_DX)}; load average before ${loadBefore}, after ${load()}`,
  ].join('\n') + '\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
