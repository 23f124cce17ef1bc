/**
 * `osteon phantom --out DIR [--cases N] [--seed S] [--size XxYxZ] [--spacing MM] [--noise HU]
 * [--force] [--json]`: synthetic CT-like cases with a whole bone, three touching parts and a rim
 * that belongs to no part. Deterministic per seed.
 */
import type { Command } from '../command.ts';
import { DEFAULT_PHANTOM } from '../../phantom/generate.ts';
import { writePhantomSet } from '../../phantom/write.ts';
import { table } from '../../labels/report.ts';
import { usageError } from '../../util/errors.ts';
import { intOpt, numOpt } from '../options.ts';

function sizeOpt(v: unknown): [number, number, number] {
  if (v === undefined) return [...DEFAULT_PHANTOM.dims];
  const m = /^(\d+)x(\d+)x(\d+)$/.exec(String(v));
  const dims = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [];
  if (dims.length !== 3 || dims.some((d) => d < 8 || d > 256)) throw usageError(`--size ${String(v)}: expected XxYxZ with each in 8..256, e.g. 64x64x48`);
  return dims as [number, number, number];
}

export const command: Command = {
  name: 'phantom',
  summary: 'Generate synthetic CT cases with a whole bone, three parts and a rim (deterministic)',
  usage: '--out DIR [--cases N] [--seed S] [--size XxYxZ] [--spacing MM] [--noise HU] [--force] [--json]',
  help: [
    'Writes DIR/case-XXX/{ct.nii.gz, labels.nii.gz}, DIR/schema.json, DIR/manifest.json and',
    'DIR/README.md. Labels: 1 left, 2 centre, 3 right (touching parts), 4 rim (whole bone, no part).',
    'Defaults: --cases 3 --seed 0 --size 64x64x48 --spacing 2 --noise 25.',
    'The same arguments give byte-identical files. A non-empty DIR is refused unless --force;',
    'the set is built in a hidden sibling folder and renamed into place, never half-written.',
  ].join('\n'),
  options: {
    out: { type: 'string' },
    cases: { type: 'string' },
    seed: { type: 'string' },
    size: { type: 'string' },
    spacing: { type: 'string' },
    noise: { type: 'string' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  optionHelp: {
    out: 'DIR: the folder to write (refused when not empty, unless --force)',
    cases: 'N: number of cases, 1..1000 (default 3)',
    seed: 'S: random seed, a non-negative integer (default 0)',
    size: 'XxYxZ: volume size in voxels (default 64x64x48)',
    spacing: 'MM: voxel spacing in millimetres (default 2)',
    noise: 'HU: standard deviation of the added noise (default 25)',
    force: 'replace a non-empty DIR',
    json: 'print the manifest as JSON',
  },
  allowPositionals: false,
  async run({ values, io }) {
    if (typeof values.out !== 'string' || !values.out) throw usageError('--out DIR is required\nRun `osteon phantom --help`.');
    const opts = {
      cases: intOpt(values.cases, 'cases', 3, 1, 1000),
      seed: intOpt(values.seed, 'seed', 0, 0, 2 ** 32 - 1),
      dims: sizeOpt(values.size),
      spacing: numOpt(values.spacing, 'spacing', DEFAULT_PHANTOM.spacing, 0.1, 20),
      noiseHu: numOpt(values.noise, 'noise', DEFAULT_PHANTOM.noiseHu, 0, 1000),
    };
    const progress = io.isTty && !values.json ? (i: number) => io.err(`case ${i + 1}/${opts.cases}`) : undefined;
    const m = writePhantomSet(values.out, opts, Boolean(values.force), progress);
    if (values.json) {
      io.out(JSON.stringify({ ok: true, out: values.out, manifest: m }, null, 2));
      return 0;
    }
    io.out([
      `Wrote ${m.cases} phantom case${m.cases === 1 ? '' : 's'} to ${values.out} (seed ${m.seed}, ${m.dims.join('×')} at ${m.spacingMm} mm)`,
      ...table(['case', 'seed', 'left', 'centre', 'right', 'rim', 'yaw°', 'pitch°', 'roll°', 'scale'],
        m.items.map((c) => [c.id, c.seed, c.voxels.left, c.voxels.centre, c.voxels.right, c.voxels.rim,
          Number(c.pose.yawDeg.toFixed(1)), Number(c.pose.pitchDeg.toFixed(1)), Number(c.pose.rollDeg.toFixed(1)), Number(c.pose.scale.toFixed(3))])),
      `Schema: ${values.out}/schema.json (whole = labels 1..4; parts 1 left, 2 centre, 3 right)`,
    ].join('\n'));
    return 0;
  },
};
