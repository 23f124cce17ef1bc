/**
 * Bench suite `review`: how fast the 3D view follows an edit, in Debian's Chromium (headless,
 * SwiftShader WebGL2) against the real browser host with the bundled pelvis sample study
 * (122×101×112, 3 mm, four structures). A reviewer opens the case, starts an edit session on the
 * left hip and paints strokes on the axial view; for each stroke the page's own clock gives
 * pointer-up → the stroke applied by the services and its patch back → the 3D surfaces rebuilt
 * and drawn (Viewer3D's `surfacesAt`, renderer/src/viewer/components/Viewer3D.svelte). The 2×2
 * layout, 1280×860 window, as a reviewer works. docs/review.md has the numbers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchRecord, BenchSuite } from '../app/cli/bench-types.ts';
import { timeStats } from '../app/cli/bench-types.ts';

interface Hooks {
  stats(): { caseId: string; firstFrameMs: number; built: number; labelsAt: number; meshesAt: number; surfacesAt: number; surfaceMs: Record<string, number> };
  rotate(frames: number): number;
}
type Win = { __osteonViewer?: Hooks };

export const suite: BenchSuite = {
  name: 'review',
  description: 'Review editing in Chromium: brush stroke on the pelvis sample → 3D surfaces updated',
  async run(ctx) {
    const { build } = await import('vite');
    const { runJob } = await import('../app/contract/index.ts');
    const { startBrowserHost } = await import('../app/services/browser-host.ts');
    const { launchBrowser } = await import('../test/helpers/browser.ts');
    const { hasChromium, repoRoot } = await import('../test/helpers/env.ts');
    if (!hasChromium()) {
      ctx.notice('review: /usr/bin/chromium not found, suite skipped');
      return [];
    }
    const tmp = mkdtempSync(join(tmpdir(), 'osteon-bench-review-'));
    const rendererDir = join(tmp, 'renderer');
    await build({ configFile: join(repoRoot, 'renderer', 'vite.config.ts'), logLevel: 'warn', build: { outDir: rendererDir } });
    const host = await startBrowserHost({ rendererDir, home: join(tmp, 'home') });
    const browser = await launchBrowser({ width: 1280, height: 860 });
    try {
      const c = host.client;
      const sample = join(repoRoot, 'resources', 'sample', 'pelvis');
      await c.call('project.create', { dir: join(tmp, 'project'), name: 'bench' });
      await runJob(c, 'case.import', () => c.call('case.import', {
        ct: join(sample, 'ct.nii.gz'), labels: join(sample, 'labels.nii.gz'), schema: join(repoRoot, 'resources', 'presets', 'pelvis.json'), name: 'pelvis sample',
      }));
      const { page } = browser;
      await page.goto(host.url);
      await page.getByText('Connected', { exact: true }).waitFor();
      await page.getByTestId('case-item').first().click();
      await page.waitForFunction(() => ((globalThis as unknown as Win).__osteonViewer?.stats().firstFrameMs ?? -1) >= 0, null, { timeout: 120_000, polling: 50 });
      await page.getByTestId('review-panel').waitFor();
      await page.locator('[data-structure=hip_left]').first().click();
      await page.getByRole('tab', { name: 'Edit' }).click();
      const t0 = await page.evaluate(() => performance.now());
      await page.getByRole('button', { name: 'Edit segmentation' }).click();
      await page.getByRole('radio', { name: 'Brush', exact: true }).waitFor();
      // The session's masks replace the labels: every surface is built once for them.
      await page.waitForFunction((t) => ((globalThis as unknown as Win).__osteonViewer?.stats().surfacesAt ?? 0) > t, t0, { timeout: 120_000, polling: 20 });
      const layer = page.locator('[data-view=axial] [data-testid=edit-layer]');
      const box = (await layer.boundingBox())!;
      const side = Math.min(box.width, box.height);
      const x0 = box.x + (box.width - side) / 2, y0 = box.y + (box.height - side) / 2;
      await page.evaluate(() => {
        const g = globalThis as unknown as { __long: Array<[number, number]> };
        g.__long = [];
        new PerformanceObserver((l) => { for (const e of l.getEntries()) g.__long.push([e.startTime, e.duration]); }).observe({ entryTypes: ['longtask'] as never[] });
      });
      const strokes = Math.max(5, ctx.repeats * 3);
      const ms: number[] = [], patchMs: number[] = [], meshMs: number[] = [];
      let surfaces: Record<string, number> = {};
      for (let s = 0; s < strokes; s++) {
        // Short strokes beside the left hip (the patient's left is on the image's right), a little lower each time.
        const y = y0 + side * (0.45 + 0.02 * s);
        await page.mouse.move(x0 + side * 0.78, y);
        await page.mouse.down();
        for (let t = 1; t <= 6; t++) await page.mouse.move(x0 + side * (0.78 + 0.01 * t), y + side * 0.004 * t);
        const before = await page.evaluate(() => performance.now());
        await page.mouse.up();
        await page.waitForFunction((t) => {
          const st = (globalThis as unknown as Win).__osteonViewer?.stats();
          return !!st && st.labelsAt > t && st.surfacesAt > st.labelsAt;
        }, before, { timeout: 60_000, polling: 10 });
        const st = await page.evaluate(() => (globalThis as unknown as Win).__osteonViewer!.stats());
        ms.push(st.surfacesAt - before);
        if (s === strokes - 1) {
          const long = await page.evaluate((t) => (globalThis as unknown as { __long: Array<[number, number]> }).__long.filter(([a]) => a >= t - 5).map(([a, d]) => `${(a - t).toFixed(0)}+${d.toFixed(0)}`), before);
          ctx.notice(`review: long tasks after the last pointer-up (start+duration ms): ${long.join(', ')}; labels at ${(st.labelsAt - before).toFixed(0)}, done at ${(st.surfacesAt - before).toFixed(0)}`);
        }
        patchMs.push(st.labelsAt - before);
        meshMs.push(st.meshesAt - before);
        surfaces = st.surfaceMs;
      }
      const undo = await page.getByRole('button', { name: 'Undo' }).textContent();
      const frame = await page.evaluate(() => (globalThis as unknown as Win).__osteonViewer!.rotate(6));
      const records: BenchRecord[] = [{
        name: 'brush stroke → 3D surfaces updated, pelvis sample', unit: 'ms', ...timeStats(ms),
        detail: `${strokes} strokes on the axial view painting the left hip (and the whole); pointer-up → services apply → patch → surfaces rebuilt and drawn, in the page's clock; ${undo}`,
      }, {
        name: '  pointer-up → patch applied (services + transfer)', unit: 'ms', ...timeStats(patchMs),
      }, {
        name: '  pointer-up → edited structures\' meshes back from the worker', unit: 'ms', ...timeStats(meshMs),
      }, {
        name: '  one 3D frame of the four surfaces (WebGL2 here: SwiftShader)', unit: 'ms', median: frame, min: frame, max: frame, n: 6,
      }];
      ctx.notice(`review: worker surface times of the last stroke: ${Object.entries(surfaces).map(([k, v]) => `${k} ${v.toFixed(0)} ms`).join(', ')}`);
      return records;
    } finally {
      await browser.close();
      await host.close();
      rmSync(tmp, { recursive: true, force: true });
    }
  },
};
