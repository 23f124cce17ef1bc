// The oneDNN addon ships with its libraries (native/dnnl/scripts/build.cjs copies libdnnl,
// libgomp and libOpenCL beside it; the addon's rpath is $ORIGIN). The package directory is walked
// by electron-builder's own node_modules walker (app-builder-lib NodeModuleCopyHelper, with the
// extensions it drops on Linux), copied to where electron.builder.yml's asarUnpack puts it
// (resources/app.asar.unpacked/node_modules/@osteon/dnnl-kernels), and loaded from there in a
// child process with LD_LIBRARY_PATH cleared; /proc/self/maps must show the bundled copies. Where
// the test may make a private mount namespace (unshare -m, as root), the system's libdnnl,
// libgomp and libOpenCL are hidden behind /dev/null too, and a copy without the bundled libdnnl
// must then fail to load (the hiding bites). `npm run dist` itself is not run (it downloads
// Electron).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/env.ts';

const require = createRequire(import.meta.url);
const pkgDir = realpathSync(join(repoRoot, 'native', 'dnnl'));
const release = join(pkgDir, 'build', 'Release');
const bundledLibs = ['libdnnl.so.2', 'libgomp.so.1', 'libOpenCL.so.1'];
const built = existsSync(join(release, 'osteon_dnnl.node'));
const bundled = built && bundledLibs.every((l) => existsSync(join(release, l)));
const why = !built ? 'addon not built (native/dnnl/scripts/build.cjs)' : !bundled ? 'addon built without bundled libraries (OSTEON_DNNL_BUNDLE=0?)' : '';

/** The files electron-builder packs from the addon's package, relative to it. */
async function packedFiles(): Promise<string[]> {
  const { FileMatcher, excludedExts } = require('app-builder-lib/out/fileMatcher.js') as { FileMatcher: new (...a: unknown[]) => unknown; excludedExts: string };
  const { NodeModuleCopyHelper } = require('app-builder-lib/out/util/NodeModuleCopyHelper.js') as {
    NodeModuleCopyHelper: new (m: unknown, p: unknown) => { collectNodeModules(dep: { dir: string; name: string }, exts: string[], dest: string): Promise<string[]> };
  };
  const dest = join('node_modules', '@osteon', 'dnnl-kernels');
  const matcher = new FileMatcher(pkgDir, dest, (s: string) => s, []);
  // The packager fields the walker reads: no onNodeModuleFile hook, default ignores on.
  const packager = { appInfo: { type: 'commonjs' }, config: {}, getWorkspaceRoot: async () => repoRoot };
  const copier = new NodeModuleCopyHelper(matcher, packager);
  // getNodeModuleExcludedExts (appFileCopier.js) for a Linux target.
  const exts = ['.o', '.obj', ...excludedExts.split(',').map((e) => `.${e}`), '.pdb', '.dll', '.exe'];
  const files = await copier.collectNodeModules({ dir: pkgDir, name: '@osteon/dnnl-kernels' }, exts, dest);
  return files.map((f) => relative(pkgDir, f));
}

const work = mkdtempSync(join(tmpdir(), 'osteon-packed-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function packedCopy(name: string, drop: string[] = []): Promise<string> {
  const dir = join(work, name, 'resources', 'app.asar.unpacked', 'node_modules', '@osteon', 'dnnl-kernels');
  for (const f of await packedFiles()) {
    if (drop.includes(f)) continue;
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    copyFileSync(join(pkgDir, f), join(dir, f));
  }
  return dir;
}

/** Loads the copy's index.cjs, runs one convolution, prints the mapped library paths. */
const probe = (dir: string) => `
const { addon, loadError } = require(${JSON.stringify(join(dir, 'index.cjs'))});
if (!addon) { console.log(JSON.stringify({ loadError })); process.exit(0); }
const g = new Int32Array(26); g.set([2, 1, 1, 1, 1, 4, 4, 1, 4, 4, 1, 1, 1, 1, 1, 1, 1, 1, 1]); // a 1×1 conv of a 4×4 image (conv.h ConvGeom)
const y = new Float32Array(16); addon.conv(0, g, new Float32Array(16).fill(2), new Float32Array([3]), y, null);
const maps = require('fs').readFileSync('/proc/self/maps', 'utf8').split('\\n').map((l) => l.slice(l.indexOf('/'))).filter((p) => /lib(dnnl|gomp|OpenCL)\\.so/.test(p));
console.log(JSON.stringify({ version: addon.version(), y0: y[0], maps: [...new Set(maps)] }));
`;

interface Probe { loadError?: string; version?: string; y0?: number; maps?: string[] }

function run(dir: string, hide: boolean): { status: number | null; out: Probe | null; stderr: string } {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' };
  const node = process.execPath;
  const system = bundledLibs.map((l) => spawnSync('sh', ['-c', `readlink -f /usr/lib/x86_64-linux-gnu/${l}`], { encoding: 'utf8' }).stdout.trim()).filter(Boolean);
  const r = hide
    ? spawnSync('unshare', ['-m', 'sh', '-c', `${system.map((s) => `mount --bind /dev/null '${s}'`).join(' && ')} && exec "$0" -e "$1"`, node, probe(dir)], { encoding: 'utf8', env })
    : spawnSync(node, ['-e', probe(dir)], { encoding: 'utf8', env });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return { status: r.status, out: line.startsWith('{') ? (JSON.parse(line) as Probe) : null, stderr: r.stderr };
}

/** Whether this process may make a private mount namespace and bind-mount in it. */
function canHide(): boolean {
  return spawnSync('unshare', ['-m', 'sh', '-c', 'mount --bind /dev/null /dev/null'], { stdio: 'ignore' }).status === 0;
}

describe('the packed oneDNN addon loads its bundled libraries', () => {
  it.skipIf(!bundled)(`electron-builder packs the addon with libdnnl, libgomp and libOpenCL beside it${why ? ` (${why})` : ''}`, async () => {
    const files = await packedFiles();
    for (const f of ['index.cjs', 'build/Release/osteon_dnnl.node', ...bundledLibs.map((l) => `build/Release/${l}`), 'build/Release/licenses/libdnnl2.copyright']) expect(files).toContain(f);
    expect(files.some((f) => f.endsWith('.cc') || f.includes('obj.target'))).toBe(false);
    const ld = spawnSync('objdump', ['-p', join(release, 'osteon_dnnl.node')], { encoding: 'utf8' });
    if (ld.status === 0) expect(ld.stdout).toMatch(/R(UN)?PATH\s+\$ORIGIN/);
  });

  it.skipIf(!bundled)('loads from the packed copy with LD_LIBRARY_PATH cleared and maps the bundled copies', async () => {
    const dir = await packedCopy('plain');
    const r = run(dir, false);
    expect(r.out?.loadError, r.stderr).toBeUndefined();
    expect(r.out?.y0).toBe(6);
    const release = join(dir, 'build', 'Release');
    for (const l of bundledLibs) expect(r.out?.maps).toContain(join(release, l));
    expect(r.out?.maps?.every((p) => p.startsWith(release))).toBe(true);
  });

  it.skipIf(!bundled || !canHide())('loads with the system libdnnl, libgomp and libOpenCL hidden; without its libdnnl copy it does not', async () => {
    const dir = await packedCopy('hidden');
    const r = run(dir, true);
    expect(r.status, r.stderr).toBe(0);
    expect(r.out?.loadError, r.stderr).toBeUndefined();
    expect(r.out?.y0).toBe(6);
    expect(r.out?.maps).toContain(join(dir, 'build', 'Release', 'libdnnl.so.2'));
    const without = await packedCopy('without', ['build/Release/libdnnl.so.2']);
    const bad = run(without, true);
    expect(bad.out?.loadError).toMatch(/libdnnl/);
  });
});
