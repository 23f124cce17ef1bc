#!/usr/bin/env node
// Installs Osteon's dependencies. Where the Electron binary cannot be downloaded (an offline or
// locked-down machine), it retries without it: Osteon then runs as a local browser host.
import { spawnSync } from 'node:child_process';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const run = (env) => spawnSync(npm, ['ci', '--no-audit', '--no-fund'], { stdio: 'inherit', env: { ...process.env, ...env } }).status;

if (run({}) !== 0) {
  console.error('\nsetup: `npm ci` failed (most often: the Electron binary could not be downloaded).');
  console.error('setup: retrying without the Electron binary; `npm start` will open the browser host instead.\n');
  const rc = run({ ELECTRON_SKIP_BINARY_DOWNLOAD: '1' });
  process.exit(rc ?? 1);
}
