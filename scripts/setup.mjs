#!/usr/bin/env node
// Installs Osteon's dependencies. Where the Electron binary cannot be downloaded (an offline or
// locked-down machine), it retries without it: Osteon then runs as a local browser host.
// npm's error output of the first try is kept back: when it is the expected Electron download
// failure, one line says so instead of npm's stack trace; any other failure is shown in full.
import { spawnSync } from 'node:child_process';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const args = ['ci', '--no-audit', '--no-fund'];

const first = spawnSync(npm, args, { stdio: ['inherit', 'inherit', 'pipe'], encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
if (first.status === 0) {
  process.stderr.write(first.stderr ?? '');
  process.exit(0);
}
const err = first.stderr ?? '';
if (!/electron/i.test(err)) {
  process.stderr.write(err);
  console.error('\nsetup: `npm ci` failed (see above).');
  process.exit(first.status ?? 1);
}
const cause = err.split('\n').find((l) => /(ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|HTTPError|RequestError|getaddrinfo|\b4\d\d\b)/.test(l));
console.log('setup: the Electron binary could not be downloaded' + (cause ? ` (${cause.replace(/^npm (error|ERR!)\s*/, '').trim()})` : '') + '.');
console.log('setup: installing without it; `npm start` opens the workstation as a local browser host instead.\n');
const rc = spawnSync(npm, args, { stdio: 'inherit', env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' } }).status;
process.exit(rc ?? 1);
