/**
 * Fit and finish in Chromium at 2560×1440, 1600×1000, 1280×760 and 1024×700, on the bundled pelvis study:
 * zoom and pan, then maximise and restore, keep the slice and the zoom; the W/L readout follows a
 * right-drag (and shows "Custom"); no two corner texts of a slice view overlap; nothing wraps (top
 * bar, view toolbar, 3D tools each one row); the viewports take ≥ 60 % of the width at 1280.
 * Screenshots go to test-artifacts/e2e/fit-*.png for a person to look at.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob } from '../../app/contract/index.ts';
import { startBrowserHost, type BrowserHost } from '../../app/services/browser-host.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { hasChromium, repoRoot, skipNotice } from '../helpers/env.ts';

const sample = join(repoRoot, 'resources', 'sample', 'pelvis');
const ready = hasChromium() && existsSync(join(sample, 'ct.nii.gz'));
if (!hasChromium()) skipNotice('fit-and-finish e2e', '/usr/bin/chromium');

interface Box { x: number; y: number; width: number; height: number }
const overlap = (a: Box, b: Box) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/** Every pair of visible corner texts (and the maximise button, the probe) of a viewport that overlap. */
async function overlaps(page: Page, view: string): Promise<string[]> {
  const boxes: Array<{ what: string; box: Box }> = [];
  for (const sel of ['[data-testid=overlay-text]', '[data-testid=slice-probe]', 'button.max', '.zoom button', '[data-testid=compare-legend]']) {
    const els = page.locator(`[data-view=${view}] ${sel}`);
    for (let i = 0; i < await els.count(); i++) {
      const b = await els.nth(i).boundingBox();
      if (b && b.width > 0) boxes.push({ what: `${sel} ${i} "${(await els.nth(i).textContent())?.trim() ?? ''}"`, box: b });
    }
  }
  const out: string[] = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) if (overlap(boxes[i].box, boxes[j].box)) out.push(`${boxes[i].what} × ${boxes[j].what}`);
  return out;
}

const attr = (page: Page, view: string, name: string) => page.locator(`[data-view=${view}]`).getAttribute(name);

describe.skipIf(!ready)('fit and finish in Chromium', () => {
  let tmp: string;
  let host: BrowserHost;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'osteon-fit-e2e-'));
    const rendererDir = join(tmp, 'renderer');
    await build({ configFile: join(repoRoot, 'renderer', 'vite.config.ts'), logLevel: 'warn', build: { outDir: rendererDir } });
    host = await startBrowserHost({ rendererDir, home: join(tmp, 'home') });
    const c = host.client;
    await c.call('project.create', { dir: join(tmp, 'project'), name: 'fit e2e' });
    await runJob(c, 'case.import', () => c.call('case.import', {
      ct: join(sample, 'ct.nii.gz'), labels: join(sample, 'labels.nii.gz'), schema: join(repoRoot, 'resources', 'presets', 'pelvis.json'), name: 'pelvis sample',
    }));
  }, 180_000);

  afterAll(async () => {
    await host?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const sizes: Array<[number, number]> = [[2560, 1440], [1600, 1000], [1280, 760], [1024, 700]];
  it.each(sizes)('at %i×%i', async (width, height) => {
    const browser = await launchBrowser({ width, height });
    const tag = `fit-${width}x${height}`;
    try {
      const { page } = browser;
      await page.goto(host.url);
      await page.getByText('Connected', { exact: true }).waitFor();
      await page.getByTestId('case-item').filter({ hasText: 'pelvis sample' }).click();
      const axial = page.locator('[data-view=axial]');
      await expect.poll(() => axial.getAttribute('aria-label'), { timeout: 30_000 }).toMatch(/slice 57 of 112/);
      await page.locator('[data-view=axial] canvas').waitFor();
      await page.waitForTimeout(500);
      await browser.screenshot(`${tag}-1-grid`);

      // Nothing wraps: one row each for the top bar, the view toolbar and the 3D tools.
      expect((await page.locator('header.topbar').boundingBox())?.height).toBeLessThanOrEqual(41);
      expect((await page.locator('.toolbar[aria-label=Display]').boundingBox())?.height).toBeLessThanOrEqual(31);
      const tools = page.locator('[data-view="3d"] [role=toolbar]');
      await tools.waitFor({ timeout: 30_000 });
      expect((await tools.boundingBox())?.height, '3D tools in one row').toBeLessThanOrEqual(24);
      for (const sel of ['header.topbar', '.toolbar[aria-label=Display]']) {
        const over = await page.locator(sel).evaluate((el) => (el as unknown as { scrollWidth: number; clientWidth: number }).scrollWidth - (el as unknown as { clientWidth: number }).clientWidth);
        expect(over, `${sel} overflows by ${over}px`).toBeLessThanOrEqual(1);
      }
      // The viewports' share of the width.
      const centre = await page.locator('main.centre').boundingBox();
      if (width === 1280) expect((centre?.width ?? 0) / width).toBeGreaterThanOrEqual(0.6);

      // Corner texts: hover the axial slice so the probe shows, then no two boxes overlap, in any slice view.
      const ab = await axial.boundingBox();
      if (!ab) throw new Error('no axial box');
      await page.mouse.move(ab.x + ab.width / 2, ab.y + ab.height / 2);
      await page.locator('[data-view=axial] [data-testid=slice-probe]').waitFor();
      for (const v of ['axial', 'coronal', 'sagittal']) expect(await overlaps(page, v), v).toEqual([]);

      // Window/level: a right-drag moves the readout and marks the preset Custom.
      const before = Number(await page.getByTestId('wl-window').inputValue());
      await page.mouse.move(ab.x + ab.width / 2, ab.y + ab.height / 2);
      await page.mouse.down({ button: 'right' });
      await page.mouse.move(ab.x + ab.width / 2 + 40, ab.y + ab.height / 2 + 20, { steps: 4 });
      await page.mouse.up({ button: 'right' });
      expect(Number(await page.getByTestId('wl-window').inputValue())).toBe(before + 160);
      expect(await page.getByRole('radio', { name: 'Custom' }).getAttribute('aria-checked')).toBe('true');
      expect(await page.getByRole('radio', { name: 'Bone' }).getAttribute('aria-checked')).toBe('false');
      // Typing a preset's values selects it again.
      await page.getByTestId('wl-window').fill('2000');
      await page.getByTestId('wl-window').press('Enter');
      await page.getByTestId('wl-level').fill('300');
      await page.getByTestId('wl-level').press('Enter');
      await expect.poll(() => page.getByRole('radio', { name: 'Bone' }).getAttribute('aria-checked')).toBe('true');

      // Slices, zoom (Ctrl+wheel about the pointer) and pan (middle drag).
      await page.mouse.move(ab.x + ab.width / 2, ab.y + ab.height / 2);
      for (let i = 0; i < 5; i++) await page.mouse.wheel(0, -100);
      await expect.poll(() => attr(page, 'axial', 'data-slice')).toBe('61');
      await page.keyboard.down('Control');
      for (let i = 0; i < 3; i++) await page.mouse.wheel(0, -200);
      await page.keyboard.up('Control');
      await expect.poll(async () => Number(await attr(page, 'axial', 'data-zoom'))).toBeGreaterThan(1.5);
      expect(await attr(page, 'axial', 'data-slice'), 'Ctrl+wheel zooms, it does not page').toBe('61');
      const zoom = await attr(page, 'axial', 'data-zoom');
      const stage = page.locator('[data-view=axial] .stage');
      const t0 = await stage.evaluate((el) => (el as unknown as { style: { transform: string } }).style.transform);
      await page.mouse.move(ab.x + ab.width / 2, ab.y + ab.height / 2);
      await page.mouse.down({ button: 'middle' });
      await page.mouse.move(ab.x + ab.width / 2 + 30, ab.y + ab.height / 2 + 15, { steps: 3 });
      await page.mouse.up({ button: 'middle' });
      const t1 = await stage.evaluate((el) => (el as unknown as { style: { transform: string } }).style.transform);
      expect(t1).not.toBe(t0);
      await page.mouse.move(ab.x + ab.width / 2 + 30, ab.y + ab.height / 2 + 15);
      await browser.screenshot(`${tag}-2-zoomed`);
      for (const v of ['axial']) expect(await overlaps(page, v), `${v} zoomed`).toEqual([]);

      // Maximise and restore keep the slice, the zoom and the pan.
      await page.getByRole('button', { name: 'Maximise Axial viewport' }).click();
      await expect.poll(() => page.locator('[data-view=coronal]').isVisible()).toBe(false);
      expect(await attr(page, 'axial', 'data-slice')).toBe('61');
      expect(await attr(page, 'axial', 'data-zoom')).toBe(zoom);
      await browser.screenshot(`${tag}-3-maximised`);
      await page.getByRole('button', { name: 'Restore Axial viewport' }).click();
      await expect.poll(() => page.locator('[data-view=coronal]').isVisible()).toBe(true);
      expect(await attr(page, 'axial', 'data-slice')).toBe('61');
      expect(await attr(page, 'axial', 'data-zoom')).toBe(zoom);
      expect(await stage.evaluate((el) => (el as unknown as { style: { transform: string } }).style.transform)).toBe(t1);
      // A tab switch keeps them too.
      await page.getByRole('tab', { name: 'Dashboards' }).click();
      await page.getByRole('tab', { name: 'Viewer' }).click();
      expect(await attr(page, 'axial', 'data-slice')).toBe('61');
      expect(await attr(page, 'axial', 'data-zoom')).toBe(zoom);
      // Reset.
      await page.getByRole('button', { name: 'Reset zoom and pan of the Axial view' }).click();
      await expect.poll(() => attr(page, 'axial', 'data-zoom')).toBe('1.000');

      // The help overlay lists the mouse bindings.
      await page.locator('body').press('?');
      await page.getByTestId('mouse-bindings').waitFor();
      expect(await page.getByTestId('mouse-bindings').textContent()).toMatch(/Middle drag.*pan/);
      await browser.screenshot(`${tag}-4-help`);
      await page.keyboard.press('Escape');

      // Collapsible side panels.
      await page.getByRole('button', { name: 'Collapse the project panel' }).click();
      const wider = await page.locator('main.centre').boundingBox();
      expect(wider?.width ?? 0).toBeGreaterThan((centre?.width ?? 0) + 100);
      await browser.screenshot(`${tag}-5-left-collapsed`);
      await page.getByRole('button', { name: 'Expand the project panel' }).click();
      expect(browser.problems).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 240_000);
});
