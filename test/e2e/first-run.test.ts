/**
 * First run, as `npm start` does it without Electron: `osteon serve --project DIR --sample` in a
 * child process (its own renderer build), the printed URL opened in Debian's Chromium. The page
 * opens on the sample case with the three slice views and the 3D view filled; the 3D placeholder
 * (before a case) says what to do; on the New run form the pos_weight notes break between words
 * only and the time estimate names the backend it assumes and how to get a faster one; SIGTERM
 * stops the host. Screenshots: test-artifacts/e2e/first-run-*.png.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type BrowserSession } from '../helpers/browser.ts';
import { hasChromium, repoRoot, skipNotice } from '../helpers/env.ts';

if (!hasChromium()) skipNotice('first-run e2e', '/usr/bin/chromium');

type Win = { __osteonViewer?: { stats(): { firstFrameMs: number } } };

describe.skipIf(!hasChromium())('first run: the sample project in Chromium', () => {
  let tmp: string;
  let child: ChildProcess;
  let url = '';
  let browser: BrowserSession;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'osteon-e2e-first-'));
    const rendererDir = join(tmp, 'renderer');
    await build({ configFile: join(repoRoot, 'renderer', 'vite.config.ts'), logLevel: 'warn', build: { outDir: rendererDir } });
    child = spawn(process.execPath, [join(repoRoot, 'bin', 'osteon.mjs'), 'serve', '--port', '0', '--renderer', rendererDir, '--project', join(tmp, 'sample-project'), '--sample'], {
      env: { ...process.env, OSTEON_HOME: join(tmp, 'home') }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    url = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /Osteon browser host: (\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      child.on('exit', (code) => reject(new Error(`osteon serve exited ${code}: ${out}`)));
    });
    browser = await launchBrowser({ width: 1280, height: 760 });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    if (child && child.exitCode === null) child.kill('SIGKILL');
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('the 3D placeholder says what to do before a case is open', async () => {
    const { page } = browser;
    // The same page without ?case=: nothing selected yet.
    await page.goto(url.replace(/&case=[^&]*/, ''));
    await page.getByText('Connected', { exact: true }).waitFor();
    const empty = page.locator('[data-view="3d"] .empty');
    await expect.poll(() => empty.textContent()).toContain('Select a case in the list on the left');
    expect(await empty.textContent()).not.toMatch(/arrive|future|release/i);
    await browser.screenshot('first-run-01-no-case');
  });

  it('opens on the sample case, every view filled', async () => {
    expect(url).toMatch(/&case=pelvis-sample$/);
    const { page } = browser;
    await page.goto(url);
    await page.getByText('Connected', { exact: true }).waitFor();
    await expect.poll(() => page.locator('[data-testid=case-item][aria-selected=true]').count(), { timeout: 30_000 }).toBe(1);
    await page.waitForFunction(() => ((globalThis as unknown as Win).__osteonViewer?.stats().firstFrameMs ?? -1) >= 0, null, { timeout: 120_000, polling: 100 });
    // Each slice view draws CT: its canvas has many distinct grey levels, not one flat colour.
    for (const view of ['axial', 'coronal', 'sagittal']) {
      const levels = await page.locator(`[data-view=${view}] canvas[data-testid=slice-canvas]`).evaluate((el) => {
        const c = el as unknown as { width: number; height: number; getContext(k: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } };
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const seen = new Set<number>();
        for (let p = 0; p < d.length; p += 4) seen.add(d[p]);
        return seen.size;
      });
      expect(levels, view).toBeGreaterThan(50);
    }
    await browser.screenshot('first-run-02-sample-open');
  });

  it('New run: pos_weight notes break between words only; the estimate names its backend and a faster one', async () => {
    const { page } = browser;
    await page.getByRole('tab', { name: 'Dashboards' }).click();
    await page.getByTestId('estimate').waitFor({ timeout: 60_000 });
    const notes = page.locator('[data-testid^=suggested-pw-]');
    expect(await notes.count()).toBeGreaterThan(0);
    // A word broken across two lines has two client rects.
    type Text = { nodeType: number; textContent: string | null };
    type Doc = { createRange(): { setStart(n: Text, o: number): void; setEnd(n: Text, o: number): void; getClientRects(): { length: number } } };
    const broken = await notes.evaluateAll((els) => els.flatMap((el) => {
      const text = (el as unknown as { firstChild: Text | null }).firstChild;
      if (!text || text.nodeType !== 3) return [];
      const s = text.textContent ?? '';
      const out: string[] = [];
      for (const m of s.matchAll(/\S+/g)) {
        const r = (globalThis as unknown as { document: Doc }).document.createRange();
        r.setStart(text, m.index);
        r.setEnd(text, m.index + m[0].length);
        if (r.getClientRects().length > 1) out.push(m[0]);
      }
      return out;
    }));
    expect(broken).toEqual([]);
    expect(await page.getByTestId('estimate').textContent()).toMatch(/assumes the CPU \(tfjs wasm\) backend|measured .* on the \S+ backend/);
    expect(await page.getByTestId('estimate-faster').textContent()).toMatch(/Faster: a GPU .*osteon doctor/);
    await notes.first().scrollIntoViewIfNeeded();
    await browser.screenshot('first-run-03-pos-weight-notes');
    await page.getByTestId('estimate').scrollIntoViewIfNeeded();
    await browser.screenshot('first-run-04-estimate');
    expect(browser.problems).toEqual([]);
  });

  it('SIGTERM stops the host', async () => {
    const code = await new Promise<number | null>((resolve) => { child.on('exit', resolve); child.kill('SIGTERM'); });
    expect(code).toBe(0);
  });
});
