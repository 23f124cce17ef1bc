// the per-op profiler (app/learning/profile.ts) behind OSTEON_PROFILE=1 / --profile: the
// table appears, names the backend of each row, and its rows add up to the profiled wall time
// (kernels + native spans + the engine/tape row). No timing assertions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../app/learning/backend.ts';
import { loadNative } from '../../app/learning/native/addon.ts';
import { fusionActive } from '../../app/learning/native/loss-adam.ts';
import { registerNativeKernels, unregisterNativeKernels } from '../../app/learning/native/register.ts';
import { OUTSIDE_KERNELS, renderProfile, type ProfileReport } from '../../app/learning/profile.ts';
import { profileModel } from '../../app/learning/timing.ts';

const native = loadNative();

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});
afterAll(async () => {
  unregisterNativeKernels();
  await tf.setBackend('wasm');
});

function checkSums(r: ProfileReport, steps: number): void {
  expect(r.steps).toBe(steps);
  const total = r.rows.reduce((a, x) => a + x.totalMs, 0);
  // On failure, name the rows: a sum past the wall time means a kernel was timed twice (one run
  // inside another through the engine); which one is what to look for.
  expect(total, `rows sum ${total.toFixed(2)} ms, wall ${r.wallMs.toFixed(2)} ms: ${r.rows.map((x) => `${x.kernel}/${x.backend} ×${x.calls} ${x.totalMs.toFixed(2)}`).join('; ')}`).toBeCloseTo(r.wallMs, 3);
  expect(r.rows.reduce((a, x) => a + x.percent, 0)).toBeCloseTo(100, 3);
  for (const x of r.rows) {
    expect(x.totalMs).toBeGreaterThanOrEqual(0);
    expect(x.calls).toBeGreaterThan(0);
  }
  expect(r.rows.filter((x) => x.kernel === OUTSIDE_KERNELS)).toHaveLength(1);
  // Op scopes (customGrad) are not rows: only registered kernels, spans and the engine row.
  expect(r.rows.some((x) => /scope|__op/.test(x.kernel))).toBe(false);
}

describe('profiler', () => {
  it('on the cpu backend: every row is js, rows sum to the wall time', async () => {
    await tf.setBackend('cpu');
    const p = await profileModel(2, 1, 16, [4, 8], 2);
    checkSums(p.train, 2);
    checkSums(p.infer, 2);
    expect(new Set(p.train.rows.map((x) => x.backend))).toEqual(new Set(['js']));
    expect(p.train.rows.map((x) => x.kernel)).toContain('Conv2DBackpropFilter');
    const text = renderProfile(p.train);
    expect(text).toMatch(/^profile: training step, 2 step\(s\), [\d.]+ ms\/step wall \(backend cpu\)/);
    expect(text).toMatch(/\nkernel\s+backend\s+calls\/step\s+ms\/step\s+% of step\n/);
    expect(text).toMatch(/\(engine, tape, JS outside kernels\)\s+js\s+1\s+[\d.]+\s+[\d.]+/);
    expect(text).toMatch(/\nby backend \(ms\/step\): js [\d.]+ \(100%\)$/);
  });

  it('on wasm (no addon kernels): wasm rows, with the step counts per kernel', async () => {
    await tf.setBackend('wasm');
    unregisterNativeKernels();
    const p = await profileModel(3, 1, 8, [4, 8], 1);
    checkSums(p.train, 1);
    // 7 convolutions forward, plus the transpose convolution's gradient w.r.t. its input.
    expect(p.train.rows.find((x) => x.kernel === 'Conv3D')).toMatchObject({ backend: 'wasm', calls: 8 });
    expect(p.train.rows.some((x) => x.backend === 'native')).toBe(false);
  });

  it.skipIf(!native.addon)('on wasm+dnnl: the addon\'s kernels and the fused loss and Adam are native rows', async () => {
    await tf.setBackend('wasm');
    registerNativeKernels();
    const p = await profileModel(2, 2, 16, [4, 8], 2);
    checkSums(p.train, 2);
    const by = new Map(p.train.rows.map((x) => [`${x.kernel}/${x.backend}`, x]));
    if (process.env.OSTEON_FUSE === '0') {
      expect(by.get('Conv2D/native')?.calls).toBe(2 * 8);
    } else {
      // The 7 forward convolutions are fused conv + bias (+ ReLU); the transposed convolution's input
      // gradient stays a Conv2D.
      expect(by.get('OsteonConvBias/native')?.calls).toBe(2 * 7);
      expect(by.get('Conv2D/native')?.calls).toBe(2 * 1);
    }
    if (fusionActive()) {
      expect(by.get('FusedLoss/native')?.calls).toBe(2);
      expect(by.get('FusedAdam/native')?.calls).toBe(2);
    }
  });
});
