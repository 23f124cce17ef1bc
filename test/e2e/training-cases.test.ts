/**
 * The training form follows the chosen cases (issue: pos_weight done right), in Debian's Chromium
 * against the real browser host. Three phantom cases of one schema and one case of another are
 * imported; on the Dashboards tab a user picks two phantom cases, sees their structures and their
 * suggested pos_weight (the numbers train.plan gives for exactly those cases), trains 2 epochs,
 * finds the run's own pos_weight named in the threshold view, and ticks the other-schema case:
 * the form says why it cannot join instead of failing a run. Screenshots: test-artifacts/e2e/cases-*.png.
 */
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

if (!hasChromium()) skipNotice('training-cases e2e', '/usr/bin/chromium');

describe.skipIf(!hasChromium())('the training form on the chosen cases, in Chromium', () => {
  let tmp: string;
  let host: BrowserHost;
  let browser: BrowserSession;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'osteon-e2e-cases-'));
    const rendererDir = join(tmp, 'renderer');
    await build({ configFile: join(repoRoot, 'renderer', 'vite.config.ts'), logLevel: 'warn', build: { outDir: rendererDir } });
    const ph = join(tmp, 'phantom');
    execFileSync(process.execPath, [join(repoRoot, 'bin', 'osteon.mjs'), 'phantom', '--out', ph, '--cases', '4', '--seed', '3', '--size', '32x32x16', '--spacing', '4']);
    // Another schema: the same label values under other structure ids (a "ring" with two halves).
    const other = JSON.parse(readFileSync(join(ph, 'schema.json'), 'utf8')) as { name: string; structures: Array<{ id: string; name: string; role: string; source: { values: number[] } }> };
    other.name = 'ring';
    other.structures = [
      { ...other.structures[0], id: 'ring', name: 'Ring' },
      { ...other.structures[1], id: 'half_a', name: 'Half A', source: { ...other.structures[1].source, values: [1, 2] } },
      { ...other.structures[3], id: 'half_b', name: 'Half B' },
    ];
    writeFileSync(join(tmp, 'ring.json'), JSON.stringify(other));
    host = await startBrowserHost({ port: 0, rendererDir, home: join(tmp, 'home') });
    const c = host.client;
    await c.call('project.create', { dir: join(tmp, 'project'), name: 'Chosen cases' });
    for (const [id, schema] of [['case-000', join(ph, 'schema.json')], ['case-001', join(ph, 'schema.json')], ['case-002', join(ph, 'schema.json')], ['case-003', join(tmp, 'ring.json')]]) {
      await runJob(c, 'case.import', () => c.call('case.import', { ct: join(ph, id, 'ct.nii.gz'), labels: join(ph, id, 'labels.nii.gz'), schema, name: id }));
    }
    browser = await launchBrowser();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await host?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('shows the chosen cases\' structures and pos_weight, trains, names the run\'s weights, and refuses another schema with a reason', async () => {
    const { page } = browser;
    const c = host.client;
    const caseId = async (name: string) => (await c.call('case.list')).cases.find((x) => x.name === name)!.id;
    const [a, b, third, ring] = [await caseId('case-000'), await caseId('case-001'), await caseId('case-002'), await caseId('case-003')];
    await page.goto(host.url);
    await page.getByText('Connected', { exact: true }).waitFor();
    await page.getByRole('tab', { name: 'Dashboards' }).click();
    await page.getByTestId('head-recommendation').waitFor();

    // By default the cases of the first schema are chosen; the other schema's case says why it is not.
    expect(await page.getByLabel('use case-003').isChecked()).toBe(false);
    expect(await page.getByTestId(`case-reason-${ring}`).textContent()).toMatch(/schema "ring" \(ring, half_a, half_b\) differs/);

    // Two phantom cases: untick the third; the form asks for the plan of exactly these two.
    await page.getByLabel('use case-002').uncheck();
    const plan = await c.call('train.plan', { caseIds: [a, b] });
    expect(plan.structures.map((s) => s.id)).toEqual(['bone', 'left', 'centre', 'right']);
    const all = await c.call('train.plan', { caseIds: [a, b, third] });
    expect(all.posWeight).not.toEqual(plan.posWeight); // the third case changes the numbers
    for (const [k, s] of plan.structures.entries()) {
      await expect.poll(() => page.getByTestId(`suggested-pw-${s.id}`).textContent(), { timeout: 10_000 }).toContain(`suggested ${plan.posWeight[k]}`);
    }
    expect(await page.getByTestId('pos-weight-explanation').textContent()).toContain('chosen cases (2)');
    await browser.screenshot('cases-01-form');

    // Start is enabled, and says why when it is not.
    await page.getByLabel('Epochs').fill('0');
    expect(await page.getByTestId('start-blockers').textContent()).toMatch(/epochs: a whole number/);
    expect(await page.getByRole('button', { name: 'Start training' }).isDisabled()).toBe(true);
    await page.getByLabel('Epochs').fill('2');
    await page.getByLabel('Steps / epoch').fill('3');
    await page.getByLabel('Batch').fill('2');
    await page.getByRole('button', { name: 'tiny' }).click();
    expect(await page.getByTestId('start-blockers').count()).toBe(0);
    await page.getByRole('radio', { name: /Sigmoid/ }).check();
    await page.getByRole('button', { name: 'Start training' }).click();
    await page.getByTestId('live-done').waitFor({ timeout: 180_000 });
    expect(await page.getByTestId('live-done').textContent()).toMatch(/^completed/);
    await page.getByTestId('volume-table').waitFor();
    await browser.screenshot('cases-02-live');

    // The threshold view names this run's own pos_weight (from its config), and its calibrated thresholds.
    const runId = (await c.call('run.list')).runs[0].id;
    const detail = await c.call('run.get', { runId });
    expect(detail.summary.posWeight).toEqual(plan.posWeight.map((w) => Number(w!.toPrecision(3))));
    await page.locator(`[data-run="${runId}"]`).click();
    await page.getByRole('tab', { name: 'Thresholds' }).click();
    await page.getByRole('button', { name: 'Compute curves' }).click();
    await page.getByTestId('run-pos-weight').first().waitFor({ timeout: 60_000 });
    const named = await page.getByTestId('run-pos-weight').allTextContents();
    expect(named).toEqual(detail.summary.posWeight!.map((w) => `trained with pos_weight ${w}`));
    expect(await page.getByTestId('calibrated-threshold').count()).toBe(4);
    await browser.screenshot('cases-03-thresholds');

    // Ticking the other schema's case: a reason, not a failed run.
    await page.getByRole('tab', { name: 'New run' }).click();
    await page.getByLabel('use case-003').click();
    expect(await page.getByTestId('case-refused').textContent()).toMatch(/Not added — case-003: schema "ring"/);
    expect(await page.getByLabel('use case-003').isChecked()).toBe(false);
    expect(await page.locator('.toast, [role=status]').filter({ hasText: /failed|internal/i }).count()).toBe(0);
    await browser.screenshot('cases-04-refused');
    expect(browser.problems).toEqual([]);
  }, 300_000);
});
