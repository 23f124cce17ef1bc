// The seeded mutation fuzzer (test/hostile/fuzz.ts), a few hundred iterations in npm test: no
// reader may crash (throw anything but an input OsteonError) on a mutated file. Hangs are the
// runner's job (`npm run fuzz -- --iterations N` watches each iteration in a worker thread).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TARGETS, fuzz } from './fuzz.ts';

const dir = mkdtempSync(join(tmpdir(), 'osteon-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mutation fuzzer', () => {
  it.each(TARGETS.map((t) => [t.name, t] as const))('%s: 40 seeded mutations, no crash', (_name, t) => {
    const r = fuzz(t, join(dir, t.name), 12, 0, 40);
    expect(r.crashes).toEqual([]);
    expect(r.ok + r.refused).toBe(40);
    expect(r.refused).toBeGreaterThan(0);
  });
});
