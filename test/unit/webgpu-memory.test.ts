// Batch and patch fitted to a WebGPU adapter's maxStorageBufferBindingSize (app/learning/webgpu/memory.ts).
// The largest tensor of a U-Net step is the level-0 skip concat: N · voxels · 2·f0 · 4 bytes.
import { describe, expect, it } from 'vitest';
import { inferenceBatch, largestTensorBytes, MEMORY_MARGIN, planMemory } from '../../app/learning/webgpu/memory.ts';

const MiB = 2 ** 20;
const unet2d = { spatialDims: 2 as const, filters: [16, 32, 64, 128], inChannels: 1, outChannels: 5, multiple: 8 };

describe('planMemory', () => {
  it('keeps a request that fits (lavapipe: 128 MiB)', () => {
    const p = planMemory({ ...unet2d, batch: 4, patch: [128, 128] }, 128 * MiB);
    // 4 · 128² · 32 · 4 B = 8 MiB
    expect(p).toMatchObject({ batch: 4, patch: [128, 128], reduced: false, largestTensorBytes: 8 * MiB });
    expect(p.text).toBe('webgpu memory plan: batch 4, patch 128×128 fit: largest tensor 8.0 MiB of the adapter\'s maxStorageBufferBindingSize 128 MiB');
  });

  it('lowers the batch first, then halves the largest patch axis, staying a multiple of 2^poolings', () => {
    // 8 · 512² · 32 · 4 B = 256 MiB > 0.8 · 128 MiB: batch 8 → 2 (64 MiB) fits.
    expect(planMemory({ ...unet2d, batch: 8, patch: [512, 512] }, 128 * MiB)).toMatchObject({ batch: 2, patch: [512, 512], reduced: true });
    // 3D, 16 MiB binding limit: [1,128,128,96] · 2·8 ch · 4 B = 96 MiB → halve 128, 128, then 96 …
    const p = planMemory({ spatialDims: 3, filters: [8, 16, 32, 64], inChannels: 1, outChannels: 5, multiple: 8, batch: 2, patch: [96, 128, 128] }, 16 * MiB);
    expect(p.batch).toBe(1);
    expect(p.patch.every((s) => s % 8 === 0)).toBe(true);
    expect(p.largestTensorBytes).toBeLessThanOrEqual(16 * MiB * MEMORY_MARGIN);
    expect(p.largestTensorBytes).toBe(largestTensorBytes({ batch: 1, patch: p.patch, filters: [8], inChannels: 1, outChannels: 5 }));
    expect(p.text).toMatch(/^webgpu memory plan: batch 2 → 1, patch 96×128×128 → \d+×\d+×\d+, so the largest tensor/);
  });

  it('refuses an adapter whose limit no patch fits', () => {
    expect(() => planMemory({ ...unet2d, batch: 1, patch: [8, 8] }, 1024)).toThrow(/no patch fits maxStorageBufferBindingSize/);
  });
});

describe('inferenceBatch', () => {
  it('streams 512×512 slices two at a time on a 128 MiB adapter, four at a time on 2 GiB', () => {
    const r = { spatialDims: 2 as const, patch: [512, 512], filters: [16, 32, 64, 128], inChannels: 1, outChannels: 5 };
    expect(inferenceBatch(r, 4, 128 * MiB)).toBe(2);
    expect(inferenceBatch(r, 4, 2048 * MiB)).toBe(4);
    expect(inferenceBatch({ ...r, filters: [64, 128] }, 4, 16 * MiB)).toBe(1);
  });
});
