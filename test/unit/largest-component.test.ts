// largestComponent (app/learning/postprocess.ts) in its memory-lean form (two BFS passes, a
// visited byte per voxel, a ring-buffer queue) against the labelling version it replaced, written
// out below: the same mask on random volumes with many components, ties and edge-touching blobs.
import { describe, expect, it } from 'vitest';
import { largestComponent, RingQueue } from '../../app/learning/postprocess.ts';
import type { Vec3 } from '../../app/imaging/volume.ts';

function labelled(mask: Uint8Array, dims: Vec3): Uint8Array {
  const [nx, ny, nz] = dims;
  const label = new Int32Array(mask.length);
  const queue = new Int32Array(mask.length);
  let best = 0, bestSize = 0, next = 0;
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || label[start]) continue;
    const id = ++next;
    let head = 0, tail = 0, size = 0;
    queue[tail++] = start;
    label[start] = id;
    while (head < tail) {
      const v = queue[head++];
      size++;
      const x = v % nx, t = (v - x) / nx, y = t % ny, z = (t - y) / ny;
      for (let dz = -1; dz <= 1; dz++) for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
        const xx = x + dx, yy = y + dy, zz = z + dz;
        if (xx < 0 || xx >= nx || yy < 0 || yy >= ny || zz < 0 || zz >= nz) continue;
        const u = xx + nx * (yy + ny * zz);
        if (mask[u] && !label[u]) { label[u] = id; queue[tail++] = u; }
      }
    }
    if (size > bestSize) { bestSize = size; best = id; }
  }
  const out = new Uint8Array(mask.length);
  if (best) for (let v = 0; v < mask.length; v++) out[v] = label[v] === best ? 1 : 0;
  return out;
}

describe('largestComponent', () => {
  it('equals the labelling implementation on random masks', () => {
    let seed = 5;
    const rand = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
    const dims: Vec3 = [23, 17, 11];
    for (const density of [0.05, 0.2, 0.3, 0.6]) {
      const mask = Uint8Array.from({ length: dims[0] * dims[1] * dims[2] }, () => (rand() < density ? 1 : 0));
      const got = largestComponent(mask, dims), want = labelled(mask, dims);
      expect(Buffer.from(got).equals(Buffer.from(want))).toBe(true);
      expect(got.some((x) => x === 1)).toBe(true);
    }
  });

  it('keeps the first of two equal components; a large blob wraps the queue', () => {
    const dims: Vec3 = [90, 90, 50];
    const mask = new Uint8Array(dims[0] * dims[1] * dims[2]);
    const box = (x0: number, y0: number, z0: number, s: number) => {
      for (let z = z0; z < z0 + s; z++) for (let y = y0; y < y0 + s; y++) for (let x = x0; x < x0 + s; x++) mask[x + dims[0] * (y + dims[1] * z)] = 1;
    };
    box(1, 1, 1, 3);
    box(10, 10, 1, 3);
    expect(Buffer.from(largestComponent(mask, dims)).equals(Buffer.from(labelled(mask, dims)))).toBe(true);
    expect(largestComponent(mask, dims)[1 + 90 * (1 + 90)]).toBe(1);
    box(20, 20, 0, 45); // 91125 voxels go through the queue's 65536 slots
    const got = largestComponent(mask, dims);
    expect(Buffer.from(got).equals(Buffer.from(labelled(mask, dims)))).toBe(true);
    expect(got.reduce((a, b) => a + b, 0)).toBe(91125);
    expect(largestComponent(new Uint8Array(8), [2, 2, 2]).every((x) => x === 0)).toBe(true);
  });

  it('the ring queue keeps FIFO order while it wraps and grows', () => {
    const q = new RingQueue(4);
    const out: number[] = [];
    let next = 0;
    for (const [push, pop] of [[3, 2], [3, 1], [6, 4], [10, 3], [0, 12]]) {
      for (let i = 0; i < push; i++) q.push(next++);
      for (let i = 0; i < pop; i++) out.push(q.shift());
    }
    expect(q.length).toBe(0);
    expect(out).toEqual(Array.from({ length: next }, (_, i) => i));
  });
});
