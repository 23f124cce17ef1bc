// How the addon's OpenMP threads wait (app/learning/native/addon.ts prepareNativeEnv): spin
// (GOMP_SPINCOUNT) only on a machine the other processes leave mostly idle, else
// OMP_WAIT_POLICY=passive; a user's own setting is never overridden. The choice itself depends on
// the machine's load, so the test checks the rules, not which one this run picked.
import { afterEach, describe, expect, it } from 'vitest';
import { cpus } from 'node:os';
import { SPIN_COUNT, busyCpus, ompWait, prepareNativeEnv } from '../../app/learning/native/addon.ts';

const saved = { policy: process.env.OMP_WAIT_POLICY, spin: process.env.GOMP_SPINCOUNT };
function restore(): void {
  for (const [k, v] of [['OMP_WAIT_POLICY', saved.policy], ['GOMP_SPINCOUNT', saved.spin]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}
afterEach(restore);

describe('OpenMP wait policy of the native kernels', () => {
  it('busyCpus measures between 0 and the CPU count', () => {
    const b = busyCpus();
    expect(Number.isFinite(b)).toBe(true);
    expect(b).toBeGreaterThanOrEqual(0);
    expect(b).toBeLessThanOrEqual(cpus().length + 0.5);
  });

  it('with neither variable set, sets exactly one of them', () => {
    delete process.env.OMP_WAIT_POLICY;
    delete process.env.GOMP_SPINCOUNT;
    prepareNativeEnv();
    const spin = process.env.GOMP_SPINCOUNT, policy = process.env.OMP_WAIT_POLICY;
    expect((spin === undefined) !== (policy === undefined)).toBe(true);
    if (spin !== undefined) {
      expect(spin).toBe(SPIN_COUNT);
      expect(ompWait()).toBe(`spin ${SPIN_COUNT}`);
    } else {
      expect(policy).toBe('passive');
      expect(ompWait()).toBe('passive');
    }
  });

  it("keeps the user's OMP_WAIT_POLICY or GOMP_SPINCOUNT", () => {
    delete process.env.GOMP_SPINCOUNT;
    process.env.OMP_WAIT_POLICY = 'active';
    prepareNativeEnv();
    expect(process.env.GOMP_SPINCOUNT).toBeUndefined();
    expect(process.env.OMP_WAIT_POLICY).toBe('active');
    delete process.env.OMP_WAIT_POLICY;
    process.env.GOMP_SPINCOUNT = '1234';
    prepareNativeEnv();
    expect(process.env.OMP_WAIT_POLICY).toBeUndefined();
    expect(process.env.GOMP_SPINCOUNT).toBe('1234');
  });
});
