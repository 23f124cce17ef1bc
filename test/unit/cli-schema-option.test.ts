// `--schema` takes a file or the name of a bundled preset (resources/presets/NAME.json), on every
// command that has it; `osteon inspect --schema pelvis` runs on the bundled sample like the file.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { presetsDir, schemaOpt } from '../../app/cli/options.ts';
import { runCli } from '../helpers/cli.ts';
import { repoRoot } from '../helpers/env.ts';

describe('--schema FILE or preset name', () => {
  it('maps a preset name to its file, keeps a path, refuses anything else naming the presets', () => {
    expect(schemaOpt(undefined)).toBeUndefined();
    expect(schemaOpt('pelvis')).toBe(join(presetsDir, 'pelvis.json'));
    expect(schemaOpt('lumbar-spine')).toBe(join(presetsDir, 'lumbar-spine.json'));
    const file = join(repoRoot, 'resources', 'presets', 'phantom.json');
    expect(schemaOpt(file)).toBe(file);
    expect(() => schemaOpt('pelvis2')).toThrow(/--schema pelvis2: no such file, and not a preset name \(presets: lumbar-spine, pelvis, phantom\)/);
    expect(() => schemaOpt('../presets/pelvis')).toThrow(/not a preset name/);
  });

  it('osteon inspect --schema pelvis reads the sample with the preset; an unknown name exits 2', () => {
    const sample = join(repoRoot, 'resources', 'sample', 'pelvis');
    const r = runCli(['inspect', join(sample, 'ct.nii.gz'), join(sample, 'labels.nii.gz'), '--schema', 'pelvis']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Structures (schema "pelvis"');
    const bad = runCli(['inspect', join(sample, 'ct.nii.gz'), join(sample, 'labels.nii.gz'), '--schema', 'pelvic']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('not a preset name');
  }, 60_000);
});
