// Builds the renderer on its own (the e2e test and `osteon serve` use it); electron.vite.config.ts
// at the root builds the same tree for Electron. Both write out/renderer/ with relative asset URLs.
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig, type Plugin } from 'vite';

/** The dev server injects component CSS as <style> tags, which the page's strict CSP refuses. */
const devWithoutCsp: Plugin = {
  name: 'osteon-dev-without-csp',
  apply: 'serve',
  transformIndexHtml: (html) => html.replace(/<meta\s+http-equiv="Content-Security-Policy"[\s\S]*?\/>/, ''),
};

export default defineConfig({
  root: import.meta.dirname,
  base: './',
  plugins: [svelte(), devWithoutCsp],
  build: {
    outDir: '../out/renderer',
    emptyOutDir: true,
    // vtk.js alone is ~1 MB; one chunk is fine for a local app.
    chunkSizeWarningLimit: 2500,
  },
});
