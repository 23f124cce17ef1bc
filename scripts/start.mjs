#!/usr/bin/env node
// `npm start`: opens the Osteon workstation.
// - With the Electron runtime installed: builds (if out/ is missing) and launches the desktop app.
// - Without it (an offline install, `ELECTRON_SKIP_BINARY_DOWNLOAD`, a headless server): says so
//   and starts the browser host instead (`osteon serve`) on a project made from the bundled
//   sample study, printing the URL to open. Extra arguments go to `osteon serve` (e.g. --port 8080).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

/** The Electron binary, or null when the package is there without its runtime. */
function electronBinary() {
  try {
    const p = require('electron'); // the path of the binary; throws when it was never downloaded
    return typeof p === 'string' && existsSync(p) ? p : null;
  } catch {
    return null;
  }
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

/** Forwards Ctrl-C / SIGTERM to the child and exits with its code. */
function supervise(child) {
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
}

const electron = electronBinary();
if (electron) {
  if (!existsSync(join(root, 'out', 'main', 'index.js')) || !existsSync(join(root, 'out', 'preload', 'preload.cjs'))) {
    run(npx, ['electron-vite', 'build']);
  }
  supervise(spawn(electron, [root, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' }));
} else {
  console.log('Electron runtime not installed here; starting the browser host instead.');
  if (!existsSync(join(root, 'out', 'renderer', 'index.html'))) {
    console.log('Building the renderer (out/renderer)…');
    run(npx, ['vite', 'build', '--config', join('renderer', 'vite.config.ts'), '--logLevel', 'warn']);
  }
  const home = process.env.OSTEON_HOME || join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'osteon');
  const project = join(home, 'sample-project');
  supervise(spawn(process.execPath, [join(root, 'bin', 'osteon.mjs'), 'serve', '--project', project, '--sample', ...process.argv.slice(2)], {
    cwd: root, stdio: 'inherit',
  }));
}
