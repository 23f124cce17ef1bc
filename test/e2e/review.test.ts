/**
 * The review workflow end to end, in Debian's Chromium against the real browser host, on the
 * bundled phantom sample (resources/sample/phantom): a tiny run is trained through the contract,
 * then as a user: batch-predict two cases, reject one structure with a reason and a comment, paint
 * a correction with the brush and undo and redo it, set the window with a right-drag and pan with a
 * middle-drag while the brush is active, interpolate between two coronal strokes, save (version 2), compare v1 with v2 (the Dice
 * shown equals `osteon eval` on the same masks), look at the FP/FN overlay, restore v1 (version 3,
 * the same bytes as v1) and read the audit trail. Screenshots: test-artifacts/e2e/review-*.png.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob } from '../../app/contract/index.ts';
import { startBrowserHost, type BrowserHost } from '../../app/services/browser-host.ts';
import { readVersionMasks, versionMasksPath } from '../../app/store/versions.ts';
import { artifactsDir, axialConfusion, launchBrowser, type BrowserSession } from '../helpers/browser.ts';
import { evalVersions } from '../helpers/review.ts';
import { hasChromium, repoRoot, skipNotice } from '../helpers/env.ts';

if (!hasChromium()) skipNotice('review e2e', '/usr/bin/chromium');

const phantom = join(repoRoot, 'resources', 'sample', 'phantom');

describe.skipIf(!hasChromium())('review workflow in Chromium', () => {
  let tmp: string;
  let host: BrowserHost;
  let browser: BrowserSession;
  let project: string;
  const ids: string[] = [];

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'osteon-e2e-review-'));
    const rendererDir = join(tmp, 'renderer');
    await build({ configFile: join(repoRoot, 'renderer', 'vite.config.ts'), logLevel: 'warn', build: { outDir: rendererDir } });
    host = await startBrowserHost({ port: 0, rendererDir, home: join(tmp, 'home') });
    const c = host.client;
    project = join(tmp, 'project');
    await c.call('project.create', { dir: project, name: 'Review e2e' });
    for (const id of ['case-000', 'case-001']) {
      const s = await runJob(c, 'case.import', () => c.call('case.import', {
        ct: join(phantom, id, 'ct.nii.gz'), labels: join(phantom, id, 'labels.nii.gz'), schema: join(phantom, 'schema.json'), name: id,
      }));
      ids.push(s.id);
    }
    // A small run to predict with (seconds; bone Dice ~0.85 on the phantom; the training UI has its own e2e test).
    await runJob(c, 'train', () => c.call('train.start', {
      caseIds: ids, valCaseIds: [ids[1]], head: 'joint', lossWeights: { a: 1, b: 1, c: 1 }, posWeight: [2.5],
      epochs: 6, stepsPerEpoch: 8, batchSize: 4, filters: [8, 16], learningRate: 0.003,
    }));
    browser = await launchBrowser({ width: 1440, height: 900 });
  }, 540_000);

  afterAll(async () => {
    await browser?.close();
    await host?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('batch-predicts two cases with per-case progress', async () => {
    const { page } = browser;
    await page.goto(host.url);
    await page.getByText('Connected', { exact: true }).waitFor();
    await page.getByRole('button', { name: '▸ Batch prediction' }).click();
    await page.getByRole('combobox', { name: 'Run to predict with' }).waitFor();
    await page.getByRole('button', { name: 'Predict', exact: true }).click();
    const rows = page.getByRole('list', { name: 'Prediction progress' }).locator('li');
    await expect.poll(() => rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-state')).join(',')), { timeout: 120_000 }).toBe('done,done');
    // The case list shows each case's new version at a glance.
    await expect.poll(() => page.getByTestId('case-review-state').allTextContents()).toEqual(['Unreviewed · v1', 'Unreviewed · v1']);
    await browser.screenshot('review-01-batch-predicted');
  });

  it('rejects a structure with a reason and a comment', async () => {
    const { page } = browser;
    await page.getByTestId('case-item').first().click();
    await page.getByTestId('review-panel').waitFor();
    await page.locator('[data-structure=right]').first().click();
    await page.getByRole('combobox', { name: 'Reason' }).selectOption('leak');
    await page.getByRole('textbox', { name: 'Comment' }).fill('leaks into the centre piece');
    await page.getByRole('button', { name: 'Rejected' }).click();
    await expect.poll(() => page.getByTestId('state-right').textContent()).toBe('Rejected');
    await expect.poll(() => page.getByTestId('case-review-state').first().textContent()).toBe('Rejected · v1');
    // Keyboard: S moves to the next structure; A accepts it.
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('s');
    await page.keyboard.press('a');
    await expect.poll(() => page.getByTestId('state-bone').textContent()).toBe('Accepted');
    await browser.screenshot('review-02-rejected');
    const r = await host.client.call('review.get', { caseId: ids[0] });
    expect(r.structures.find((s) => s.structure === 'right')).toMatchObject({ state: 'rejected', reason: 'leak', comment: 'leaks into the centre piece' });
  });

  it('paints a correction with the brush, undoes and redoes it, and saves version 2', async () => {
    const { page } = browser;
    await page.locator('[data-structure=left]').first().click();
    await page.getByRole('tab', { name: 'Edit' }).click();
    await page.getByRole('button', { name: 'Edit segmentation' }).click();
    await page.getByRole('radio', { name: 'Brush', exact: true }).waitFor();
    const layer = page.locator('[data-view=axial] [data-testid=edit-layer]');
    const box = (await layer.boundingBox())!;
    // A stroke through the upper left of the axial image (background in the phantom).
    const side = Math.min(box.width, box.height);
    const x0 = box.x + (box.width - side) / 2, y0 = box.y + (box.height - side) / 2;
    await page.mouse.move(x0 + side * 0.2, y0 + side * 0.2);
    await page.mouse.down();
    for (let t = 1; t <= 10; t++) await page.mouse.move(x0 + side * (0.2 + 0.02 * t), y0 + side * (0.2 + 0.01 * t));
    await page.mouse.up();
    await expect.poll(() => page.getByRole('button', { name: 'Undo' }).textContent()).toBe('Undo (1)');
    await browser.screenshot('review-03-stroke');
    await page.getByRole('button', { name: 'Undo' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Redo' }).textContent()).toBe('Redo (1)');
    await browser.screenshot('review-04-undone');
    await page.keyboard.press('Control+y');
    await expect.poll(() => page.getByRole('button', { name: 'Undo' }).textContent()).toBe('Undo (1)');
    // While the brush is active the left button paints, but a right-drag still sets window/level
    // (and paints nothing) and a middle-drag still pans.
    const preset = await page.getByRole('radiogroup', { name: 'CT window' }).locator('[aria-checked=true]').textContent();
    const wl = page.locator('[data-view=axial] .wl');
    const wlBefore = await wl.textContent();
    await page.mouse.move(x0 + side * 0.5, y0 + side * 0.5);
    await page.mouse.down({ button: 'right' });
    await page.mouse.move(x0 + side * 0.5 + 40, y0 + side * 0.5 + 20, { steps: 4 });
    await page.mouse.up({ button: 'right' });
    await expect.poll(() => wl.textContent()).not.toBe(wlBefore);
    expect(await page.getByRole('radiogroup', { name: 'CT window' }).locator('[aria-checked=true]').textContent()).toBe('Custom');
    await page.mouse.down({ button: 'middle' });
    await page.mouse.move(x0 + side * 0.5 + 60, y0 + side * 0.5 + 30, { steps: 4 });
    await page.mouse.up({ button: 'middle' });
    await page.getByRole('button', { name: 'Reset zoom and pan of the Axial view' }).waitFor();
    await browser.screenshot('review-04b-window-and-pan-while-editing');
    await page.getByRole('button', { name: 'Reset zoom and pan of the Axial view' }).click();
    await page.getByRole('radiogroup', { name: 'CT window' }).getByRole('radio', { name: preset!.trim(), exact: true }).click();
    expect(await page.getByRole('button', { name: 'Undo' }).textContent()).toBe('Undo (1)');
    // Interpolation on the coronal view: strokes on two coronal slices three apart (low in the
    // image, below the axial stroke's slice), then Interpolate along the view drawn on last.
    const cor = page.locator('[data-view=coronal] [data-testid=edit-layer]');
    const cb = (await cor.boundingBox())!;
    // The phantom's coronal image is 64 × 48 voxels of 2 mm: letterboxed in the view.
    const cw = Math.min(cb.width, (cb.height * 64) / 48), ch = (cw * 48) / 64;
    const cx = cb.x + (cb.width - cw) / 2, cy = cb.y + (cb.height - ch) / 2;
    const coronalStroke = async () => {
      await page.mouse.move(cx + cw * 0.25, cy + ch * 0.8);
      await page.mouse.down();
      for (let t = 1; t <= 5; t++) await page.mouse.move(cx + cw * (0.25 + 0.02 * t), cy + ch * 0.8);
      await page.mouse.up();
    };
    await coronalStroke();
    await expect.poll(() => page.getByRole('button', { name: 'Undo' }).textContent()).toBe('Undo (2)');
    // Three slices on (one wheel step each; Chromium coalesces wheel events sent together).
    const corView = page.locator('section[data-view=coronal]');
    const s0 = Number(await corView.getAttribute('data-slice'));
    for (let w = 1; w <= 3; w++) {
      await page.mouse.wheel(0, -100);
      await expect.poll(async () => Number(await corView.getAttribute('data-slice'))).toBe(s0 + w);
    }
    await coronalStroke();
    await expect.poll(() => page.getByRole('button', { name: 'Undo' }).textContent()).toBe('Undo (3)');
    expect(await page.getByRole('combobox', { name: 'Interpolation view' }).inputValue()).toBe('coronal');
    await page.getByRole('button', { name: 'Interpolate', exact: true }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Undo' }).textContent()).toBe('Undo (4)');
    expect(await page.getByRole('alert').count()).toBe(0);
    await browser.screenshot('review-04c-coronal-interpolated');
    await page.getByRole('textbox', { name: 'Version message' }).fill('left arm: added the missed tip');
    await page.getByRole('button', { name: 'Save version' }).click();
    await expect.poll(async () => (await host.client.call('version.list', { caseId: ids[0] })).versions.length).toBe(2);
    const v2 = (await host.client.call('version.list', { caseId: ids[0] })).versions[1];
    expect(v2.source).toEqual({ kind: 'edit', of: 1 });
    expect(v2.message).toBe('left arm: added the missed tip');
    const v1 = (await host.client.call('version.list', { caseId: ids[0] })).versions[0];
    // The brush painted the left arm, and (the phantom's whole contains its parts) the bone.
    expect(v2.voxels[1]).toBeGreaterThan(v1.voxels[1]);
    expect(v2.voxels[0]).toBeGreaterThan(v1.voxels[0]);
    // The coronal strokes (the same path on coronal slices j = s0 and s0 + 3; identity direction,
    // so the view's slice is j) and the interpolation between them: what the second stroke added
    // to the left arm (below the axial stroke's slice) is on every slice from s0 to s0 + 3 in v2.
    const axis = Number(await page.locator('[data-view=coronal] [data-testid=edit-layer]').getAttribute('data-axis'));
    expect(axis).toBe(1);
    const m1 = readVersionMasks(project, ids[0], 1).masks[1], m2 = readVersionMasks(project, ids[0], 2).masks[1];
    const at = (i: number, j: number, k: number) => i + 64 * (j + 64 * k);
    let footprint = 0;
    const missing: string[] = [];
    for (let k = 0; k < 18; k++) for (let i = 0; i < 64; i++) {
      if (!m2[at(i, s0 + 3, k)] || m1[at(i, s0 + 3, k)]) continue;
      footprint++;
      for (let j = s0; j < s0 + 3; j++) if (!m2[at(i, j, k)]) missing.push(`${i},${j},${k}`);
    }
    expect(footprint).toBeGreaterThan(5);
    expect(missing).toEqual([]);
    await browser.screenshot('review-05-saved');
  });

  it('compares v1 with v2: the Dice shown equals osteon eval on the same masks; FP/FN overlay', async () => {
    const { page } = browser;
    await page.getByRole('tab', { name: 'Versions' }).click();
    // v1 came from the batch prediction: its row names the backend that computed it.
    await expect.poll(() => page.getByTestId('version-backend').first().textContent()).toMatch(/^on \S+/);
    await page.getByRole('combobox', { name: 'Compare from' }).selectOption('1');
    await page.getByRole('combobox', { name: 'Compare with' }).selectOption('2');
    await page.getByRole('button', { name: 'Compare', exact: true }).click();
    await page.getByTestId('comparison').waitFor();
    const shown: Record<string, string> = {};
    for (const s of ['bone', 'left', 'centre', 'right']) shown[s] = (await page.getByTestId(`dice-${s}`).textContent()) ?? '';
    // osteon eval on the same masks: v1 as the ground truth, v2 as the prediction.
    const ev = evalVersions(project, ids[0], 1, 2, join(tmp, 'eval'), [
      { id: 'bone', role: 'whole' }, { id: 'left', role: 'part' }, { id: 'centre', role: 'part' }, { id: 'right', role: 'part' }]);
    for (const [sid, m] of Object.entries(ev)) expect(shown[sid], sid).toBe(m.dice === null ? '–' : m.dice.toFixed(4));
    expect(Number(shown.left)).toBeLessThan(1);
    expect(shown.right).toBe('1.0000');
    await page.getByRole('button', { name: 'Show FP/FN of Left arm' }).click();
    // Red pixels (FP: painted in v2 only) on the axial slice, which the stroke was drawn on.
    await expect.poll(async () => (await axialConfusion(page)).fp, { timeout: 30_000 }).toBeGreaterThan(10);
    await browser.screenshot('review-06-compare-fp');
  });

  it('restores v1 as version 3 with v1\'s bytes, and shows the audit trail', async () => {
    const { page } = browser;
    await page.getByRole('button', { name: 'Restore v1' }).click();
    await expect.poll(async () => (await host.client.call('version.list', { caseId: ids[0] })).versions.length).toBe(3);
    expect(readFileSync(versionMasksPath(project, ids[0], 3))).toEqual(readFileSync(versionMasksPath(project, ids[0], 1)));
    await expect.poll(() => page.locator('tr[data-version="3"]').textContent()).toContain('restore of v1');
    await browser.screenshot('review-07-restored');
    await page.getByRole('tab', { name: 'Audit & report' }).click();
    const trail = page.getByTestId('audit-trail');
    await expect.poll(() => trail.textContent()).toContain('version.restore');
    const text = (await trail.textContent()) ?? '';
    for (const a of ['case.import', 'version.save', 'review.set']) expect(text).toContain(a);
    await browser.screenshot('review-08-audit');
  });

  it.skipIf(spawnSync('pdfinfo', ['-v']).status !== 0)('exports the project report as a PDF: a summary page, then one page per case with its key images', async () => {
    const { page } = browser;
    await page.getByRole('button', { name: 'Project report (PDF)' }).click();
    const path = (await page.getByTestId('report-path').textContent({ timeout: 60_000 }))!.trim();
    expect(path).toMatch(/report\.pdf$/);
    const info = spawnSync('pdfinfo', [path], { encoding: 'utf8' }).stdout;
    expect(Number(/Pages:\s+(\d+)/.exec(info)?.[1])).toBe(1 + ids.length);
    const out = join(tmp, 'report-page');
    expect(spawnSync('pdftoppm', ['-r', '40', '-png', path, out]).status).toBe(0);
    expect(spawnSync('pdftoppm', ['-r', '30', '-gray', path, out]).status).toBe(0);
    for (let p = 2; p <= 1 + ids.length; p++) {
      copyFileSync(`${out}-${p}.png`, join(artifactsDir, `review-09-report-page-${p}.png`));
      const pgm = readFileSync(`${out}-${p}.pgm`);
      const header = /^P5\s+(\d+)\s+(\d+)\s+255\s/.exec(pgm.subarray(0, 40).toString('latin1'))!;
      const px = pgm.subarray(header[0].length);
      let dark = 0;
      for (const v of px) if (v < 128) dark++;
      // Key images are dark CT on white paper: a page without them is nearly all white.
      expect(dark / px.length, `page ${p}`).toBeGreaterThan(0.02);
    }
    await browser.screenshot('review-10-report-exported');
    expect(browser.problems).toEqual([]);
  });
});
