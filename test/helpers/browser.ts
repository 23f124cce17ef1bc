/**
 * Debian's Chromium driven by playwright-core, for the renderer's e2e tests. Never downloads a
 * browser (`npx playwright install` is not used anywhere): without /usr/bin/chromium the tests
 * skip with a visible notice. Flags as measured in the renderer notes: headless, SwiftShader
 * WebGL2 through ANGLE, and nothing that talks to the network.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
import { repoRoot } from './env.ts';

export const chromiumPath = '/usr/bin/chromium';

export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-gl=angle',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
];

/** Where screenshots go (gitignored); a person looks at them after a run. */
export const artifactsDir = join(repoRoot, 'test-artifacts', 'e2e');

export interface BrowserSession {
  context: BrowserContext;
  page: Page;
  /** Console errors, page errors and failed requests seen so far. */
  problems: string[];
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export async function launchBrowser(opts: { width?: number; height?: number } = {}): Promise<BrowserSession> {
  const profile = mkdtempSync(join(tmpdir(), 'osteon-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: chromiumArgs,
    viewport: { width: opts.width ?? 1440, height: opts.height ?? 900 },
    offline: false,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  const onConsole = (m: ConsoleMessage) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  };
  page.on('console', onConsole);
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  mkdirSync(artifactsDir, { recursive: true });
  return {
    context,
    page,
    problems,
    async screenshot(name) {
      const path = join(artifactsDir, `${name}.png`);
      // On a busy 2-core machine the first capture occasionally fails ("Unable to capture
      // screenshot"); a second try after a frame has been painted succeeds.
      for (let attempt = 1; ; attempt++) {
        try {
          writeFileSync(path, await page.screenshot({ fullPage: false }));
          return path;
        } catch (e) {
          if (attempt >= 3) throw e;
          await page.waitForTimeout(250);
        }
      }
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
