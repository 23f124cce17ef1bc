// The backend ladder (app/learning/backend.ts) and `osteon doctor`.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { explainImportFailure, getBackendReport, initBackend } from '../../app/learning/backend.ts';
import { wasmThreadsStatus } from '../../app/learning/kernels/parallel/pool.ts';
import { runCli } from '../helpers/cli.ts';

function installed(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

describe('initBackend', () => {
  it.skipIf(installed('@tensorflow/tfjs-node'))('a forced backend that is absent fails with its reason, and may be retried', async () => {
    await expect(initBackend({ prefer: 'tfjs-node' })).rejects.toMatchObject({ code: 'backend', attempts: [{ candidate: 'tfjs-node', ok: false, reason: 'package not installed' }] });
    expect(getBackendReport()).toBeNull();
  });

  it('activates the preferred backend once and returns the same report afterwards', async () => {
    expect(getBackendReport()).toBeNull();
    const r = await initBackend({ prefer: 'wasm' });
    // threads: the calling thread plus the helper threads that split convolutions (kernels/parallel).
    expect(r).toMatchObject({ name: 'wasm', package: '@tensorflow/tfjs-backend-wasm', preference: 'wasm', threads: wasmThreadsStatus().threads });
    expect(r.attempts).toEqual([{ candidate: 'wasm', ok: true, note: expect.stringMatching(/^\d+ thread\(s\) for convolutions \(OSTEON_WASM_THREADS\)/) }]);
    expect(r.kernels).toEqual(expect.arrayContaining(['gradient:Conv3DBackpropInputV2', 'wasm:Conv2DBackpropFilter', 'wasm:Conv2DBackpropInput', 'wasm:Conv3D']));
    expect(await initBackend({ prefer: 'cpu' })).toBe(r);
    expect(getBackendReport()).toBe(r);
  });
});

describe('explainImportFailure', () => {
  const pkg = '@tensorflow/tfjs-node-gpu';
  const table: Array<[string, unknown, RegExp]> = [
    ['absent package (ESM)', Object.assign(new Error(`Cannot find package '${pkg}' imported from /x.ts`), { code: 'ERR_MODULE_NOT_FOUND' }), /^package not installed$/],
    ['absent package (CJS)', Object.assign(new Error(`Cannot find module '${pkg}'`), { code: 'MODULE_NOT_FOUND' }), /^package not installed$/],
    ['missing CUDA runtime', new Error('libcudart.so.11.0: cannot open shared object file: No such file or directory'), /^CUDA libraries not found \(libcudart\.so\.11\.0\).*needs CUDA 11\.2 \(libcudart\.so\.11\.0\) and cuDNN 8\.1 \(libcudnn\.so\.8\)/],
    ['missing cuDNN', new Error('Error: libcudnn.so.8: cannot open shared object file'), /^CUDA libraries not found \(libcudnn\.so\.8\)/],
    ['other native library', new Error('libtensorflow.so.2: cannot open shared object file'), /^native library failed to load \(libtensorflow\.so\.2\)/],
    ['a dependency missing, not the package', Object.assign(new Error("Cannot find module 'node-pre-gyp'"), { code: 'MODULE_NOT_FOUND' }), /^Cannot find module 'node-pre-gyp'$/],
  ];
  for (const [name, err, want] of table) it(name, () => expect(explainImportFailure(pkg, err)).toMatch(want));
});

describe('osteon doctor', () => {
  it('reports the ladder, the kernels and a passing self-test (exit 0)', () => {
    const r = runCli(['doctor', '--json'], { env: { OSTEON_BACKEND: '' } });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { ok: boolean; backend: { name: string; attempts: Array<{ candidate: string; ok: boolean; reason?: string }>; kernels: string[] }; selfTest: Array<{ pass: boolean }> };
    expect(out.ok).toBe(true);
    expect(['tensorflow', 'wasm']).toContain(out.backend.name);
    const order = ['tfjs-node-gpu', 'webgpu', 'tfjs-node', 'wasm+dnnl', 'wasm', 'cpu'];
    expect(out.backend.attempts.map((a) => a.candidate)).toEqual(order.slice(0, out.backend.attempts.length));
    expect(out.backend.attempts.at(-1)?.ok).toBe(true);
    for (const a of out.backend.attempts.slice(0, -1)) expect(a.reason).toBeTruthy();
    if (!installed('@tensorflow/tfjs-node-gpu')) expect(out.backend.attempts[0].reason).toBe('package not installed');
    expect(out.selfTest.length).toBeGreaterThan(0);
    expect(out.selfTest.every((c) => c.pass)).toBe(true);
  });

  it('OSTEON_BACKEND=cpu forces the cpu backend', () => {
    const r = runCli(['doctor', '--skip-selftest'], { env: { OSTEON_BACKEND: 'cpu' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^backend: cpu /m);
    expect(r.stdout).toContain('gradient:Conv3DBackpropInputV2');
  });

  it.skipIf(installed('@tensorflow/tfjs-node-gpu'))('a forced backend that cannot load fails with its reason (exit 1)', () => {
    const r = runCli(['doctor', '--skip-selftest', '--json'], { env: { OSTEON_BACKEND: 'tfjs-node-gpu' } });
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as { ok: boolean; backend: null; attempts: Array<{ candidate: string; reason: string }> };
    expect(out).toMatchObject({ ok: false, backend: null, attempts: [{ candidate: 'tfjs-node-gpu', ok: false, reason: 'package not installed' }] });
  });

  it('an unknown OSTEON_BACKEND is a usage error (exit 2)', () => {
    const r = runCli(['doctor'], { env: { OSTEON_BACKEND: 'tpu' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('OSTEON_BACKEND=tpu');
  });
});

describe('osteon doctor and the webgpu rung', () => {
  it('shows the WebGPU adapter or why there is none, and auto passes a software adapter over', () => {
    const r = runCli(['doctor', '--skip-selftest', '--json'], { env: { OSTEON_BACKEND: '' } });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { webgpu: { adapter: { vendor: string; architecture: string; software: boolean; limits: Record<string, number> } | null; reason?: string }; backend: { attempts: Array<{ candidate: string; ok: boolean; reason?: string }> } };
    const rung = out.backend.attempts.find((a) => a.candidate === 'webgpu');
    if (!out.webgpu.adapter) {
      expect(out.webgpu.reason).toMatch(/no WebGPU adapter/);
      expect(rung?.reason).toMatch(/no WebGPU adapter/);
      return;
    }
    for (const k of ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxStorageBuffersPerShaderStage']) expect(out.webgpu.adapter.limits[k]).toBeGreaterThan(0);
    if (out.webgpu.adapter.software) expect(rung).toMatchObject({ ok: false, reason: expect.stringMatching(/software rasterizer.*force with --backend webgpu/) });
    const text = runCli(['doctor', '--skip-selftest'], { env: { OSTEON_BACKEND: '' } }).stdout;
    expect(text).toMatch(/^webgpu adapter: vendor \S+, architecture \S+, device /m);
    expect(text).toMatch(/^ {2}limits: maxStorageBufferBindingSize \d+ MiB, maxBufferSize \d+ MiB, maxStorageBuffersPerShaderStage \d+/m);
  });

  it('--require-webgpu fails (exit 1) exactly when there is no adapter', () => {
    const r = runCli(['doctor', '--skip-selftest', '--require-webgpu', '--json'], { env: { OSTEON_BACKEND: 'cpu' } });
    const out = JSON.parse(r.stdout) as { ok: boolean; webgpu: { adapter: unknown } };
    expect(r.code).toBe(out.webgpu.adapter ? 0 : 1);
    expect(out.ok).toBe(out.webgpu.adapter !== null);
  });
});

describe('without a Vulkan driver', () => {
  it.skipIf(process.platform !== 'linux')('doctor says why there is no adapter, and --require-webgpu exits 1', () => {
    // An ICD list that names no driver: the Vulkan loader finds none, so Dawn has no adapter.
    const r = runCli(['doctor', '--skip-selftest', '--require-webgpu'], { env: { OSTEON_BACKEND: '', VK_ICD_FILENAMES: '/nonexistent/icd.json' } });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ {2}no {3}webgpu {8}Dawn found no WebGPU adapter \(a Vulkan driver is needed/m);
    expect(r.stdout).toMatch(/^webgpu adapter: none/m);
  });
});
