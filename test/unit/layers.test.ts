// The layer rule (eslint.config.js) must reject wrong-layer imports; `npm test` runs the
// linter over the tree, and this test proves the rule bites on a deliberately wrong file.
import { ESLint } from 'eslint';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/env.ts';

const eslint = new ESLint({ cwd: repoRoot });

async function layerErrors(relPath: string, code: string): Promise<string[]> {
  const [res] = await eslint.lintText(code, { filePath: join(repoRoot, relPath) });
  const fatal = res.messages.filter((m) => m.fatal);
  expect(fatal, `parse errors in ${relPath}`).toEqual([]);
  return res.messages.filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-globals' || m.ruleId === 'no-restricted-syntax').map((m) => m.message);
}

const svelte = (script: string) => `<script lang="ts">\n${script}\n</script>\n\n<p>{1}</p>\n`;

describe('layer rule', () => {
  const table: Array<[string, string, boolean]> = [
    ['app/imaging/x.ts', "import { app } from 'electron';\nexport const a = app;\n", true],
    ['app/imaging/x.ts', "import { mount } from 'svelte';\nexport const a = mount;\n", true],
    ['app/imaging/x.ts', 'export const w = window.innerWidth;\n', true],
    ['app/imaging/x.ts', "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n", false],
    ['app/contract/x.ts', "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n", true],
    ['renderer/src/x.ts', "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n", true],
    ['renderer/src/x.ts', "import * as tf from '@tensorflow/tfjs';\nexport const t = tf;\n", true],
    ['renderer/src/x.ts', "import { readNifti } from '../../app/imaging/nifti.ts';\nexport const r = readNifti;\n", true],
    ['renderer/src/x.ts', "import type { ErrorData } from '../../app/contract/errors.ts';\nexport type E = ErrorData;\n", false],
    ['main/x.ts', "import { mount } from 'svelte';\nexport const m = mount;\n", true],
    ['app/learning/gpu-host/x.ts', "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n", true],
    ['gpuhost/x.ts', "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n", true],
    ['gpuhost/x.ts', "import { train } from '../app/learning/train.ts';\nexport const t = train;\n", true],
    ['gpuhost/x.ts', "import { HostCompute } from '../app/learning/gpu-host/compute.ts';\nexport const c = HostCompute;\n", false],
    ['gpuhost/x.ts', "import * as tf from '@tensorflow/tfjs';\nexport const t = tf;\n", false],
    ['gpuhost/x.ts', "import { guardBackend } from '../app/learning/webgpu/device.ts';\nexport const g = guardBackend;\n", false],
    ['gpuhost/x.ts', "import { loadNodeWebgpu } from '../app/learning/webgpu/node.ts';\nexport const l = loadNodeWebgpu;\n", true],
    ['app/shared/x.ts', "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n", true],
    ['app/shared/x.ts', "import type { Vec3 } from '../imaging/volume.ts';\nexport type V = Vec3;\n", true],
    ['renderer/src/x.ts', "import { signedDistance } from '../../app/shared/edt.ts';\nexport const s = signedDistance;\n", false],
    // Svelte components are linted too (svelte-eslint-parser + typescript-eslint).
    ['renderer/src/components/X.svelte', svelte("import { train } from '../../../app/learning/train.ts';\nconst t = train;"), true],
    ['renderer/src/components/X.svelte', svelte("import * as tf from '@tensorflow/tfjs';\nconst t = tf;"), true],
    ['renderer/src/components/X.svelte', svelte("import { readFileSync } from 'node:fs';\nconst r = readFileSync;"), true],
    ['renderer/src/components/X.svelte', svelte("import type { ProjectInfo } from '../../../app/contract/schemas.ts';\nlet p: ProjectInfo | null = null;"), false],
    ['renderer/src/components/X.svelte', svelte("import { onMount } from 'svelte';\nonMount(() => {});"), false],
    // Dynamic import() is held to the same rule as a static import.
    ['renderer/src/x.ts', "export const m = () => import('../../app/learning/train.ts');\n", true],
    ['renderer/src/x.ts', "export const m = () => import('@tensorflow/tfjs');\n", true],
    ['renderer/src/x.ts', "export const m = () => import('../../app/contract/contract.ts');\n", false],
    ['renderer/src/components/X.svelte', svelte("const m = () => import('../../../app/learning/train.ts');"), true],
    ['app/contract/x.ts', "export const m = () => import('node:fs');\n", true],
    ['app/contract/x.ts', "export const m = () => import('../learning/train.ts');\n", true],
    ['app/imaging/x.ts', "export const m = () => import('electron');\n", true],
    ['app/imaging/x.ts', "export const m = () => import('node:fs');\n", false],
    ['main/x.ts', "export const m = () => import('../renderer/src/main.ts');\n", true],
  ];
  it.each(table)('%s: %s → rejected=%s', async (file, code, rejected) => {
    const errs = await layerErrors(file, code);
    expect(errs.length > 0).toBe(rejected);
    if (rejected) expect(errs[0]).toMatch(/layer:/);
  });
});
