#!/usr/bin/env node
// `npm run gpu-bundle [-- --out DIR]`: a self-contained GPU check for a Linux x86-64 machine with
// a GPU and no package registry (docs/gpu.md). Writes DIR (default out/gpu-bundle):
//   gpu-check.sh      unpacks the payload to a temp folder and runs `gpu-check` (one table)
//   payload.tar.gz    node (this Node's binary), osteon-gpu.mjs (the CLI bundled by esbuild),
//                     node_modules/webgpu (index.js + dist/linux-x64/dawn.node), unet_ref.py
//   README.txt
// and fails when DIR is 60 MiB or more.
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const out = resolve(args[args.indexOf('--out') + 1] && args.includes('--out') ? args[args.indexOf('--out') + 1] : join(root, 'out', 'gpu-bundle'));
const LIMIT = 60 * 2 ** 20;

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(`gpu-bundle: the bundle carries this machine's Node binary, so build it on linux-x64 (this is ${process.platform}-${process.arch})`);
  process.exit(1);
}
const stage = mkdtempSync(join(tmpdir(), 'osteon-gpu-bundle-'));
try {
  await build({
    entryPoints: [join(root, 'scripts', 'gpu-bundle', 'entry.ts')],
    outfile: join(stage, 'osteon-gpu.mjs'),
    bundle: true, platform: 'node', format: 'esm', target: 'node20', minify: true, legalComments: 'none', logLevel: 'warning',
    // Dawn is a native addon (copied below); the other rungs' packages are not carried: the
    // bundle runs webgpu and cpu only.
    external: ['webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', '@osteon/dnnl-kernels'],
    // tfjs and friends call require() for Node built-ins; give the ES module one.
    banner: { js: "import { createRequire as __osteonRequire } from 'node:module'; const require = __osteonRequire(import.meta.url);" },
  });
  const webgpu = join(root, 'node_modules', 'webgpu');
  const dst = join(stage, 'node_modules', 'webgpu');
  mkdirSync(join(dst, 'dist', 'linux-x64'), { recursive: true });
  for (const f of ['index.js', 'package.json', 'LICENSE.md']) copyFileSync(join(webgpu, f), join(dst, f));
  copyFileSync(join(webgpu, 'dist', 'linux-x64', 'dawn.node'), join(dst, 'dist', 'linux-x64', 'dawn.node'));
  copyFileSync(process.execPath, join(stage, 'node'));
  copyFileSync(join(root, 'bench', 'reference', 'unet_ref.py'), join(stage, 'unet_ref.py'));
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  execFileSync('tar', ['-czf', join(out, 'payload.tar.gz'), '-C', stage, '.'], { stdio: 'inherit', env: { ...process.env, GZIP: '-9' } });
  cpSync(join(root, 'scripts', 'gpu-bundle', 'gpu-check.sh'), join(out, 'gpu-check.sh'));
  writeFileSync(join(out, 'README.txt'), [
    'Osteon GPU check (built by `npm run gpu-bundle`; see docs/gpu.md).',
    `Node ${process.versions.node}, webgpu (Dawn) linux-x64, @tensorflow/tfjs 4.22 + tfjs-backend-webgpu 4.22.`,
    '',
    'Run on a Linux x86-64 machine with a GPU and its Vulkan driver:  ./gpu-check.sh',
    'It prints one table: kernel self-test vs cpu, tiny U-Net steps vs cpu, timed 2D/3D training',
    'steps, 512x512x300 inference, and PyTorch CUDA ratios where `python3 -c "import torch"` works.',
    '',
  ].join('\n'));
} finally {
  rmSync(stage, { recursive: true, force: true });
}
const size = readdirSync(out).reduce((s, f) => s + statSync(join(out, f)).size, 0);
console.log(`gpu-bundle: ${out} (${(size / 2 ** 20).toFixed(1)} MiB)`);
if (size >= LIMIT) {
  console.error(`gpu-bundle: ${(size / 2 ** 20).toFixed(1)} MiB is over the 60 MiB budget`);
  process.exit(1);
}
