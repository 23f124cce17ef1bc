/**
 * The workstation end to end, in Debian's Chromium against the real browser host: build the
 * renderer, start `startBrowserHost` on port 0 with a temporary home, then as a user: create a
 * project, import the bundled pelvis study through the wizard, see the case and its analysis
 * (sacrum 5,884 voxels: TotalSegmentator label 25 counted in resources/sample/pelvis/PROVENANCE.md),
 * start and cancel a job. Screenshots go to test-artifacts/e2e/ for a person to look at.
 */
import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBrowserHost, type BrowserHost } from '../../app/services/browser-host.ts';
import { launchBrowser, type BrowserSession } from '../helpers/browser.ts';
import { hasChromium, repoRoot, skipNotice } from '../helpers/env.ts';

/** The few DOM shapes the page-side callbacks use (this tsconfig has no DOM lib). */
interface CanvasLike {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null;
}
interface ControlLike {
  tagName: string;
  outerHTML: string;
  textContent: string | null;
  getAttribute(name: string): string | null;
  labels?: ArrayLike<unknown> | null;
}
interface PageDocument {
  activeElement: { closest(selector: string): { getAttribute(name: string): string | null } | null } | null;
}

/** Grey (CT) and coloured (label) pixels of the axial slice preview. */
function axialPixels(page: Page): Promise<{ grey: number; colour: number; total: number }> {
  return page.locator('[data-view=axial] canvas').evaluate((el) => {
    const c = el as unknown as CanvasLike;
    const d = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data;
    let grey = 0, colour = 0, total = 0;
    for (let i = 0; d && i < d.length; i += 4, total++) {
      const [r, g, b] = [d[i], d[i + 1], d[i + 2]];
      if (Math.max(r, g, b) - Math.min(r, g, b) > 40) colour++;
      else if (r > 30) grey++;
    }
    return { grey, colour, total };
  });
}

const sample = join(repoRoot, 'resources', 'sample', 'pelvis');
const preset = join(repoRoot, 'resources', 'presets', 'pelvis.json');
const ready = hasChromium() && existsSync(join(sample, 'ct.nii.gz'));
if (!hasChromium()) skipNotice('renderer e2e', '/usr/bin/chromium');
else if (!ready) skipNotice('renderer e2e', 'resources/sample/pelvis');

describe.skipIf(!ready)('workstation in Chromium', () => {
  let tmp: string;
  let host: BrowserHost;
  let browser: BrowserSession;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'osteon-e2e-'));
    const rendererDir = join(tmp, 'renderer');
    // Built into a temporary folder so a parallel `electron-vite build` of out/ is not disturbed.
    await build({ configFile: join(repoRoot, 'renderer', 'vite.config.ts'), logLevel: 'warn', build: { outDir: rendererDir } });
    // The page may name paths in tmp (and the fixtures); the sample is readable by default.
    host = await startBrowserHost({ rendererDir, home: join(tmp, 'home'), roots: [tmp] });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await host?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('refuses a URL without the token', async () => {
    const res = await fetch(`${host.origin}/`);
    expect(res.status).toBe(401);
    const page = await browser.context.newPage();
    const r = await page.goto(`${host.origin}/`);
    expect(r?.status()).toBe(401);
    expect(await page.textContent('body')).toMatch(/token is required/);
    await page.close();
  });

  it('creates a project, imports the sample study and shows its analysis', async () => {
    const { page } = browser;
    await page.goto(host.url);
    await page.getByText('Connected', { exact: true }).waitFor();
    await browser.screenshot('01-empty');

    await page.keyboard.press('Control+o');
    const projectDialog = page.getByRole('dialog', { name: 'Projects' });
    await projectDialog.waitFor();
    await page.getByTestId('new-project-dir').fill(join(tmp, 'projects', 'pelvis-study'));
    await page.getByTestId('new-project-name').fill('Pelvis study');
    await browser.screenshot('02-project-dialog');
    await projectDialog.getByRole('button', { name: 'Create project' }).click();
    await expect.poll(() => page.locator('dialog').count()).toBe(0);
    expect(await page.getByTestId('project-name').textContent()).toBe('Pelvis study');

    // A wrong path first: the error shows its code and what to do, and nothing is imported.
    await page.keyboard.press('Control+i');
    const wizard = page.getByRole('dialog', { name: 'Import study' });
    await wizard.waitFor();
    await page.getByTestId('import-ct').fill(join(tmp, 'no-such-ct.nii.gz'));
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByRole('button', { name: 'Next' }).click();
    await page.getByTestId('import-start').click();
    const alert = wizard.getByRole('alert');
    await alert.waitFor({ timeout: 30_000 });
    expect(await alert.textContent()).toMatch(/not-found[\s\S]*no-such-ct\.nii\.gz[\s\S]*What to do:/);
    await browser.screenshot('03-import-error');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('dialog').count()).toBe(0);
    expect(await page.getByTestId('case-item').count()).toBe(0);

    await page.keyboard.press('Control+i');
    await wizard.waitFor();
    await page.getByTestId('import-ct').fill(join(sample, 'ct.nii.gz'));
    await page.getByTestId('import-labels').fill(join(sample, 'labels.nii.gz'));
    await page.getByTestId('import-name').fill('pelvis sample');
    await wizard.getByRole('button', { name: 'Next' }).click();
    // Schema step: the pelvis preset, its label ids mapped onto the ids the file holds.
    await page.getByTestId('preset-pelvis').check();
    expect(await page.getByTestId('import-schema').inputValue()).toBe(preset);
    const sacrumIds = page.getByTestId('map-sacrum');
    expect(await sacrumIds.inputValue()).toBe('25');
    const sacrumRow = wizard.getByRole('row', { name: /Sacrum/ });
    expect(await sacrumRow.textContent()).toMatch(/5,884/);
    // Adding S1 (26) to the sacrum updates the count at once (5884 + 1796 = 7680, PROVENANCE.md).
    await sacrumIds.fill('25, 26');
    await expect.poll(() => sacrumRow.textContent()).toMatch(/7,680/);
    expect(await sacrumRow.textContent()).toMatch(/vertebrae_S1/);
    await browser.screenshot('04-import-mapping');
    await sacrumIds.fill('25');
    await wizard.getByRole('button', { name: 'Next' }).click();
    // Preview: the analysis before anything is imported.
    const previewSacrum = wizard.locator('[data-testid=structure-row][data-structure=sacrum] [data-testid=voxels]');
    await expect.poll(() => previewSacrum.textContent(), { timeout: 30_000 }).toBe('5,884');
    expect(await wizard.getByTestId('recommendation').textContent()).toMatch(/Joint head/);
    expect(await page.getByTestId('case-item').count()).toBe(0);
    await browser.screenshot('04-import-preview');
    await page.getByTestId('import-start').click();
    await page.getByText('Imported. The case is selected').waitFor({ timeout: 60_000 });
    await browser.screenshot('05-import-done');
    await page.getByTestId('import-close').click();

    const item = page.getByTestId('case-item');
    await expect.poll(() => item.count()).toBe(1);
    await expect.poll(() => item.getAttribute('aria-selected')).toBe('true');
    const sacrum = page.locator('[data-testid=structure-row][data-structure=sacrum] [data-testid=voxels]');
    await expect.poll(() => sacrum.textContent(), { timeout: 30_000 }).toBe('5,884');
    const pelvis = page.locator('[data-testid=structure-row][data-structure=pelvis] [data-testid=voxels]');
    expect(await pelvis.textContent()).toBe('33,894');
    expect(await page.getByTestId('recommendation').textContent()).toMatch(/Joint head/);
    // The slice previews show the CT (grey) with coloured labels on it.
    await page.locator('[data-view=axial] canvas').waitFor();
    const px = await axialPixels(page);
    expect(px.total).toBe(122 * 101);
    expect(px.grey).toBeGreaterThan(px.total / 4);
    expect(px.colour).toBeGreaterThan(200);
    await browser.screenshot('06-case-analysis');
    // Hiding the left hip takes its (blue) voxels off the slice.
    await page.getByRole('checkbox', { name: 'Show Left hip in the viewports' }).uncheck();
    await expect.poll(async () => (await axialPixels(page)).colour).toBeLessThan(px.colour);
    await page.getByRole('checkbox', { name: 'Show Left hip in the viewports' }).check();
    await expect.poll(async () => (await axialPixels(page)).colour).toBe(px.colour);

    await page.getByRole('button', { name: 'Approve labels' }).click();
    await expect.poll(() => page.getByTestId('case-status').textContent()).toBe('Approved');
    expect(await item.textContent()).toMatch(/Approved/);
  });

  it('imports with edited label ids: S1 in the sacrum makes whole = union, so softmax is recommended', async () => {
    const { page } = browser;
    await page.keyboard.press('Control+i');
    const wizard = page.getByRole('dialog', { name: 'Import study' });
    await wizard.waitFor();
    await page.getByTestId('import-ct').fill(join(sample, 'ct.nii.gz'));
    // The labels picked from the host's folder listing (a browser has no native file dialog).
    await wizard.getByRole('button', { name: /Browse for Label volume/ }).click();
    await wizard.locator('[data-testid=file-entry][data-name$="/sample"]').click();
    await wizard.locator('[data-testid=file-entry][data-name=pelvis]').click();
    const labelsEntry = wizard.locator('[data-testid=file-entry][data-name="labels.nii.gz"]');
    await labelsEntry.waitFor();
    await browser.screenshot('11-file-browser');
    await labelsEntry.click();
    expect(await page.getByTestId('import-labels').inputValue()).toBe(join(realpathSync(sample), 'labels.nii.gz'));
    await page.getByTestId('import-name').fill('pelvis with S1');
    await wizard.getByRole('button', { name: 'Next' }).click();
    await page.getByTestId('preset-pelvis').check();
    await page.getByTestId('map-sacrum').fill('25, 26');
    await wizard.getByRole('button', { name: 'Next' }).click();
    const previewSacrum = wizard.locator('[data-testid=structure-row][data-structure=sacrum] [data-testid=voxels]');
    await expect.poll(() => previewSacrum.textContent(), { timeout: 30_000 }).toBe('7,680');
    expect(await wizard.getByTestId('recommendation').textContent()).toMatch(/Softmax/);
    await page.getByTestId('import-start').click();
    await page.getByText('Imported. The case is selected').waitFor({ timeout: 60_000 });
    await page.getByTestId('import-close').click();
    await expect.poll(() => page.getByTestId('case-item').count()).toBe(2);
    const sacrum = page.locator('[data-testid=structure-row][data-structure=sacrum] [data-testid=voxels]');
    await expect.poll(() => sacrum.textContent(), { timeout: 30_000 }).toBe('7,680');
    expect(await page.getByTestId('recommendation').textContent()).toMatch(/Softmax/);
    // Back to the first case for the tests that follow (P = previous case).
    await page.locator('body').press('p');
    await expect.poll(() => sacrum.textContent(), { timeout: 30_000 }).toBe('5,884');
  });

  it('moves through slices and viewports from the keyboard', async () => {
    const { page } = browser;
    const axial = page.locator('[data-view=axial]');
    // The selected case's voxels, not the previous case's still on screen: slices are kept per case.
    const selected = await page.locator('[data-testid=case-item][aria-selected=true]').getAttribute('data-case');
    await expect.poll(() => axial.getAttribute('data-case'), { timeout: 30_000 }).toBe(selected);
    const before = await axial.getAttribute('aria-label');
    await axial.focus();
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowUp');
    expect(before).toMatch(/slice 57 of 112/);
    expect(await axial.getAttribute('aria-label')).toMatch(/slice 59 of 112/);
    // Maximised, the other viewports stay mounted but hidden (they keep their slices).
    await page.keyboard.press('3');
    await expect.poll(() => page.locator('[data-view]:visible').count()).toBe(1);
    expect(await page.locator('[data-view=sagittal]').isVisible()).toBe(true);
    await browser.screenshot('07-sagittal-maximised');
    await page.keyboard.press('0');
    await expect.poll(() => page.locator('[data-view]:visible').count()).toBe(4);
    expect(await axial.getAttribute('aria-label')).toMatch(/slice 59 of 112/);
  });

  it('tabs through the regions in reading order: top bar, cases, viewports, analysis', async () => {
    const { page } = browser;
    // Clicking the (unfocusable) brand puts the sequential focus starting point at the page top.
    await page.getByText('Osteon', { exact: true }).click();
    const regions: string[] = [];
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      regions.push(await page.evaluate(() => {
        const el = (globalThis as unknown as { document: PageDocument }).document.activeElement;
        return el?.closest('[data-region]')?.getAttribute('data-region') ?? 'other';
      }));
    }
    const order = ['top', 'left', 'centre', 'right'];
    const seq = regions.filter((r) => order.includes(r)).map((r) => order.indexOf(r));
    // After the last control the browser wraps around to the top bar: look at the first pass.
    const wrap = seq.findIndex((v, i) => i > 0 && v < seq[i - 1]);
    const firstPass = wrap < 0 ? seq : seq.slice(0, wrap);
    expect(firstPass[0], regions.join(' ')).toBe(0);
    expect(new Set(firstPass).size, regions.join(' ')).toBe(4);
  });

  it('gives every control an accessible name', async () => {
    const { page } = browser;
    const controls = page.locator('button, input, select, textarea, [tabindex="0"]');
    expect(await controls.count()).toBeGreaterThan(15);
    const unnamed = await controls.evaluateAll((els) =>
      (els as unknown as ControlLike[])
        .filter((el) => !(el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || el.textContent?.trim() || (el.labels && el.labels.length)))
        .map((el) => el.outerHTML.slice(0, 120)));
    expect(unnamed).toEqual([]);
  });

  it('starts and cancels a job from the jobs drawer', async () => {
    const { page } = browser;
    // Single-key shortcuts stay quiet in fields: the Tab walk above can end in one (the review
    // panel's Reason select), so start from the (unfocusable) brand, i.e. from the page itself.
    await page.getByText('Osteon', { exact: true }).click();
    await page.keyboard.press('j');
    const drawer = page.getByTestId('jobs-drawer');
    await drawer.waitFor();
    await drawer.getByRole('button', { name: 'Start demo job' }).click();
    const running = drawer.locator('[data-testid=job-row][data-state=running]');
    await running.waitFor();
    await expect.poll(() => page.getByTestId('running-jobs').textContent()).toBe('1');
    // Let the progress bar move before cancelling (the demo job advances every 0.5 s).
    await expect.poll(async () => Number(await running.getAttribute('data-progress')), { timeout: 10_000 }).toBeGreaterThan(0.04);
    await browser.screenshot('08-job-running');
    await running.getByRole('button', { name: /Cancel/ }).click();
    await drawer.locator('[data-testid=job-row][data-state=cancelled]').waitFor();
    await expect.poll(() => page.getByTestId('running-jobs').textContent()).toBe('0');
    await browser.screenshot('09-job-cancelled');
    await page.locator('body').press('Escape');
    await drawer.waitFor({ state: 'detached' });
  });

  it('lists the shortcuts on ? and closes the overlay on Esc', async () => {
    const { page } = browser;
    await page.locator('body').press('?');
    const help = page.getByRole('dialog', { name: 'Keyboard and mouse' });
    await help.waitFor();
    await browser.screenshot('10-help');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('dialog').count()).toBe(0);
  });

  it('logged no console errors', () => {
    expect(browser.problems).toEqual([]);
  });
});
