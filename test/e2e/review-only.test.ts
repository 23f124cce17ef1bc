/**
 * The review workflow in Chromium with the ML backend forced off (OSTEON_BACKEND=none, review-only
 * mode): the batch prediction panel says why it is unavailable; reject a structure with a comment,
 * edit the ground truth (stored as v1) with the brush, undo and redo, save v2, compare v1 with v2
 * (the Dice shown equals `osteon eval`), restore v1 and export the report as a PDF.
 * Screenshots: test-artifacts/e2e/review-only-*.png.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob } from '../../app/contract/index.ts';
import { startBrowserHost, type BrowserHost } from '../../app/services/browser-host.ts';
import { versionMasksPath } from '../../app/store/versions.ts';
import { axialConfusion, launchBrowser, type BrowserSession } from '../helpers/browser.ts';
import { hasChromium, repoRoot, skipNotice } from '../helpers/env.ts';
import { evalVersions } from '../helpers/review.ts';

if (!hasChromium()) skipNotice('review-only e2e', '/usr/bin/chromium');

const phantom = join(repoRoot, 'resources', 'sample', 'phantom');
const poppler = spawnSync('pdfinfo', ['-v']).status === 0;

describe.skipIf(!hasChromium())('review-only mode in Chromium (OSTEON_BACKEND=none)', () => {
  let tmp: string;
  let host: BrowserHost;
  let browser: BrowserSession;
  let project: string;
  let caseId = '';

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'osteon-e2e-review-only-'));
    const rendererDir = join(tmp, 'renderer');
    await build({ configFile: join(repoRoot, 'renderer', 'vite.config.ts'), logLevel: 'warn', build: { outDir: rendererDir } });
    // The services worker copies the environment when it starts.
    const saved = process.env.OSTEON_BACKEND;
    process.env.OSTEON_BACKEND = 'none';
    try {
      host = await startBrowserHost({ port: 0, rendererDir, home: join(tmp, 'home') });
    } finally {
      if (saved === undefined) delete process.env.OSTEON_BACKEND;
      else process.env.OSTEON_BACKEND = saved;
    }
    const c = host.client;
    project = join(tmp, 'project');
    await c.call('project.create', { dir: project, name: 'Review only' });
    caseId = (await runJob(c, 'case.import', () => c.call('case.import', {
      ct: join(phantom, 'case-000', 'ct.nii.gz'), labels: join(phantom, 'case-000', 'labels.nii.gz'), schema: join(phantom, 'schema.json'), name: 'case-000',
    }))).id;
    browser = await launchBrowser({ width: 1440, height: 900 });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await host?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('reviews, edits, saves, compares, restores and reports with no ML backend', async () => {
    const { page } = browser;
    await page.goto(host.url);
    await page.getByText('Connected', { exact: true }).waitFor();
    await page.getByRole('button', { name: '▸ Batch prediction' }).click();
    expect(await page.getByTestId('predict-unavailable').textContent()).toMatch(/Review-only mode/);
    expect(await page.getByRole('button', { name: 'Predict', exact: true }).count()).toBe(0);

    await page.getByTestId('case-item').first().click();
    await page.getByTestId('review-panel').waitFor();
    await page.locator('[data-structure=right]').first().click();
    await page.getByRole('combobox', { name: 'Reason' }).selectOption('boundary');
    await page.getByRole('textbox', { name: 'Comment' }).fill('boundary to the centre is off by a voxel');
    await page.getByRole('button', { name: 'Rejected' }).click();
    await expect.poll(() => page.getByTestId('state-right').textContent()).toBe('Rejected');
    await browser.screenshot('review-only-01-rejected');

    await page.locator('[data-structure=left]').first().click();
    await page.getByRole('tab', { name: 'Edit' }).click();
    await page.getByRole('button', { name: 'Edit segmentation' }).click();
    await page.getByRole('radio', { name: 'Brush', exact: true }).waitFor();
    const box = (await page.locator('[data-view=axial] [data-testid=edit-layer]').boundingBox())!;
    const side = Math.min(box.width, box.height);
    const x0 = box.x + (box.width - side) / 2, y0 = box.y + (box.height - side) / 2;
    await page.mouse.move(x0 + side * 0.25, y0 + side * 0.2);
    await page.mouse.down();
    for (let t = 1; t <= 8; t++) await page.mouse.move(x0 + side * (0.25 + 0.02 * t), y0 + side * 0.2);
    await page.mouse.up();
    await expect.poll(() => page.getByRole('button', { name: 'Undo' }).textContent()).toBe('Undo (1)');
    await browser.screenshot('review-only-02-stroke');
    await page.getByRole('button', { name: 'Undo' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Redo' }).textContent()).toBe('Redo (1)');
    await page.getByRole('button', { name: 'Redo' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Undo' }).textContent()).toBe('Undo (1)');
    await page.getByRole('textbox', { name: 'Version message' }).fill('left arm tip');
    await page.getByRole('button', { name: 'Save version' }).click();
    await expect.poll(async () => (await host.client.call('version.list', { caseId })).versions.map((v) => v.source.kind)).toEqual(['ground-truth', 'edit']);

    await page.getByRole('tab', { name: 'Versions' }).click();
    await page.getByRole('combobox', { name: 'Compare from' }).selectOption('1');
    await page.getByRole('combobox', { name: 'Compare with' }).selectOption('2');
    await page.getByRole('button', { name: 'Compare', exact: true }).click();
    await page.getByTestId('comparison').waitFor();
    const ev = evalVersions(project, caseId, 1, 2, join(tmp, 'eval'), [
      { id: 'bone', role: 'whole' }, { id: 'left', role: 'part' }, { id: 'centre', role: 'part' }, { id: 'right', role: 'part' }]);
    for (const [sid, m] of Object.entries(ev)) expect(await page.getByTestId(`dice-${sid}`).textContent(), sid).toBe(m.dice === null ? '–' : m.dice.toFixed(4));
    expect(Number(await page.getByTestId('dice-left').textContent())).toBeLessThan(1);
    await page.getByRole('button', { name: 'Show FP/FN of Left arm' }).click();
    await expect.poll(async () => (await axialConfusion(page)).fp, { timeout: 30_000 }).toBeGreaterThan(10);
    await browser.screenshot('review-only-03-compare');

    await page.getByRole('button', { name: 'Restore v1' }).click();
    await expect.poll(async () => (await host.client.call('version.list', { caseId })).versions.length).toBe(3);
    expect(readFileSync(versionMasksPath(project, caseId, 3))).toEqual(readFileSync(versionMasksPath(project, caseId, 1)));

    await page.getByRole('tab', { name: 'Audit & report' }).click();
    await page.getByRole('button', { name: 'Report of this case (PDF)' }).click();
    const path = (await page.getByTestId('report-path').textContent({ timeout: 60_000 }))!.trim();
    if (poppler) expect(Number(/Pages:\s+(\d+)/.exec(spawnSync('pdfinfo', [path], { encoding: 'utf8' }).stdout)?.[1])).toBe(1);
    await browser.screenshot('review-only-04-report');
    // The host never started an ML backend.
    expect((await host.client.call('app.info')).backend).toBeNull();
    expect(browser.problems).toEqual([]);
  }, 300_000);
});
