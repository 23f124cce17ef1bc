// Builds the desktop app: main (+ the services process) and the preload from main/, the renderer
// from renderer/ with the same settings as renderer/vite.config.ts (which builds it alone for
// `osteon serve` and the e2e tests). Output: out/main, out/preload, out/renderer. The GPU host page
// (gpuhost/vite.config.ts) is built after this, into out/renderer/gpu-host (`npm run build`).
import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import rendererConfig from './renderer/vite.config.ts';

const root = import.meta.dirname;

export default defineConfig({
  main: {
    build: {
      outDir: resolve(root, 'out/main'),
      // Dependencies (zod, ws, tfjs, tfjs-node-gpu) stay in node_modules: native addons cannot be bundled.
      externalizeDeps: true,
      rolldownOptions: {
        input: {
          index: resolve(root, 'main/index.ts'),
          'services-process': resolve(root, 'main/services-process.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      outDir: resolve(root, 'out/preload'),
      // A sandboxed preload cannot require() packages or be an ES module: one self-contained CJS file.
      externalizeDeps: false,
      isolatedEntries: true,
      rolldownOptions: {
        input: { preload: resolve(root, 'main/preload.ts'), 'gpu-host-preload': resolve(root, 'main/gpu-host-preload.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    ...rendererConfig,
    root: resolve(root, 'renderer'),
    build: {
      ...rendererConfig.build,
      outDir: resolve(root, 'out/renderer'),
      rolldownOptions: { input: resolve(root, 'renderer/index.html') },
    },
  },
});
