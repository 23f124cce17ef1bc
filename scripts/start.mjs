#!/usr/bin/env node
// `npm start`: opens the Osteon workstation.
// - With the Electron runtime installed: builds (if out/ is missing) and launches the desktop app.
// - Without it (an offline install, `ELECTRON_SKIP_BINARY_DOWNLOAD`, a headless server): says so
//   and starts the browser host instead (`osteon serve`) on a project made from the bundled
//   sample study, printing the URL to open. Extra arguments go to `osteon serve` (e.g. --port 8080).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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

/**
 * Forwards Ctrl-C / SIGTERM / SIGHUP to the child and exits with its code. `npm start` runs us
 * under `sh -c`, which npm stops without the signal reaching us: when we are re-parented (our
 * parent went away), we stop the child too, so no server is left behind. The browser host also
 * watches us (OSTEON_EXIT_WITH_PARENT) for the case where we are killed outright.
 */
function supervise(child) {
  const stop = (sig) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => stop(sig));
  // Our parent, and (Linux) its parent: npm's `sh -c` may outlive npm, re-parented itself.
  const parentOf = (pid) => {
    try {
      return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]);
    } catch {
      return null;
    }
  };
  const parent = process.ppid, grandparent = parentOf(parent);
  setInterval(() => {
    if (process.ppid !== parent || (grandparent !== null && parentOf(parent) !== grandparent)) stop('SIGTERM');
  }, 500).unref();
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
    cwd: root, stdio: 'inherit', env: { ...process.env, OSTEON_EXIT_WITH_PARENT: '1' },
  }));
}
