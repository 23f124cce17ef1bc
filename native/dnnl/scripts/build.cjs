'use strict';
// Install script of @osteon/dnnl-kernels: builds the addon with node-gyp when it can, and
// otherwise says why and succeeds anyway. It ALWAYS exits 0, so `npm ci` never fails because of
// this optional package; the reason lands in build/status.txt, where index.cjs (and so
// `osteon doctor`) reads it.
//
// Needs: Linux x64, a C++ compiler and make, oneDNN headers and library (Debian: libdnnl-dev),
// Node's headers locally (Debian nodejs: /usr/include/node; nvm and official tarballs:
// <prefix>/include/node). It never downloads anything (node-gyp gets --nodedir).
// OSTEON_DNNL_SKIP=1 skips the build (to test the fallback path). The libraries it links
// (libdnnl, libgomp, libOpenCL) are copied beside the addon, which finds them there first
// (rpath $ORIGIN), so a packaged app runs without libdnnl on the user's system (see bundle()).
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const buildDir = path.join(root, 'build');
const statusFile = path.join(buildDir, 'status.txt');

function finish(status, detail) {
  try {
    fs.mkdirSync(buildDir, { recursive: true });
    fs.writeFileSync(statusFile, `${status}\n`);
    // A skipped or failed build must not leave an older addon behind to be loaded.
    if (status !== 'built') fs.rmSync(path.join(buildDir, 'Release', 'osteon_dnnl.node'), { force: true });
  } catch {
    // a read-only install: index.cjs then reports "not built" without the reason
  }
  const line = status === 'built' ? '@osteon/dnnl-kernels: built the oneDNN kernels' : `@osteon/dnnl-kernels: skipped (${status}); Osteon will use its pure wasm kernels`;
  console.log(line);
  if (detail) console.log(detail);
  process.exit(0);
}

function has(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.status === 0;
}

function dnnlHeaders() {
  const dirs = [process.env.DNNLROOT && path.join(process.env.DNNLROOT, 'include'), '/usr/include', '/usr/local/include'].filter(Boolean);
  return dirs.find((d) => fs.existsSync(path.join(d, 'oneapi', 'dnnl', 'dnnl.hpp'))) ?? null;
}

/** A --nodedir holding include/node/node_api.h for this Node, so node-gyp downloads nothing. */
function nodeDir() {
  const candidates = [path.resolve(path.dirname(process.execPath), '..'), '/usr', '/usr/local'];
  return candidates.find((d) => fs.existsSync(path.join(d, 'include', 'node', 'node_api.h'))) ?? null;
}

function nodeGyp() {
  const tries = [];
  try {
    tries.push(require.resolve('node-gyp/bin/node-gyp.js', { paths: [root, process.cwd(), process.env.INIT_CWD || root] }));
  } catch {
    // not installed as a package: try npm's own copy
  }
  if (process.env.npm_execpath) tries.push(path.join(path.dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  tries.push(path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return tries.find((p) => fs.existsSync(p)) ?? null;
}

function main() {
  if (process.env.OSTEON_DNNL_SKIP === '1') finish('OSTEON_DNNL_SKIP=1 at install');
  if (process.platform !== 'linux' || process.arch !== 'x64') finish(`unsupported platform ${process.platform}-${process.arch} (Linux x64 only)`);
  if (!dnnlHeaders()) finish('libdnnl-dev headers not found (oneapi/dnnl/dnnl.hpp); install libdnnl-dev and reinstall');
  if (!has('c++', ['--version']) && !has('g++', ['--version'])) finish('no C++ compiler found (c++/g++)');
  if (!has('make', ['--version'])) finish('make not found');
  const nodedir = nodeDir();
  if (!nodedir) finish(`Node headers not found (include/node/node_api.h beside ${process.execPath})`);
  const gyp = nodeGyp();
  if (!gyp) finish('node-gyp not found');
  const r = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`], { cwd: root, encoding: 'utf8', timeout: 300_000 });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0) {
    const err = out.split('\n').find((l) => /error|cannot find|not found/i.test(l) && !/^gyp (info|ERR! (stack|System|command|cwd|node -v|node-gyp -v))/.test(l));
    finish(`build failed: ${(err ?? r.error?.message ?? `node-gyp exited ${r.status}`).trim().slice(0, 300)}`, out.split('\n').slice(-15).join('\n'));
  }
  const addonFile = path.join(buildDir, 'Release', 'osteon_dnnl.node');
  const bundled = bundle(addonFile);
  // Loading it checks the run-time side too (libdnnl.so.2, libgomp), with LD_LIBRARY_PATH
  // cleared, and reports which libdnnl the process mapped (the bundled copy, when there is one).
  const probe = `require(${JSON.stringify(addonFile)}).version(); const m = require('fs').readFileSync('/proc/self/maps', 'utf8').split('\\n').find((l) => /libdnnl\\.so/.test(l)); console.log(m ? m.slice(m.indexOf('/')) : '')`;
  const env = { ...process.env };
  delete env.LD_LIBRARY_PATH;
  const check = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8', env });
  if (check.status !== 0) {
    const msg = (check.stderr || '').split('\n').find((l) => /Error/.test(l)) ?? 'cannot load';
    fs.rmSync(addonFile, { force: true });
    finish(`built but does not load: ${msg.trim().slice(0, 300)}`);
  }
  const mapped = check.stdout.trim();
  if (bundled.length > 0 && path.dirname(mapped) !== path.dirname(addonFile)) {
    fs.rmSync(addonFile, { force: true });
    finish(`built, but the bundled libdnnl is not the one loaded (${mapped || 'none mapped'})`);
  }
  finish('built', bundled.length > 0 ? `bundled beside the addon: ${bundled.join(', ')}` : 'linked against the system oneDNN (not bundled)');
}

// i18c: the shared libraries the addon needs that a user's machine may lack, copied beside it.
// The addon carries DT_RPATH $ORIGIN (binding.gyp), which the dynamic linker searches before the
// system directories, for the addon's own dependencies and (DT_RPATH, unlike DT_RUNPATH, being
// inherited) for libdnnl's; libOpenCL is also linked directly so it loads from here either way.
// Debian ships no static libdnnl, hence copies. OSTEON_DNNL_BUNDLE=0 keeps the system ones.
const BUNDLE = ['libdnnl.so.2', 'libgomp.so.1', 'libOpenCL.so.1'];

function bundle(addonFile) {
  if (process.env.OSTEON_DNNL_BUNDLE === '0') return [];
  const env = { ...process.env };
  delete env.LD_LIBRARY_PATH;
  const ldd = spawnSync('ldd', [addonFile], { encoding: 'utf8', env });
  if (ldd.status !== 0) return [];
  const dir = path.dirname(addonFile);
  const licenses = path.join(dir, 'licenses');
  const out = [];
  for (const soname of BUNDLE) {
    const line = ldd.stdout.split('\n').find((l) => l.trim().startsWith(`${soname} => /`));
    if (!line) continue;
    const from = fs.realpathSync(line.split('=>')[1].trim().split(' ')[0]);
    if (path.dirname(from) === dir) continue;
    fs.copyFileSync(from, path.join(dir, soname));
    out.push(`${soname} (${from})`);
    // Its Debian copyright file goes with it (oneDNN Apache-2.0, libgomp GPL-3 with the GCC
    // Runtime Library Exception, ocl-icd BSD-2).
    const owner = spawnSync('dpkg', ['-S', from], { encoding: 'utf8' });
    const pkg = owner.status === 0 ? owner.stdout.split(':')[0].trim() : null;
    const copyright = pkg && path.join('/usr/share/doc', pkg, 'copyright');
    if (copyright && fs.existsSync(copyright)) {
      fs.mkdirSync(licenses, { recursive: true });
      fs.copyFileSync(copyright, path.join(licenses, `${pkg}.copyright`));
    }
  }
  return out;
}

try {
  main();
} catch (e) {
  finish(`build script error: ${e && e.message ? e.message : String(e)}`);
}
