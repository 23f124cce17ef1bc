/**
 * A project opened read-only in Chromium through the browser host, with the ML backend off
 * (OSTEON_BACKEND=none): the Projects dialog's "Open read-only" opens the phantom sample project,
 * the header shows a Read-only badge, Approve / Edit segmentation / Predict / Start training are
 * disabled and say why, and nothing in the project folder changed. Opened again for editing, the
 * Train form still says why it cannot start (review-only mode).
 * Screenshots: test-artifacts/e2e/read-only-*.png.
 */
import { readdirSync, statSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob } from '../../app/contract/index.ts';
import { startBrowserHost, type BrowserHost } from '../../app/services/browser-host.ts';
import { launchBrowser, type BrowserSession } from '../helpers/browser.ts';
import { hasChromium, repoRoot, skipNotice } from '../helpers/env.ts';

if (!hasChromium()) skipNotice('read-only e2e', '/usr/bin/chromium');

const phantom = join(repoRoot, 'resources', 'sample', 'phantom');

function listing(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, e.name), st = statSync(full);
      out.push(`${relative(root, full)} ${st.size} ${st.mtimeMs}`);
      if (e.isDirectory()) walk(full);
    }
  };
  walk(root);
  return out.sort();
}

describe.skipIf(!hasChromium())('a project opened read-only in Chromium', () => {
  let tmp: string;
  let host: BrowserHost;
  let browser: BrowserSession;
  let project: string;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'osteon-e2e-read-only-'));
    const rendererDir = join(tmp, 'renderer');
    await build({ configFile: join(repoRoot, 'renderer', 'vite.config.ts'), logLevel: 'warn', build: { outDir: rendererDir } });
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
    await c.call('project.create', { dir: project, name: 'Shared study' });
    await runJob(c, 'case.import', () => c.call('case.import', {
      ct: join(phantom, 'case-000', 'ct.nii.gz'), labels: join(phantom, 'case-000', 'labels.nii.gz'), schema: join(phantom, 'schema.json'), name: 'case-000',
    }));
    browser = await launchBrowser({ width: 1440, height: 900 });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await host?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('opens read-only from the Projects dialog, shows the badge and disables what would change the project', async () => {
    const { page } = browser;
    await page.goto(host.url);
    await page.getByText('Connected', { exact: true }).waitFor();
    expect(await page.getByTestId('read-only-badge').count()).toBe(0);
    const before = listing(project);

    await page.getByRole('button', { name: /^Project / }).click();
    await page.getByTestId('open-project-dir').fill(project);
    await page.getByTestId('open-read-only').check();
    await page.getByRole('button', { name: 'Open read-only', exact: true }).click();
    await page.getByTestId('read-only-badge').waitFor();
    expect(await page.getByTestId('read-only-badge').textContent()).toBe('Read-only');
    expect(await page.getByTestId('read-only-badge').getAttribute('title')).toMatch(/open read-only.*open it again without “Open read-only”/);

    await page.getByTestId('case-item').first().click();
    await page.getByTestId('review-panel').waitFor();
    const approve = page.getByTestId('case-approve');
    expect(await approve.isDisabled()).toBe(true);
    expect(await approve.getAttribute('title')).toMatch(/open read-only/);
    expect(await page.getByRole('button', { name: 'Rejected' }).isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: /Import study/ }).isDisabled()).toBe(true);
    await page.getByRole('tab', { name: 'Edit' }).click();
    const edit = page.getByTestId('edit-begin');
    expect(await edit.isDisabled()).toBe(true);
    expect(await page.getByTestId('edit-read-only').textContent()).toMatch(/open read-only/);
    await page.getByRole('button', { name: '▸ Batch prediction' }).click();
    expect(await page.getByTestId('predict-read-only').textContent()).toMatch(/open read-only/);
    await browser.screenshot('read-only-01-opened');

    await page.getByRole('tab', { name: 'Dashboards' }).click();
    await page.getByRole('button', { name: 'Start training' }).waitFor();
    expect(await page.getByRole('button', { name: 'Start training' }).isDisabled()).toBe(true);
    expect(await page.getByTestId('start-blockers').textContent()).toMatch(/open read-only/);
    await browser.screenshot('read-only-02-train');

    // Nothing in the folder changed (the host's own test checks bytes; this the browser session).
    expect(listing(project)).toEqual(before);

    // Opened for editing: no badge; Train still says why (review-only mode, no ML backend).
    await page.getByRole('button', { name: /^Project / }).click();
    await page.getByTestId('open-project-dir').fill(project);
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    await expect.poll(() => page.getByTestId('read-only-badge').count()).toBe(0);
    await page.getByRole('tab', { name: 'Dashboards' }).click();
    await expect.poll(() => page.getByTestId('start-blockers').textContent()).toMatch(/Review-only mode|OSTEON_BACKEND=none/);
    expect(await page.getByRole('button', { name: 'Start training' }).isDisabled()).toBe(true);
    await browser.screenshot('read-only-03-review-only-train');
    expect(browser.problems).toEqual([]);
  }, 300_000);
});
