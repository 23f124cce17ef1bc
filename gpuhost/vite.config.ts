// Builds the GPU host page (gpuhost/index.html) into out/renderer/gpu-host/: Electron's hidden
// window loads it as osteon://app/gpu-host/index.html, and the e2e test serves the same folder to
// Chromium from 127.0.0.1. `npm run build` runs this after electron-vite.
import { resolve } from 'node:path';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: './',
  build: {
    outDir: resolve(import.meta.dirname, '..', 'out', 'renderer', 'gpu-host'),
    emptyOutDir: true,
    // tfjs with its backends is one ~3 MB chunk; it loads once, from disk.
    chunkSizeWarningLimit: 4000,
  },
});
