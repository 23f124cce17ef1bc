// Resume in the app: a run whose host was killed (checkpoint on disk, no status.json) shows as
// interrupted with a Resume button; clicking it continues from the last checkpoint, shows the
// recorded epochs in the live charts and ends completed with every epoch in the history.
// The interrupted run is made for real: a 1-epoch run through the services, then its config
// raised to 3 epochs and its status.json removed, which is what a kill after epoch 1 of 3 leaves.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob } from '../../app/contract/index.ts';
import { startBrowserHost, type BrowserHost } from '../../app/services/browser-host.ts';
import { launchBrowser, type BrowserSession } from '../helpers/browser.ts';
import { hasChromium, repoRoot, skipNotice } from '../helpers/env.ts';

if (!hasChromium()) skipNotice('resume e2e', '/usr/bin/chromium');

describe.skipIf(!hasChromium())('resume an interrupted run in Chromium', () => {
  let tmp: string;
  let host: BrowserHost;
  let browser: BrowserSession;
  let runId = '';

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'osteon-e2e-resume-'));
    const rendererDir = join(tmp, 'renderer');
    await build({ configFile: join(repoRoot, 'renderer', 'vite.config.ts'), logLevel: 'warn', build: { outDir: rendererDir } });
    const ph = join(tmp, 'phantom');
    execFileSync(process.execPath, [join(repoRoot, 'bin', 'osteon.mjs'), 'phantom', '--out', ph, '--cases', '2', '--seed', '1', '--size', '24x24x12', '--spacing', '4']);
    host = await startBrowserHost({ port: 0, rendererDir, home: join(tmp, 'home') });
    const c = host.client;
    await c.call('project.create', { dir: join(tmp, 'project'), name: 'Resume' });
    for (const id of ['case-000', 'case-001']) {
      await runJob(c, 'case.import', () => c.call('case.import', { ct: join(ph, id, 'ct.nii.gz'), labels: join(ph, id, 'labels.nii.gz'), schema: join(ph, 'schema.json'), name: id }));
    }
    const r = await runJob(c, 'train', () => c.call('train.start', {
      caseIds: ['case-000', 'case-001'], valCaseIds: ['case-001'], valFraction: 0.5, head: 'joint', lossWeights: { a: 1, b: 1, c: 0 }, posWeight: 'auto',
      epochs: 1, stepsPerEpoch: 2, batchSize: 2, filters: [4, 8], spatialDims: 2, learningRate: 0.001, seed: 1,
    }));
    runId = (r as { runId: string }).runId;
    const runDir = join(tmp, 'project', 'runs', runId);
    const config = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8')) as { epochs: number };
    writeFileSync(join(runDir, 'config.json'), JSON.stringify({ ...config, epochs: 3 }));
    rmSync(join(runDir, 'status.json'));
    browser = await launchBrowser();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await host?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('shows the run as interrupted, resumes it and completes every epoch', async () => {
    const { page } = browser;
    await page.goto(host.url);
    await page.getByText('Connected', { exact: true }).waitFor();
    await page.getByRole('tab', { name: 'Dashboards' }).click();
    const resume = page.locator(`[data-resume="${runId}"]`);
    await resume.waitFor();
    expect(await page.locator(`[data-run="${runId}"]`).textContent()).toMatch(/1\/3.*interrupted/);
    await browser.screenshot('resume-01-interrupted');
    await resume.click();
    await page.getByTestId('live-run').waitFor();
    await page.getByTestId('live-done').waitFor({ timeout: 120_000 });
    expect(await page.getByTestId('live-done').textContent()).toMatch(/^completed/);
    await browser.screenshot('resume-02-done');
    const detail = await host.client.call('run.get', { runId });
    expect(detail.summary.status).toBe('completed');
    expect(detail.history.map((h) => h.epoch)).toEqual([1, 2, 3]);
    expect(browser.problems).toEqual([]);
  }, 180_000);
});
