#!/usr/bin/env node
// `npm run fuzz -- --iterations N [--seed S] [--reader NAME]`: the seeded mutation fuzzer
// (test/hostile/fuzz.ts), each reader in a worker thread with a 10 s watchdog per iteration.
// Prints ok (accepted), refused (exit-2 errors), crash and hang counts per reader; exits 1 when
// any reader crashed or hung.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { iterations: { type: 'string', default: '1000' }, seed: { type: 'string', default: '1' }, reader: { type: 'string' }, 'hang-ms': { type: 'string', default: '10000' } } });
const iterations = Number(values.iterations), seed = Number(values.seed), hangMs = Number(values['hang-ms']);
if (!Number.isInteger(iterations) || iterations < 1) { console.error('--iterations N: a positive integer'); process.exit(2); }
const { TARGETS } = await import('../test/hostile/fuzz.ts');
const targets = TARGETS.filter((t) => !values.reader || t.name === values.reader);
const base = mkdtempSync(join(tmpdir(), 'osteon-fuzz-'));

function batch(name, start, count, dir) {
  return new Promise((resolve) => {
    const w = new Worker(join(root, 'app', 'services', 'worker-boot.mjs'), {
      workerData: { entry: join(root, 'test', 'hostile', 'fuzz-worker.ts'), target: name, seed, start, count, dir },
      resourceLimits: { maxOldGenerationSizeMb: 1024 },
    });
    let last = start - 1;
    const counts = { ok: 0, refused: 0, crash: 0 };
    let crashes = [];
    let timer;
    // The watchdog starts once the worker has loaded (loading tsx and the readers is not a hang).
    const arm = () => { clearTimeout(timer); timer = setTimeout(() => { void w.terminate(); resolve({ counts, crashes, hungAt: last + 1 }); }, hangMs); };
    w.on('message', (m) => {
      if (m.type === 'ready') arm();
      else if (m.type === 'each') { counts[m.o]++; last = m.i; arm(); }
      else { clearTimeout(timer); crashes = m.crashes; }
    });
    w.on('error', (e) => { clearTimeout(timer); crashes.push(`${name} #${last + 1}: worker died: ${e.message}`); counts.crash++; resolve({ counts, crashes, next: last + 2 }); });
    w.on('exit', () => { clearTimeout(timer); resolve({ counts, crashes, next: last + 1 }); });
  });
}

let bad = false;
console.log(`reader        iterations        ok   refused  crash  hang   (seed ${seed})`);
for (const t of targets) {
  const total = { ok: 0, refused: 0, crash: 0, hang: 0 };
  const crashes = [];
  let i = 0;
  while (i < iterations) {
    const r = await batch(t.name, i, iterations - i, join(base, t.name));
    for (const k of ['ok', 'refused', 'crash']) total[k] += r.counts[k];
    crashes.push(...r.crashes);
    if (r.hungAt !== undefined) { total.hang++; crashes.push(`${t.name} #${r.hungAt}: hang (no answer in ${hangMs} ms)`); i = r.hungAt + 1; }
    else i = Math.max(r.next, i + 1);
  }
  if (total.crash || total.hang) bad = true;
  console.log(`${t.name.padEnd(13)} ${String(iterations).padStart(10)} ${String(total.ok).padStart(9)} ${String(total.refused).padStart(9)} ${String(total.crash).padStart(6)} ${String(total.hang).padStart(5)}`);
  for (const c of crashes.slice(0, 5)) console.log(`    ${c}`);
}
rmSync(base, { recursive: true, force: true });
process.exitCode = bad ? 1 : 0;
