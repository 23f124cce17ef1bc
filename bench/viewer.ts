/**
 * Bench suite `viewer`: the vtk.js 3D view in Debian's Chromium (headless, SwiftShader WebGL2)
 * against the real browser host with the bundled pelvis study:
 * - time to the first 3D frame (case clicked → every structure's surface built and drawn), as
 *   the page measures it (voxels loaded → frame) and as the test driver sees it (click → frame);
 * - surface extraction per structure (crop, binomial smoothing, surface nets, clustering, normals)
 *   in the page's Web Worker on a synthetic 512×512×300 label map with 4 ellipsoids;
 * - frames per second while rotating (azimuth steps, each frame synced by a 1-pixel read), for the
 *   surfaces and for unshaded CT volume rendering, in a 1280×860 window (3D viewport maximised);
 * - memory (PSS of all Chromium processes) with a synthetic 512×512×600 CT and 4 structures open,
 *   and again after switching back to the small sample case (vtk.js objects released).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchRecord, BenchSuite } from '../app/cli/bench-types.ts';
import { timeStats } from '../app/cli/bench-types.ts';

interface Hooks {
  stats(): { caseId: string; firstFrameMs: number; built: number };
  rotate(frames: number): number;
  benchSurfaces(dims: [number, number, number], n: number): Promise<{ ms: number; triangles: number }[]>;
}
type Win = { __osteonViewer?: Hooks };

export const suite: BenchSuite = {
  name: 'viewer',
  description: 'vtk.js viewer in Chromium: first 3D frame of the sample study, surfaces on 512×512×300, rotation fps',
  async run(ctx) {
    // Imported here so listing the suites does not load vite or playwright.
    const { build } = await import('vite');
    const { runJob } = await import('../app/contract/index.ts');
    const { startBrowserHost } = await import('../app/services/browser-host.ts');
    const { launchBrowser } = await import('../test/helpers/browser.ts');
    const { hasChromium, repoRoot } = await import('../test/helpers/env.ts');
    if (!hasChromium()) {
      ctx.notice('viewer: /usr/bin/chromium not found, suite skipped');
      return [];
    }
    const tmp = mkdtempSync(join(tmpdir(), 'osteon-bench-viewer-'));
    const records: BenchRecord[] = [];
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
      const inPage = [] as number[], wall = [] as number[];
      const firstRuns = Math.max(1, Math.min(ctx.repeats, 3));
      for (let r = 0; r < firstRuns; r++) {
        await page.goto(host.url);
        await page.getByText('Connected', { exact: true }).waitFor();
        await page.getByRole('button', { name: 'Maximise 3D viewport' }).click();
        const t0 = Date.now();
        await page.getByTestId('case-item').first().click();
        await page.waitForFunction(() => ((globalThis as unknown as Win).__osteonViewer?.stats().firstFrameMs ?? -1) >= 0, null, { timeout: 120_000, polling: 20 });
        wall.push(Date.now() - t0);
        inPage.push(await page.evaluate(() => (globalThis as unknown as Win).__osteonViewer?.stats().firstFrameMs ?? NaN));
      }
      records.push({ name: 'first 3D frame, sample pelvis (4 surfaces), in page', unit: 'ms', ...timeStats(inPage), detail: 'voxels received → all surfaces built in the worker and drawn' });
      records.push({ name: 'first 3D frame, sample pelvis, click → frame', unit: 'ms', ...timeStats(wall), detail: 'includes fetching CT + labels through the contract' });

      const per: number[][] = [[], [], [], []];
      let tris: number[] = [];
      for (let r = 0; r < Math.max(1, Math.min(ctx.repeats, 2)); r++) {
        const res = await page.evaluate(() => (globalThis as unknown as Win).__osteonViewer?.benchSurfaces([512, 512, 300], 4) ?? Promise.resolve([]));
        res.forEach((x, i) => per[i].push(x.ms));
        tris = res.map((x) => x.triangles);
      }
      per.forEach((times, i) => {
        records.push({ name: `surface of structure ${i + 1}, 512×512×300 label map`, unit: 'ms', ...timeStats(times), detail: `${tris[i]} triangles, ellipsoid radii 51×128×100 voxels, in a Web Worker` });
      });

      const frames = 24;
      const msSurf = await page.evaluate((n) => (globalThis as unknown as Win).__osteonViewer?.rotate(n) ?? NaN, frames);
      records.push({ name: 'rotate surfaces, ms per frame', unit: 'ms', median: msSurf, min: msSurf, max: msSurf, n: frames, detail: `${(1000 / msSurf).toFixed(1)} fps, 4 surfaces` });
      await page.getByRole('checkbox', { name: 'Surfaces' }).uncheck();
      await page.getByRole('combobox', { name: 'Volume rendering' }).selectOption('bone');
      const vrFrames = 6;
      const msVr = await page.evaluate((n) => (globalThis as unknown as Win).__osteonViewer?.rotate(n) ?? NaN, vrFrames);
      records.push({ name: 'rotate CT volume (bone, unshaded), ms per frame', unit: 'ms', median: msVr, min: msVr, max: msVr, n: vrFrames, detail: `${(1000 / msVr).toFixed(2)} fps` });
      await page.getByRole('combobox', { name: 'Volume rendering' }).selectOption('');
      await page.getByRole('checkbox', { name: 'Surfaces' }).check();

      // Memory with a 512×512×600 CT and four structures open, then back on the small case.
      try {
      const { bigCase, chromiumPssMiB } = await import('./viewer-memory.ts');
      const { writeVolume } = await import('../app/imaging/io.ts');
      const dims: [number, number, number] = [512, 512, 600];
      const big = bigCase(dims);
      const geo = { dims, spacing: [0.8, 0.8, 1] as [number, number, number], origin: [0, 0, 0] as [number, number, number], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] as [number, number, number, number, number, number, number, number, number], channels: 1 };
      writeVolume(join(tmp, 'big-ct.nii'), { ...geo, data: big.ct });
      writeVolume(join(tmp, 'big-labels.nii'), { ...geo, data: big.labels });
      await runJob(c, 'case.import', () => c.call('case.import', { ct: join(tmp, 'big-ct.nii'), labels: join(tmp, 'big-labels.nii'), name: 'big' }));
      await page.reload();
      await page.getByText('Connected', { exact: true }).waitFor();
      const base = chromiumPssMiB();
      const openCase = async (name: string) => {
        const before = await page.evaluate(() => (globalThis as unknown as Win).__osteonViewer?.stats().caseId ?? '');
        await page.getByTestId('case-item').filter({ hasText: name }).first().click();
        await page.waitForFunction((old) => {
          const st = (globalThis as unknown as Win).__osteonViewer?.stats();
          return !!st && st.caseId !== old && st.firstFrameMs >= 0;
        }, before, { timeout: 300_000, polling: 200 });
      };
      const t0 = Date.now();
      await openCase('big');
      const bigMs = Date.now() - t0;
      const open = chromiumPssMiB();
      const cdp = await browser.context.newCDPSession(page);
      await openCase('pelvis');
      await cdp.send('HeapProfiler.collectGarbage');
      await page.waitForTimeout(1000);
      const after = chromiumPssMiB();
      records.push({ name: 'Chromium PSS, 512×512×600 CT + 4 structures open', unit: 'MiB', median: open, min: open, max: open, n: 1, ok: open < 2048,
        detail: `all Chromium processes, check: < 2048 MiB; ${base.toFixed(0)} MiB before opening, ${after.toFixed(0)} MiB after switching back to the sample; first frame of the big case ${bigMs} ms after the click` });
      } catch (e) {
        ctx.notice(`viewer: the 512×512×600 memory check failed: ${e instanceof Error ? e.message : String(e)}`);
        records.push({ name: 'Chromium PSS, 512×512×600 CT + 4 structures open', unit: 'MiB', median: NaN, min: NaN, max: NaN, n: 0, ok: false, detail: 'failed, see the notice' });
      }
    } finally {
      await browser.close();
      await host.close();
      rmSync(tmp, { recursive: true, force: true });
    }
    return records;
  },
};
