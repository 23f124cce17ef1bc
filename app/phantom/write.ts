/**
 * Writes a phantom set: DIR/case-000/{ct.nii.gz, labels.nii.gz}, …, DIR/schema.json,
 * DIR/manifest.json, DIR/README.md.
 *
 * Never half-written: everything goes into a hidden sibling folder that is renamed onto DIR at
 * the end. An existing non-empty DIR is refused unless `force`, in which case it is swapped out
 * only after the new set is complete. Deterministic: the manifest holds no time stamps and the
 * gzip stream has none, so the same arguments give byte-identical files.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { writeVolume } from '../imaging/io.ts';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.ts';
import { badInput } from '../util/errors.ts';
import { pidAlive, sweepDeadTemps, tempTag } from '../util/temp.ts';
import type { PhantomOptions, PhantomPose } from './generate.ts';
import { HU, generatePhantom } from './generate.ts';
import { caseSeed } from './prng.ts';
import { PHANTOM_SCHEMA } from './schema.ts';

export interface PhantomSetOptions extends PhantomOptions {
  cases: number;
  seed: number;
}

export interface PhantomItem {
  id: string;
  seed: number;
  ct: string;
  labels: string;
  pose: PhantomPose;
  voxels: { left: number; centre: number; right: number; rim: number };
}

export interface PhantomManifest {
  format: 'osteon-phantom/1';
  generator: string;
  seed: number;
  cases: number;
  dims: [number, number, number];
  spacingMm: number;
  noiseHu: number;
  hu: typeof HU;
  schema: 'schema.json';
  labelValues: Record<string, string>;
  items: PhantomItem[];
}

export function commandLine(o: PhantomSetOptions): string {
  return `osteon phantom --out DIR --cases ${o.cases} --seed ${o.seed} --size ${o.dims.join('x')} --spacing ${o.spacing} --noise ${o.noiseHu}`;
}

function readme(m: PhantomManifest): string {
  return [
    '# Osteon phantom cases',
    '',
    'Synthetic CT-like volumes with a known "whole bone + parts" labelling, made by:',
    '',
    `    ${m.generator}`,
    '',
    'The same command gives byte-identical files.',
    '',
    `- \`case-XXX/ct.nii.gz\`: int16 HU, ${m.dims.join('×')} voxels of ${m.spacingMm} mm. Air ${HU.air}, fat ${HU.fat}, soft tissue ${HU.soft},`,
    `  trabecular bone ${HU.trabecular}, cortical bone ${HU.cortical} HU; lightly blurred, Gaussian noise σ = ${m.noiseHu} HU.`,
    '- `case-XXX/labels.nii.gz`: uint8 label map on the same grid: 1 left arm, 2 centre, 3 right arm (three touching',
    '  parts), 4 a one-voxel rim on the superior surface that belongs to the whole bone but to no part.',
    '- `schema.json`: the Osteon label schema (whole = 1..4; parts 1, 2, 3). Try',
    '  `osteon inspect case-000/ct.nii.gz case-000/labels.nii.gz --schema schema.json`.',
    '- `manifest.json`: per case its seed, pose (rotation, translation, size) and voxel counts.',
    '',
    'Pose and size vary per case. Licence: generated data, no third-party content (same licence as Osteon).',
    '',
  ].join('\n');
}

function checkOut(out: string, force: boolean): boolean {
  if (!existsSync(out)) return false;
  if (!statSync(out).isDirectory()) throw badInput(out, '--out', 'exists and is not a folder');
  if (readdirSync(out).length > 0 && !force) throw badInput(out, '--out', 'exists and is not empty; pass --force to replace it');
  return true;
}

function restoreMovedAside(out: string): void {
  if (existsSync(out) || !existsSync(dirname(out))) return;
  const re = new RegExp(`^\\.${basename(out).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)-[0-9a-f]{12}\\.old$`);
  for (const name of readdirSync(dirname(out))) {
    const m = re.exec(name);
    if (m && !pidAlive(Number(m[1]))) {
      renameSync(join(dirname(out), name), out);
      return;
    }
  }
}

/** Generates and writes the set; returns its manifest. */
export function writePhantomSet(outDir: string, o: PhantomSetOptions, force = false, onCase?: (i: number) => void): PhantomManifest {
  const out = resolve(outDir);
  // What a killed earlier run left beside DIR (its owner is dead) goes first; a set moved aside
  // by a run killed between its two renames is put back before that.
  restoreMovedAside(out);
  sweepDeadTemps(dirname(out), basename(out));
  const exists = checkOut(out, force);
  mkdirSync(dirname(out), { recursive: true });
  const tag = tempTag();
  const tmp = join(dirname(out), `.${basename(out)}.${tag}.tmp`);
  mkdirSync(tmp);
  try {
    const items: PhantomItem[] = [];
    for (let i = 0; i < o.cases; i++) {
      const id = `case-${String(i).padStart(3, '0')}`;
      const seed = caseSeed(o.seed, i);
      const c = generatePhantom(seed, o);
      writeVolume(join(tmp, id, 'ct.nii.gz'), c.ct);
      writeVolume(join(tmp, id, 'labels.nii.gz'), c.labels);
      items.push({ id, seed, ct: `${id}/ct.nii.gz`, labels: `${id}/labels.nii.gz`, pose: c.pose, voxels: c.counts });
      onCase?.(i);
    }
    const manifest: PhantomManifest = {
      format: 'osteon-phantom/1',
      generator: commandLine(o),
      seed: o.seed,
      cases: o.cases,
      dims: [...o.dims],
      spacingMm: o.spacing,
      noiseHu: o.noiseHu,
      hu: HU,
      schema: 'schema.json',
      labelValues: { 1: 'left (part 1)', 2: 'centre (part 2)', 3: 'right (part 3)', 4: 'rim: whole bone, no part' },
      items,
    };
    writeJsonAtomic(join(tmp, 'schema.json'), PHANTOM_SCHEMA);
    writeJsonAtomic(join(tmp, 'manifest.json'), manifest);
    writeFileAtomic(join(tmp, 'README.md'), readme(manifest));
    if (exists) {
      const old = join(dirname(out), `.${basename(out)}.${tag}.old`);
      renameSync(out, old);
      renameSync(tmp, out);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(tmp, out);
    }
    return manifest;
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
