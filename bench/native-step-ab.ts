/**
 * In-process A/B of the native training step (app/learning/native/net-step.ts) against the tfjs
 * step on wasm+dnnl: the bench's reference model (timing.ts referenceModel, the step users run),
 * alternating blocks of steps with the native step on and off (setNativeStep), medians and
 * minima per variant, the load average beside them.
 *
 *   node --import tsx bench/native-step-ab.ts [--dims 2|3] [--blocks 8] [--steps 4]
 */
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { initBackend } from '../app/learning/backend.ts';
import { ompWait } from '../app/learning/native/addon.ts';
import { nativeStepCounts, setNativeStep } from '../app/learning/native/net-step.ts';
import { referenceModel } from '../app/learning/timing.ts';

/** Runs the A/B and prints its rows (the bench runner imports this file but only runs `suite` exports). */
export async function main(): Promise<void> {
  const arg = (name: string, def: number): number => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : def;
  };
  const dims = arg('dims', 2) as 2 | 3;
  const blocks = arg('blocks', 8);
  const steps = arg('steps', 4);

  const report = await initBackend({ prefer: 'wasm+dnnl' });
  const [batch, size, filters] = dims === 2 ? [4, 128, [16, 32, 64, 128]] : [1, 64, [8, 16, 32, 64]];
  const m = referenceModel(dims, batch, size, filters);
  const times: Record<'native' | 'tfjs', number[]> = { native: [], tfjs: [] };
  // CPU time of the process per step (all threads): the work done, steadier than the wall time on a loaded machine.
  const cpu: Record<'native' | 'tfjs', number[]> = { native: [], tfjs: [] };
  const load = (): string => loadavg().map((v) => v.toFixed(2)).join(' ');
  const loadBefore = load();
  for (const on of [true, false]) { setNativeStep(on); await m.step(); await m.step(); }
  const before = nativeStepCounts().steps;
  for (let b = 0; b < blocks; b++) {
    for (const on of b % 2 ? [false, true] : [true, false]) {
      setNativeStep(on);
      for (let s = 0; s < steps; s++) {
        const t = performance.now();
        const c = process.cpuUsage();
        await m.step();
        times[on ? 'native' : 'tfjs'].push(performance.now() - t);
        const u = process.cpuUsage(c);
        cpu[on ? 'native' : 'tfjs'].push((u.user + u.system) / 1000);
      }
    }
  }
  m.dispose();
  const med = (a: number[]): number => { const s = [...a].sort((x, y) => x - y); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
  const row = (k: 'native' | 'tfjs'): string => `${k.padEnd(6)} median ${med(times[k]).toFixed(1)} ms, min ${Math.min(...times[k]).toFixed(1)} ms (${times[k].length} steps); CPU median ${med(cpu[k]).toFixed(1)} ms`;
  process.stdout.write([
    `${dims}D reference step [${batch},${size}${dims === 3 ? `,${size}` : ''},${size},1] ${filters.join('-')}, joint head, Adam; ${report.name}, idle threads ${ompWait()}`,
    row('native'), row('tfjs'),
    `native/tfjs medians ${(med(times.native) / med(times.tfjs)).toFixed(3)}, min ${(Math.min(...times.native) / Math.min(...times.tfjs)).toFixed(3)}, CPU ${(med(cpu.native) / med(cpu.tfjs)).toFixed(3)}; native steps counted ${nativeStepCounts().steps - before}; load average before ${loadBefore}, after ${load()}`,
  ].join('\n') + '\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
