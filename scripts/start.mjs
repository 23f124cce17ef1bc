#!/usr/bin/env node
// `npm start`: opens the workstation on the bundled sample study.
// Until the Electron shell lands, it runs `osteon inspect` on the sample study.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sample = join(root, 'resources', 'sample', 'pelvis');
const r = spawnSync(process.execPath, [join(root, 'bin', 'osteon.mjs'), 'inspect',
  join(sample, 'ct.nii.gz'), join(sample, 'labels.nii.gz'), '--schema', join(root, 'resources', 'presets', 'pelvis.json')], { stdio: 'inherit' });
process.exit(r.status ?? 1);
