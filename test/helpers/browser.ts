/**
 * Debian's Chromium driven by playwright-core, for the renderer's e2e tests. Never downloads a
 * browser (`npx playwright install` is not used anywhere): without /usr/bin/chromium the tests
 * skip with a visible notice. Flags: headless, SwiftShader
 * WebGL2 through ANGLE, and nothing that talks to the network.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
import { repoRoot } from './env.ts';

export const chromiumPath = '/usr/bin/chromium';

export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-gl=angle',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
];

/** Where screenshots go (gitignored); a person looks at them after a run. */
export const artifactsDir = join(repoRoot, 'test-artifacts', 'e2e');

export interface BrowserSession {
  context: BrowserContext;
  page: Page;
  /** Console errors, page errors and failed requests seen so far. */
  problems: string[];
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * Chromium's own WebGPU on SwiftShader (../shared/notes/gpu-webgpu-measured.md): what the GPU host
 * page gets in CI. `navigator.gpu` needs a secure context, so the page comes from http://127.0.0.1.
 */
export const webgpuArgs = [
  '--headless', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader', '--disable-vulkan-surface', '--disable-gpu-watchdog',
];

export async function launchBrowser(opts: { width?: number; height?: number; args?: string[] } = {}): Promise<BrowserSession> {
  const profile = mkdtempSync(join(tmpdir(), 'osteon-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: opts.args ?? chromiumArgs,
    viewport: { width: opts.width ?? 1440, height: opts.height ?? 900 },
    offline: false,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  const onConsole = (m: ConsoleMessage) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  };
  page.on('console', onConsole);
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  mkdirSync(artifactsDir, { recursive: true });
  return {
    context,
    page,
    problems,
    async screenshot(name) {
      const path = join(artifactsDir, `${name}.png`);
      // On a busy 2-core machine the first capture occasionally fails ("Unable to capture
      // screenshot"); a second try after a frame has been painted succeeds.
      for (let attempt = 1; ; attempt++) {
        try {
          writeFileSync(path, await page.screenshot({ fullPage: false }));
          return path;
        } catch (e) {
          if (attempt >= 3) throw e;
          await page.waitForTimeout(250);
        }
      }
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** TP (green), FP (red) and FN (blue) pixels of the axial slice canvas (compare overlay blended on grey CT). */
export function axialConfusion(page: Page): Promise<{ tp: number; fp: number; fn: number }> {
  return page.locator('[data-view=axial] canvas').evaluate((el) => {
    const c = el as unknown as { width: number; height: number; getContext(k: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null };
    const d = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data;
    let tp = 0, fp = 0, fn = 0;
    for (let i = 0; d && i < d.length; i += 4) {
      const [r, g, b] = [d[i], d[i + 1], d[i + 2]];
      if (r - Math.max(g, b) > 40) fp++;
      else if (b - Math.max(r, g) > 40) fn++;
      else if (g - Math.max(r, b) > 30) tp++;
    }
    return { tp, fp, fn };
  });
}

/**
 * The colour of one on-screen pixel of an element (a 1×1 screenshot, decoded in the page):
 * `at` is the offset from its top-left corner in CSS px (default: its centre).
 */
export async function pixelAt(page: Page, selector: string, at?: { dx: number; dy: number }): Promise<[number, number, number]> {
  const el = page.locator(selector).first();
  await el.scrollIntoViewIfNeeded();
  const box = await el.boundingBox();
  if (!box) throw new Error(`${selector}: not visible`);
  const x = Math.floor(box.x + (at ? at.dx : box.width / 2)), y = Math.floor(box.y + (at ? at.dy : box.height / 2));
  const png = (await page.screenshot({ clip: { x, y, width: 1, height: 1 } })).toString('base64');
  return page.evaluate(async (b64) => {
    const g = globalThis as unknown as {
      createImageBitmap(b: unknown): Promise<unknown>;
      OffscreenCanvas: new (w: number, h: number) => { getContext(k: '2d'): { drawImage(i: unknown, x: number, y: number): void; getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } };
      Blob: new (parts: unknown[], o: { type: string }) => unknown;
      atob(s: string): string;
    };
    const bytes = Uint8Array.from(g.atob(b64), (c) => c.charCodeAt(0));
    const img = await g.createImageBitmap(new g.Blob([bytes], { type: 'image/png' }));
    const c = new g.OffscreenCanvas(1, 1).getContext('2d');
    c.drawImage(img, 0, 0);
    const d = c.getImageData(0, 0, 1, 1).data;
    return [d[0], d[1], d[2]] as [number, number, number];
  }, png);
}

/** Count of axial-canvas pixels of exactly this colour (±2 per channel) and the mean position of them as fractions of the canvas. */
export function axialColourCount(page: Page, rgb: readonly [number, number, number]): Promise<number> {
  return page.locator('[data-view=axial] canvas').evaluate((el, t) => {
    const c = el as unknown as { width: number; height: number; getContext(k: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null };
    const d = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; d && i < d.length; i += 4) if (Math.abs(d[i] - t[0]) <= 2 && Math.abs(d[i + 1] - t[1]) <= 2 && Math.abs(d[i + 2] - t[2]) <= 2) n++;
    return n;
  }, rgb);
}
