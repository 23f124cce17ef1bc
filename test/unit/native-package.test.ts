// The optional native package's promises: its install script never fails (it skips with a reason
// the loader then reports), the backend ladder has a 'wasm+dnnl' rung that OSTEON_NATIVE=0 turns
// off with that reason, and `osteon doctor` shows it.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadNative } from '../../app/learning/native/addon.ts';
import { runCli } from '../helpers/cli.ts';
import { repoRoot } from '../helpers/env.ts';

interface Doctor { backend: { name: string; package: string; attempts: Array<{ candidate: string; ok: boolean; reason?: string; note?: string }>; kernels: string[] } }

const native = loadNative();
const tmp = mkdtempSync(join(tmpdir(), 'osteon-dnnl-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A copy of native/dnnl without its build, so the tests never touch the real addon. */
function copyPackage(name: string): string {
  const dir = join(tmp, name);
  cpSync(join(repoRoot, 'native', 'dnnl'), dir, { recursive: true, filter: (src) => !src.includes(`${join('native', 'dnnl', 'build')}`) });
  return dir;
}

describe('native/dnnl install script', () => {
  it('OSTEON_DNNL_SKIP=1: exits 0, says why, and the loader returns null with that reason', () => {
    const dir = copyPackage('skip');
    const r = spawnSync(process.execPath, ['scripts/build.cjs'], { cwd: dir, encoding: 'utf8', env: { ...process.env, OSTEON_DNNL_SKIP: '1' } });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('skipped (OSTEON_DNNL_SKIP=1 at install)');
    expect(readFileSync(join(dir, 'build', 'status.txt'), 'utf8').trim()).toBe('OSTEON_DNNL_SKIP=1 at install');
    const mod = createRequire(import.meta.url)(join(dir, 'index.cjs')) as { addon: unknown; loadError: string };
    expect(mod.addon).toBeNull();
    expect(mod.loadError).toBe('addon not built: OSTEON_DNNL_SKIP=1 at install');
  });

  it('a failing compiler: exits 0 with "build failed: ..."', () => {
    const dir = copyPackage('fail');
    const r = spawnSync(process.execPath, ['scripts/build.cjs'], { cwd: dir, encoding: 'utf8', env: { ...process.env, CXX: '/bin/false', CC: '/bin/false' } });
    expect(r.status).toBe(0);
    expect(readFileSync(join(dir, 'build', 'status.txt'), 'utf8')).toMatch(/^(build failed|libdnnl-dev headers not found|no C\+\+ compiler|make not found|Node headers not found|node-gyp not found)/);
  });
});

describe('backend ladder rung wasm+dnnl', () => {
  it('OSTEON_NATIVE=0: doctor lists the rung with that reason and runs on pure wasm', () => {
    const r = runCli(['doctor', '--skip-selftest', '--json'], { env: { OSTEON_BACKEND: '', OSTEON_NATIVE: '0' } });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Doctor;
    expect(out.backend.attempts).toContainEqual({ candidate: 'wasm+dnnl', ok: false, reason: 'OSTEON_NATIVE=0' });
    expect(out.backend.package).toBe('@tensorflow/tfjs-backend-wasm');
    expect(out.backend.kernels.some((k) => k.startsWith('wasm+dnnl:'))).toBe(false);
  });

  it.skipIf(!native.addon)('with the addon built: doctor runs on wasm+dnnl and lists its kernels', () => {
    const r = runCli(['doctor', '--skip-selftest', '--json'], { env: { OSTEON_BACKEND: '', OSTEON_THREADS: '1' } });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Doctor;
    const rung = out.backend.attempts.at(-1);
    expect(rung).toMatchObject({ candidate: 'wasm+dnnl', ok: true });
    expect(rung?.note).toMatch(/oneDNN 2\.\d+\.\d+.*1 OpenMP thread/);
    expect(out.backend.kernels).toEqual(expect.arrayContaining(['wasm+dnnl:Conv2D', 'wasm+dnnl:FusedConv2D', 'wasm+dnnl:Conv3DBackpropFilterV2', 'wasm+dnnl:MaxPoolGrad']));
  });
});
