import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // 2-core machines: tfjs kernels and the browser each want a whole core.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
