// extractBlock (app/learning/data/block.ts) against a plain triple loop (the definition), over
// random boxes partly outside the volume, every axis order, flips, float and int sources: its
// contiguous-line path (block axis 1 = volume axis 0, unflipped: whole-CT inference) and its
// general path must both give exactly the definition's values.
import { describe, expect, it } from 'vitest';
import { extractBlock, type BlockSpec } from '../../app/learning/data/block.ts';
import type { Vec3 } from '../../app/imaging/volume.ts';

function reference(src: ArrayLike<number>, dims: Vec3, spec: BlockSpec, fill: number, out: Float32Array | Int32Array): void {
  const strides = [1, dims[0], dims[0] * dims[1]];
  const flip = spec.flip ?? [false, false, false];
  let o = 0;
  for (let x0 = 0; x0 < spec.size[0]; x0++) for (let x1 = 0; x1 < spec.size[1]; x1++) for (let x2 = 0; x2 < spec.size[2]; x2++) {
    const x = [x0, x1, x2];
    const v = x.map((xi, b) => spec.start[b] + (flip[b] ? spec.size[b] - 1 - xi : xi));
    const inside = v.every((vi, b) => vi >= 0 && vi < dims[spec.axes[b]]);
    out[o++] = inside ? src[v.reduce((a, vi, b) => a + vi * strides[spec.axes[b]], 0)] : fill;
  }
}

describe('extractBlock', () => {
  it('equals the definition on 400 random boxes (both paths, Float32 and Int16 sources)', () => {
    let seed = 1;
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
    const dims: Vec3 = [7, 5, 6];
    const f32 = Float32Array.from({ length: 7 * 5 * 6 }, (_, i) => i * 0.5 - 3);
    const i16 = Int16Array.from({ length: 7 * 5 * 6 }, (_, i) => i * 3 - 90);
    const orders: Array<[number, number, number]> = [[1, 0, 2], [2, 1, 0], [0, 1, 2], [2, 0, 1], [1, 2, 0], [0, 2, 1]];
    let fast = 0;
    for (let t = 0; t < 400; t++) {
      const axes = orders[t % orders.length];
      const size: [number, number, number] = [1 + rnd(9), 1 + rnd(9), 1 + rnd(3)];
      const start: [number, number, number] = [rnd(12) - 4, rnd(12) - 4, rnd(10) - 3];
      const flip: [boolean, boolean, boolean] = [rnd(3) === 0, rnd(3) === 0, rnd(3) === 0];
      const spec: BlockSpec = { axes, start, size, flip };
      if (axes[1] === 0 && !flip[1]) fast++;
      const n = size[0] * size[1] * size[2];
      for (const src of [f32, i16]) {
        const want = new Float32Array(n), got = new Float32Array(n + 3);
        reference(src, dims, spec, -7, want);
        extractBlock(src, dims, spec, -7, got, 3);
        expect(got.subarray(3)).toEqual(want);
      }
    }
    expect(fast).toBeGreaterThan(40);
  });
});
