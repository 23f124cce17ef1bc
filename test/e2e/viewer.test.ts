/**
 * The vtk.js viewer end to end, in Debian's Chromium against the real browser host: the sample
 * pelvis study is imported through the contract (host.client), then the page opens it and the
 * 3D view is checked by its pixels (read back from the WebGL framebuffer, not the page): each
 * structure in its schema colour, the left hip on the screen's right in an anterior view
 * (radiological), hiding a structure removes its colour, volume rendering draws without losing
 * the context. Screenshots: test-artifacts/e2e/viewer-*.png.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob } from '../../app/contract/index.ts';
import { readVolume, writeVolume } from '../../app/imaging/io.ts';
import { startBrowserHost, type BrowserHost } from '../../app/services/browser-host.ts';
import { artifactsDir, axialConfusion, type BrowserSession, launchBrowser } from '../helpers/browser.ts';
import { hasChromium, repoRoot, skipNotice } from '../helpers/env.ts';

type Rgb = [number, number, number];
interface ColourCount { count: number; meanX: number; meanY: number }
interface Hooks {
  stats(): { caseId: string; firstFrameMs: number; built: number; surfaceMs: Record<string, number>; softwareGL: boolean };
  contextLost(): boolean;
  count(targets: Rgb[]): ColourCount[];
  capture(): Promise<string>;
  view(v: string): void;
}
type Win = { __osteonViewer?: Hooks };

const sample = join(repoRoot, 'resources', 'sample', 'pelvis');
const preset = join(repoRoot, 'resources', 'presets', 'pelvis.json');
const tptbox = join(repoRoot, 'test', 'fixtures', 'imaging', 'tptbox');
const ready = hasChromium() && existsSync(join(sample, 'ct.nii.gz'));
if (!hasChromium()) skipNotice('viewer e2e', '/usr/bin/chromium');
else if (!ready) skipNotice('viewer e2e', 'resources/sample/pelvis');

// resources/presets/pelvis.json colours, in schema order.
const colours: Record<string, Rgb> = {
  pelvis: [0xe8, 0xdc, 0xc4], hip_left: [0x4f, 0xc3, 0xf7], hip_right: [0xff, 0xb7, 0x4d], sacrum: [0xae, 0xd5, 0x81],
};
const names = Object.keys(colours);

async function counts(page: Page): Promise<Record<string, ColourCount>> {
  const list = await page.evaluate((t) => (globalThis as unknown as Win).__osteonViewer?.count(t) ?? [], Object.values(colours));
  return Object.fromEntries(names.map((n, i) => [n, list[i]]));
}

async function saveCanvas(page: Page, name: string): Promise<string> {
  const url = await page.evaluate(() => (globalThis as unknown as Win).__osteonViewer?.capture() ?? Promise.resolve(''));
  const path = join(artifactsDir, `${name}.png`);
  writeFileSync(path, Buffer.from(url.slice(url.indexOf(',') + 1), 'base64'));
  return path;
}

describe.skipIf(!ready)('vtk.js viewer in Chromium', () => {
  let tmp: string;
  let host: BrowserHost;
  let browser: BrowserSession;
  let probe: [number, number, number] | null = null;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'osteon-viewer-e2e-'));
    const rendererDir = join(tmp, 'renderer');
    await build({ configFile: join(repoRoot, 'renderer', 'vite.config.ts'), logLevel: 'warn', build: { outDir: rendererDir } });
    host = await startBrowserHost({ rendererDir, home: join(tmp, 'home') });
    const c = host.client;
    await c.call('project.create', { dir: join(tmp, 'project'), name: 'viewer e2e' });
    const summary = await runJob(c, 'case.import', () => c.call('case.import', { ct: join(sample, 'ct.nii.gz'), labels: join(sample, 'labels.nii.gz'), schema: preset, name: 'pelvis sample' }));
    // The "prediction": the same labels with the left hip (77) moved 4 voxels along +i, so its
    // surface is outside the truth on one side (FP) and inside it on the other (FN).
    const labels = readVolume(join(sample, 'labels.nii.gz'));
    // A left-hip voxel on the axial middle slice (k = 56) whose 3×3 neighbourhood is all left hip.
    const [lx, ly] = labels.dims;
    for (let j = 1; j < ly - 1 && !probe; j++) for (let i = 1; i < lx - 1 && !probe; i++) {
      let all = true;
      for (let dj = -1; dj <= 1; dj++) for (let di = -1; di <= 1; di++) if (labels.data[i + di + lx * (j + dj + ly * 56)] !== 77) all = false;
      if (all) probe = [i, j, 56];
    }
    const [nx, ny, nz] = labels.dims;
    const shifted = labels.data.slice();
    for (let o = 0; o < shifted.length; o++) if (shifted[o] === 77) shifted[o] = 0;
    for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i + 4 < nx; i++) {
      const o = i + nx * (j + ny * k);
      // Only into background: the other structures stay exactly as in the truth.
      if (labels.data[o] === 77 && shifted[o + 4] === 0) shifted[o + 4] = 77;
    }
    const predPath = join(tmp, 'prediction.nii.gz');
    writeVolume(predPath, { ...labels, data: shifted });
    await c.call('case.attachPrediction', { caseId: summary.id, labels: predPath });
    // A PIR-oriented case (TPTBox L3 crop, test/fixtures/imaging/PROVENANCE.md) with a schema
    // naming its left and right costal processes, its spinous process and its body.
    const pirSchema = join(tmp, 'pir-schema.json');
    writeFileSync(pirSchema, JSON.stringify({
      schema: 'osteon-labels/1', name: 'L3 subregions', description: 'TPTBox subregions: 42 spinous, 43/44 costal left/right, 49+50 body',
      structures: [
        { id: 'costal_left', name: 'Costal process left', colour: '#2060FF', role: 'part', source: { kind: 'labelmap', values: [43] } },
        { id: 'costal_right', name: 'Costal process right', colour: '#FF8020', role: 'part', source: { kind: 'labelmap', values: [44] } },
        { id: 'spinous', name: 'Spinous process', colour: '#E020E0', role: 'part', source: { kind: 'labelmap', values: [42] } },
        { id: 'body', name: 'Vertebral body', colour: '#30D040', role: 'part', source: { kind: 'labelmap', values: [49, 50] } },
      ],
    }));
    await runJob(c, 'case.import', () => c.call('case.import', {
      ct: join(tptbox, 'sub-ct_label-22_ct.nii.gz'), labels: join(tptbox, 'sub-ct_seg-subreg_label-22_msk.nii.gz'), schema: pirSchema, name: 'PIR L3',
    }));
    browser = await launchBrowser({ width: 1280, height: 860 });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await host?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('shows every structure in its colour in 3D, left hip on the right in an anterior view', async () => {
    const { page } = browser;
    await page.goto(host.url);
    await page.getByText('Connected', { exact: true }).waitFor();
    await page.getByTestId('case-item').first().click();
    // Maximise the 3D viewport so the checks have pixels to count.
    await page.locator('[data-view="3d"]').waitFor();
    await page.getByRole('button', { name: 'Maximise 3D viewport' }).click();
    await expect.poll(() => page.evaluate(() => (globalThis as unknown as Win).__osteonViewer?.stats().firstFrameMs ?? -1), { timeout: 60_000 }).toBeGreaterThan(0);
    expect(await page.evaluate(() => (globalThis as unknown as Win).__osteonViewer?.stats().built)).toBe(4);
    expect(await page.evaluate(() => (globalThis as unknown as Win).__osteonViewer?.contextLost())).toBe(false);
    await page.evaluate(() => (globalThis as unknown as Win).__osteonViewer?.view('anterior'));
    // Headless Chromium renders with SwiftShader: the fast unshaded volume mode is the default.
    expect(await page.evaluate(() => (globalThis as unknown as Win).__osteonViewer?.stats().softwareGL)).toBe(true);
    expect(await page.getByRole('checkbox', { name: 'Shaded' }).isChecked()).toBe(false);
    const c = await counts(page);
    await browser.screenshot('viewer-3d-anterior');
    await saveCanvas(page, 'viewer-3d-anterior-canvas');
    for (const part of ['hip_left', 'hip_right', 'sacrum']) expect(c[part].count, `${part}: ${JSON.stringify(c)}`).toBeGreaterThan(500);
    // Seen from the front, the patient's left is on the screen's right.
    expect(c.hip_left.meanX).toBeGreaterThan(c.hip_right.meanX);
    // The left lateral view, for a person to check the orientation cube's upright "L".
    await page.getByRole('button', { name: 'Left lateral view' }).click();
    await page.waitForTimeout(300);
    await browser.screenshot('viewer-3d-left-lateral');
    await page.getByRole('button', { name: 'Anterior view' }).click();
    // The PNG button downloads the frame.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Save 3D screenshot' }).click()]);
    const saved = join(artifactsDir, 'viewer-3d-download.png');
    await download.saveAs(saved);
    expect(download.suggestedFilename()).toMatch(/^osteon-.+-3d\.png$/);
    expect(readFileSync(saved).subarray(1, 4).toString('latin1')).toBe('PNG');
  });

  it('hiding a structure removes its colour', async () => {
    const { page } = browser;
    const before = await counts(page);
    await page.getByRole('checkbox', { name: 'Show Left hip in the viewports' }).uncheck();
    await expect.poll(async () => (await counts(page)).hip_left.count).toBeLessThan(before.hip_left.count / 20);
    const after = await counts(page);
    expect(after.hip_right.count).toBeGreaterThan(before.hip_right.count / 2);
    await saveCanvas(page, 'viewer-3d-left-hip-hidden');
    await page.getByRole('checkbox', { name: 'Show Left hip in the viewports' }).check();
    await expect.poll(async () => (await counts(page)).hip_left.count).toBeGreaterThan(before.hip_left.count / 2);
  });

  it('draws the CT with the unshaded bone preset and keeps the WebGL context', async () => {
    const { page } = browser;
    await page.getByRole('checkbox', { name: 'Surfaces' }).uncheck();
    const empty = await counts(page);
    expect(empty.hip_left.count + empty.hip_right.count + empty.sacrum.count).toBeLessThan(50);
    await page.getByRole('combobox', { name: 'Volume rendering' }).selectOption('bone');
    const nonBg = () => page.evaluate(() => {
      const h = (globalThis as unknown as Win).__osteonViewer;
      // A grey target catches the bone preset's beige-white; any coloured pixel counts as drawn.
      return h ? h.count([[255, 250, 240], [230, 210, 170], [140, 64, 38]]).reduce((s, x) => s + x.count, 0) : 0;
    });
    await expect.poll(nonBg, { timeout: 30_000 }).toBeGreaterThan(2000);
    expect(await page.evaluate(() => (globalThis as unknown as Win).__osteonViewer?.contextLost())).toBe(false);
    await saveCanvas(page, 'viewer-3d-volume-bone');
    await browser.screenshot('viewer-3d-volume-page');
    await page.getByRole('combobox', { name: 'Volume rendering' }).selectOption('');
    await page.getByRole('checkbox', { name: 'Surfaces' }).check();
  });

  it('compare mode colours the shifted left hip red (FP side) and blue (FN side), the rest white', async () => {
    const { page } = browser;
    await page.getByRole('checkbox', { name: 'Compare' }).check();
    await page.getByTestId('distance-colour-bar').locator('[data-structure=hip_left]').waitFor({ timeout: 60_000 });
    await page.getByTestId('distance-colour-bar').locator('[data-structure=sacrum]').waitFor({ timeout: 60_000 });
    // Every structure is in the largest-error list, the whole too, by display name.
    await page.getByTestId('distance-colour-bar').locator('[data-structure=pelvis]').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('distance-colour-bar').locator('[data-structure=hip_left]').textContent()).toMatch(/^Left hip: largest/);
    // The colour bar sits beside the render, not over it.
    const barBox = await page.getByTestId('distance-colour-bar').boundingBox();
    const renderBox = await page.locator('[data-testid=viewer3d] .canvas').boundingBox();
    expect(barBox && renderBox && barBox.x >= renderBox.x + renderBox.width - 1, JSON.stringify([barBox, renderBox])).toBe(true);
    // Targets: the colour bar's red and blue ends, half-way shades, and the white of 0 mm.
    const cmp = () => page.evaluate((t) => (globalThis as unknown as Win).__osteonViewer?.count(t) ?? [],
      [[230, 26, 26], [242, 135, 135], [26, 64, 242], [135, 150, 242], [242, 242, 242]] as Rgb[]);
    const [r1, r2, b1, b2, white] = await cmp();
    const red = { count: r1.count + r2.count }, blue = { count: b1.count + b2.count };
    await saveCanvas(page, 'viewer-3d-compare');
    await browser.screenshot('viewer-3d-compare-page');
    expect(red.count, JSON.stringify([red, blue, white])).toBeGreaterThan(300);
    expect(blue.count, JSON.stringify([red, blue, white])).toBeGreaterThan(300);
    // The right hip and sacrum were not changed: near 0 mm, white.
    expect(white.count).toBeGreaterThan(1000);
    const worst = await page.getByTestId('distance-colour-bar').locator('[data-structure=hip_left]').textContent();
    const mm = Number(/largest (-?[\d.]+) mm/.exec(worst ?? '')?.[1]);
    // 4 voxels of 3 mm along i: several mm; the unchanged structures are within half a voxel
    // (1.5 mm, the distance's resolution: voxel-centre EDT, see renderer/src/viewer/lib/compare.ts).
    expect(Math.abs(mm)).toBeGreaterThan(6);
    for (const same of ['hip_right', 'sacrum']) {
      const text = await page.getByTestId('distance-colour-bar').locator(`[data-structure=${same}]`).textContent();
      expect(Math.abs(Number(/largest (-?[\d.]+) mm/.exec(text ?? '')?.[1])), text ?? '').toBeLessThan(1.6);
    }
    // Side by side: the truth in its colours, the prediction beside it (to the screen's right in an anterior view).
    await page.getByRole('combobox', { name: 'Compare layout' }).selectOption('side-by-side');
    await page.waitForTimeout(300);
    const side = await page.evaluate((t) => (globalThis as unknown as Win).__osteonViewer?.count(t) ?? [], [colours.hip_left, [242, 242, 242]] as Rgb[]);
    await saveCanvas(page, 'viewer-3d-compare-side-by-side');
    expect(side[0].count).toBeGreaterThan(500);
    expect(side[1].meanX).toBeGreaterThan(side[0].meanX);
    await page.getByRole('combobox', { name: 'Compare layout' }).selectOption('overlaid');
    // The slices show TP/FP/FN: restore the grid, jump to the left hip's largest error.
    await page.getByRole('button', { name: 'Restore 3D viewport' }).click();
    await page.locator('[data-view=axial] canvas').waitFor();
    await page.getByRole('button', { name: 'Jump the slices to the largest error of Left hip' }).click();
    const k = Number(/voxel \(\d+, \d+, (\d+)\)/.exec(worst ?? '')?.[1]);
    // The sample's k runs inferior→superior (direction diag(−1, −1, 1)), as does the axial order.
    await expect.poll(() => page.locator('[data-view=axial]').getAttribute('aria-label')).toMatch(new RegExp(`slice ${k + 1} of`));
    const slicePx = await axialConfusion(page);
    // The slice views explain their compare colours.
    expect(await page.locator('[data-view=axial] [data-testid=compare-legend]').textContent()).toMatch(/TP.*FP.*FN/);
    await browser.screenshot('viewer-slices-compare');
    expect(slicePx.fp, JSON.stringify(slicePx)).toBeGreaterThan(10);
    expect(slicePx.fn, JSON.stringify(slicePx)).toBeGreaterThan(10);
    expect(slicePx.tp, JSON.stringify(slicePx)).toBeGreaterThan(10);
    await page.getByRole('checkbox', { name: 'Compare' }).uncheck();
    await expect.poll(async () => (await axialConfusion(page)).fp).toBe(0);
    await page.getByRole('button', { name: 'Maximise 3D viewport' }).click();
  });

  it('a PIR case lands anatomically: left costal process on the right of an anterior view, body anterior (up) seen from above', async () => {
    const { page } = browser;
    const before = await page.evaluate(() => (globalThis as unknown as Win).__osteonViewer?.stats().caseId);
    await page.getByTestId('case-item').filter({ hasText: 'PIR L3' }).click();
    await expect.poll(() => page.evaluate((old) => {
      const s = (globalThis as unknown as Win).__osteonViewer?.stats();
      return s && s.caseId !== old && s.firstFrameMs >= 0 ? s.built : 0;
    }, before), { timeout: 60_000 }).toBe(4);
    const targets: Rgb[] = [[0x20, 0x60, 0xff], [0xff, 0x80, 0x20], [0xe0, 0x20, 0xe0], [0x30, 0xd0, 0x40]];
    const look = (v: string) => page.evaluate(([view, t]) => {
      const h = (globalThis as unknown as Win).__osteonViewer;
      h?.view(view);
      return h?.count(t) ?? [];
    }, [v, targets] as [string, Rgb[]]);
    // World LPS centroids (computed from the file's affine): costal left x = +54.7, right −7.2 mm;
    // spinous y = 222 mm (posterior), body y = 163 mm (anterior).
    const [left, right] = await look('anterior');
    await saveCanvas(page, 'viewer-3d-pir-anterior');
    expect(left.count).toBeGreaterThan(100);
    expect(right.count).toBeGreaterThan(100);
    expect(left.meanX).toBeGreaterThan(right.meanX);
    const [l2, r2, spinous, body] = await look('superior');
    await saveCanvas(page, 'viewer-3d-pir-superior');
    // Seen from above (looking toward the feet) with anterior up: body on top, and the patient's
    // left on the screen's LEFT (the mirror of a radiological axial slice, which is seen from below).
    expect(body.meanY).toBeLessThan(spinous.meanY);
    expect(l2.meanX).toBeLessThan(r2.meanX);
    await browser.screenshot('viewer-pir-page');
  });

  it('probes HU and structures under the pointer, and a click links the three slice views and the 3D cursor', async () => {
    const { page } = browser;
    expect(probe).not.toBeNull();
    if (!probe) return;
    await page.getByRole('button', { name: 'Restore 3D viewport' }).click();
    await page.getByTestId('case-item').filter({ hasText: 'pelvis sample' }).click();
    const axial = page.locator('[data-view=axial]');
    // Back on a case, each view is where it was left (the compare jump above moved it): step to the probe's slice 57.
    await expect.poll(() => axial.getAttribute('aria-label'), { timeout: 30_000 }).toMatch(/slice \d+ of 112/);
    const at = Number(/slice (\d+) of/.exec((await axial.getAttribute('aria-label')) ?? '')?.[1]);
    await axial.focus();
    for (let n = at; n !== 57; n += n < 57 ? 1 : -1) await page.keyboard.press(n < 57 ? 'ArrowUp' : 'ArrowDown');
    await expect.poll(() => axial.getAttribute('aria-label')).toMatch(/slice 57 of 112/);
    // The sample's direction is diag(−1, −1, 1) (3 mm voxels, 122×101×112): the axial view puts
    // +x (patient left) to the right and +y (posterior) down, so u = 121 − i and v = 100 − j.
    const [i, j] = probe;
    const u = 121 - i, v = 100 - j;
    const rect = await page.locator('[data-view=axial] [data-testid=slice-cursor]').boundingBox();
    expect(rect).not.toBeNull();
    if (!rect) return;
    const scale = Math.min(rect.width / 122, rect.height / 101);
    const x = rect.x + (rect.width - 122 * scale) / 2 + (u + 0.5) * scale, y = rect.y + (rect.height - 101 * scale) / 2 + (v + 0.5) * scale;
    await page.mouse.move(x, y);
    const probeText = page.locator('[data-view=axial] [data-testid=slice-probe]');
    await expect.poll(() => probeText.textContent()).toMatch(new RegExp(`HU -?\\d+ · \\(${i}, ${j}, 56\\) · Pelvis, Left hip`));
    // The overlay pixel there is the left hip's blue blended on the CT grey.
    const px = await page.locator('[data-view=axial] canvas').evaluate((el, [pu, pv]) => {
      const c = el as unknown as { getContext(k: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null };
      const d = c.getContext('2d')?.getImageData(pu, pv, 1, 1).data;
      return d ? [d[0], d[1], d[2]] : [];
    }, [u, v]);
    expect(px[2] - px[0], JSON.stringify(px)).toBeGreaterThan(40);
    await page.mouse.click(x, y);
    // Coronal and sagittal jump to the clicked voxel (their slice order follows +y and +x here).
    await expect.poll(() => page.locator('[data-view=coronal]').getAttribute('aria-label')).toMatch(new RegExp(`slice ${100 - j + 1} of 101`));
    await expect.poll(() => page.locator('[data-view=sagittal]').getAttribute('aria-label')).toMatch(new RegExp(`slice ${121 - i + 1} of 122`));
    expect(await axial.getAttribute('aria-label')).toMatch(/slice 57 of 112/);
    await page.waitForTimeout(300);
    await browser.screenshot('viewer-linked-cursor');
    // Shift+drag adjusts the window freely: 100 px right = +400 HU of width, 50 px down = +100 HU of level.
    // The view's W/L line (under its title) and the toolbar's readout follow the drag.
    const wl = page.locator('[data-view=axial] .wl');
    await expect.poll(() => wl.textContent()).toMatch(/W 2000 L 300/);
    await page.keyboard.down('Shift');
    await page.mouse.down();
    await page.mouse.move(x + 100, y + 50, { steps: 4 });
    await page.mouse.up();
    await page.keyboard.up('Shift');
    await page.mouse.move(x, y);
    await expect.poll(() => wl.textContent()).toMatch(/W 2400 L 400/);
    expect(await page.getByTestId('wl-window').inputValue()).toBe('2400');
    expect(await page.getByTestId('wl-level').inputValue()).toBe('400');
    await page.getByRole('radio', { name: 'Bone' }).click();
    // Outline instead of fill for the left hip in the slices: fewer blue pixels, but some left.
    const blue = () => page.locator('[data-view=axial] canvas').evaluate((el) => {
      const c = el as unknown as { width: number; height: number; getContext(k: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null };
      const d = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let q = 0; d && q < d.length; q += 4) if (d[q + 2] - d[q] > 40) n++;
      return n;
    });
    const filled = await blue();
    await page.getByRole('button', { name: 'Structures in 3D' }).click();
    await page.getByTestId('structures-3d').locator('[data-structure=hip_left]').getByRole('checkbox', { name: 'outline' }).check();
    await expect.poll(blue).toBeLessThan(filled * 0.8);
    expect(await blue()).toBeGreaterThan(10);
    await browser.screenshot('viewer-outline-left-hip');
    await page.getByTestId('structures-3d').locator('[data-structure=hip_left]').getByRole('checkbox', { name: 'outline' }).uncheck();
    await page.getByRole('button', { name: 'Structures in 3D' }).click();
    // The 3D view shows the cursor as a yellow sphere.
    const [yellow] = await page.evaluate((t) => (globalThis as unknown as Win).__osteonViewer?.count(t) ?? [], [[255, 235, 59]] as Rgb[]);
    expect(yellow.count).toBeGreaterThan(5);
  });

  it('logged no console errors', () => {
    expect(browser.problems).toEqual([]);
  });
});
