/**
 * DICOM in the workstation, in Debian's Chromium against the real browser host: import one
 * series out of a folder holding two (the wizard lists them with slices, spacing and transfer
 * syntax), then export the case as a DICOM SEG and a Slicer .seg.nrrd from the case header's
 * Export… action, and import that SEG back as the case's prediction from Import SEG…. Screenshots go to test-artifacts/e2e/ for a person to look at.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDicomSeg } from '../../app/exchange/dicom-seg-read.ts';
import { readVolume } from '../../app/imaging/io.ts';
import { startBrowserHost, type BrowserHost } from '../../app/services/browser-host.ts';
import { launchBrowser, type BrowserSession } from '../helpers/browser.ts';
import { fixtures, hasChromium, repoRoot, skipNotice } from '../helpers/env.ts';

if (!hasChromium()) skipNotice('DICOM e2e', '/usr/bin/chromium');

describe.skipIf(!hasChromium())('DICOM import and export in Chromium', () => {
  let tmp: string;
  let host: BrowserHost;
  let browser: BrowserSession;
  const ct = join(fixtures, 'imaging', 'dcmqi', 'dicom');

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'osteon-e2e-dicom-'));
    const rendererDir = join(tmp, 'renderer');
    await build({ configFile: join(repoRoot, 'renderer', 'vite.config.ts'), logLevel: 'warn', build: { outDir: rendererDir } });
    // The page may name paths in tmp (and the fixtures); the sample is readable by default.
    host = await startBrowserHost({ rendererDir, home: join(tmp, 'home'), roots: [tmp, fixtures] });
    browser = await launchBrowser();
    // A PACS-like export: two series in one folder, files without extensions.
    const mixed = join(tmp, 'pacs');
    mkdirSync(mixed);
    readdirSync(ct).forEach((f, i) => copyFileSync(join(ct, f), join(mixed, `IMG${i}`)));
    const other = join(fixtures, 'imaging', 'dicom-codecs', 'j2k_lossless');
    readdirSync(other).forEach((f, i) => copyFileSync(join(other, f), join(mixed, `J2K${i}`)));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await host?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('picks a series in the import wizard, then exports DICOM SEG and .seg.nrrd', async () => {
    const { page } = browser;
    await page.goto(host.url);
    await page.getByText('Connected', { exact: true }).waitFor();
    await page.keyboard.press('Control+o');
    await page.getByTestId('new-project-dir').fill(join(tmp, 'projects', 'dicom'));
    await page.getByTestId('new-project-name').fill('DICOM study');
    await page.getByRole('dialog', { name: 'Projects' }).getByRole('button', { name: 'Create project' }).click();
    await expect.poll(() => page.locator('dialog').count()).toBe(0);

    await page.keyboard.press('Control+i');
    const wizard = page.getByRole('dialog', { name: 'Import study' });
    await wizard.waitFor();
    await page.getByTestId('import-ct').fill(join(tmp, 'pacs'));
    await page.getByTestId('import-labels').fill(join(fixtures, 'imaging', 'dcmqi', 'liver_spine_seg.nii.gz'));
    await wizard.getByRole('button', { name: 'Next' }).click();
    const list = page.getByTestId('import-series');
    await list.waitFor({ timeout: 30_000 });
    expect(await list.textContent()).toMatch(/2 series/);
    expect(await list.textContent()).toMatch(/JPEG 2000 Image Compression \(Lossless Only\)/);
    expect(await list.textContent()).toMatch(/3 × 512×512 · 0\.811 × 0\.811 × 1 mm · Implicit VR Little Endian/);
    await browser.screenshot('dicom-01-series');
    await list.getByRole('radio').nth(readVolume(ct).meta.SeriesInstanceUID < readVolume(join(fixtures, 'imaging', 'dicom-codecs', 'j2k_lossless')).meta.SeriesInstanceUID ? 0 : 1).check();
    await wizard.getByRole('button', { name: 'Next' }).click();
    await page.getByTestId('import-schema').fill(join(fixtures, 'exchange', 'dcmqi-overlap.json'));
    await wizard.getByRole('button', { name: 'Next' }).click();
    await page.getByTestId('import-start').click();
    await page.getByText('Imported. The case is selected').waitFor({ timeout: 120_000 });
    await page.getByTestId('import-close').click();
    await expect.poll(() => page.getByTestId('case-item').count()).toBe(1);

    await page.getByTestId('case-export').click();
    const dialog = page.getByTestId('export-dialog');
    await dialog.waitFor();
    const seg = join(tmp, 'out', 'labels-seg.dcm');
    await page.getByTestId('export-out').fill(seg);
    await page.getByTestId('export-run').fill('run-e2e');
    await page.getByTestId('export-start').click();
    await expect.poll(() => page.getByTestId('export-done').textContent(), { timeout: 60_000 }).toMatch(/DICOM SEG, 3 segments/);
    await browser.screenshot('dicom-02-export-seg');
    const back = readDicomSeg(seg, readVolume(ct));
    expect(back.segments.map((s) => s.mask.reduce((a, b) => a + b, 0))).toEqual([119537, 107098, 12439]);

    await page.getByTestId('export-format').selectOption('seg-nrrd');
    const nrrd = join(tmp, 'out', 'labels.seg.nrrd');
    await page.getByTestId('export-out').fill(nrrd);
    await page.getByTestId('export-start').click();
    await expect.poll(() => page.getByTestId('export-done').textContent(), { timeout: 60_000 }).toMatch(/3 segments in 2 layer/);
    expect(existsSync(nrrd)).toBe(true);
    await page.getByTestId('export-dialog').locator('xpath=ancestor::dialog').getByRole('button', { name: 'Close', exact: true }).click();
    await expect.poll(() => page.locator('dialog').count()).toBe(0);

    // The SEG back into the case from the header's Import SEG… action: the case has labels, so
    // it lands as the prediction (compare mode), every segment on its structure, overlaps kept.
    await page.getByTestId('case-import-seg').click();
    await page.getByTestId('import-seg-dialog').waitFor();
    expect(await page.getByTestId('import-seg-dialog').getByRole('radio', { name: 'Labels' }).isDisabled()).toBe(true);
    await page.getByTestId('import-seg-file').fill(seg);
    await page.getByTestId('import-seg-start').click();
    const done = page.getByTestId('import-seg-done');
    await done.waitFor({ timeout: 60_000 });
    const text = (await done.textContent()) ?? '';
    for (const [id, label, n] of [['labelled', 'Liver and spine', '119,537'], ['liver', 'Liver', '107,098'], ['spine', 'Thoracic spine', '12,439']]) {
      expect(text).toContain(`${id} ← “${label}”: ${n} voxels`);
    }
    await browser.screenshot('dicom-03-import-seg');
    const cases = readdirSync(join(tmp, 'projects', 'dicom', 'cases')).filter((n) => !n.startsWith('.'));
    expect(existsSync(join(tmp, 'projects', 'dicom', 'cases', cases[0], 'prediction.nii.gz'))).toBe(true);
  }, 300_000);
});
