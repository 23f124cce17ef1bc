// The layer rule (eslint.config.js) must reject wrong-layer imports; `npm test` runs the
// linter over the tree, and this test proves the rule bites on a deliberately wrong file.
import { ESLint } from 'eslint';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/env.ts';

const eslint = new ESLint({ cwd: repoRoot });

async function layerErrors(relPath: string, code: string): Promise<string[]> {
  const [res] = await eslint.lintText(code, { filePath: join(repoRoot, relPath) });
  return res.messages.filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-globals').map((m) => m.message);
}

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
  ];
  it.each(table)('%s: %s → rejected=%s', async (file, code, rejected) => {
    const errs = await layerErrors(file, code);
    expect(errs.length > 0).toBe(rejected);
    if (rejected) expect(errs[0]).toMatch(/layer:/);
  });
});
