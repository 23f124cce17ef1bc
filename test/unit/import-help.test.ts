// The import wizard's host calls (app/services/import-help.ts) on the bundled pelvis study.
// Golden counts: /usr/bin/python3 with nibabel + numpy,
//   d = nib.load('resources/sample/pelvis/labels.nii.gz').dataobj; np.unique(d[d > 0], return_counts=True)
// → 61 distinct ids, 25 (sacrum) 5884, 26 (vertebrae_S1) 1796; also in resources/sample/pelvis/PROVENANCE.md.
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeVolume } from '../../app/imaging/io.ts';
import { IDENTITY3 } from '../../app/imaging/volume.ts';
import { listFiles, listPresets, previewLabels, scanLabels } from '../../app/services/import-help.ts';
import { importCase, readAnalysis } from '../../app/store/cases.ts';
import { createProject } from '../../app/store/project.ts';
import { repoRoot } from '../helpers/env.ts';

const sample = join(repoRoot, 'resources', 'sample', 'pelvis');
const presets = join(repoRoot, 'resources', 'presets');
let tmp: string;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'osteon-import-help-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('listPresets', () => {
  it('lists the bundled schemas and skips a broken file', () => {
    const names = listPresets(presets).map((p) => (p.schema as { name: string }).name);
    expect(names).toContain('pelvis');
    writeFileSync(join(tmp, 'a-broken.json'), '{"schema": "osteon-labels/1"');
    writeFileSync(join(tmp, 'pelvis.json'), readFileSync(join(presets, 'pelvis.json')));
    expect(listPresets(tmp).map((p) => p.path)).toEqual([join(tmp, 'pelvis.json')]);
    expect(listPresets(join(tmp, 'missing'))).toEqual([]);
  });
});

describe('scanLabels', () => {
  it('counts every label id of the sample and names it from labels.json', () => {
    const s = scanLabels(join(sample, 'labels.nii.gz'));
    expect(s.dims).toEqual([122, 101, 112]);
    expect(s.channels).toBe(1);
    expect(s.values).toHaveLength(61);
    expect(s.values.find((v) => v.value === 25)).toEqual({ value: 25, voxels: 5884, name: 'sacrum' });
    expect(s.values.find((v) => v.value === 26)).toEqual({ value: 26, voxels: 1796, name: 'vertebrae_S1' });
  });

  it('refuses a volume that holds non-integer values, naming the file', () => {
    const f = join(tmp, 'float.nii.gz');
    const data = new Float32Array(8).fill(0.5);
    writeVolume(f, { dims: [2, 2, 2], spacing: [1, 1, 1], origin: [0, 0, 0], direction: IDENTITY3, data, channels: 1 });
    expect(() => scanLabels(f)).toThrow(/float\.nii\.gz: data: .*integer/);
  });
});

describe('previewLabels', () => {
  const schema = () => JSON.parse(readFileSync(join(presets, 'pelvis.json'), 'utf8')) as {
    structures: Array<{ id: string; source: { values: number[] } }>;
  };
  type Preview = { structures: Array<{ id: string; voxels: number }>; recommendation: { formulation: string } };

  it('analyses the preset as the import would (joint head: S1 is in the whole but in no part)', () => {
    const a = previewLabels(join(sample, 'ct.nii.gz'), join(sample, 'labels.nii.gz'), schema()) as Preview;
    expect(a.structures.map((s) => [s.id, s.voxels])).toEqual([['pelvis', 33894], ['hip_left', 13166], ['hip_right', 13048], ['sacrum', 5884]]);
    expect(a.recommendation.formulation).toBe('joint');
  });

  it('follows edited ids: S1 added to the sacrum makes the whole equal the union (softmax suffices)', () => {
    const s = schema();
    s.structures.find((x) => x.id === 'sacrum')!.source.values = [25, 26];
    const a = previewLabels(join(sample, 'ct.nii.gz'), join(sample, 'labels.nii.gz'), s) as Preview;
    expect(a.structures.find((x) => x.id === 'sacrum')?.voxels).toBe(5884 + 1796);
    expect(a.recommendation.formulation).toBe('softmax');
  });

  it('refuses an invalid inline schema, naming the field', () => {
    const s = schema() as unknown as { structures: Array<{ colour: string }> };
    s.structures[0].colour = 'red';
    expect(() => previewLabels(join(sample, 'ct.nii.gz'), join(sample, 'labels.nii.gz'), s)).toThrow(/structures\[0\]\.colour/);
  });
});

describe('importCase with an inline schema (the wizard\'s edited ids)', () => {
  const ctl = { signal: new AbortController().signal, progress: () => undefined };
  const src = { ct: join(sample, 'ct.nii.gz'), labels: join(sample, 'labels.nii.gz') };

  it('imports with the edited ids and keeps them as the case schema', async () => {
    const p = createProject(join(tmp, 'proj'), 'p');
    const s = JSON.parse(readFileSync(join(presets, 'pelvis.json'), 'utf8')) as { structures: Array<{ id: string; source: { values: number[] } }> };
    s.structures.find((x) => x.id === 'sacrum')!.source.values = [25, 26];
    const c = await importCase(p, { ...src, schemaInline: s, name: 'edited' }, ctl);
    expect(c.sources.schema).toBeUndefined();
    const a = readAnalysis(p, c.id) as { structures: Array<{ id: string; voxels: number }> };
    expect(a.structures.find((x) => x.id === 'sacrum')?.voxels).toBe(7680);
    const stored = JSON.parse(readFileSync(join(p.dir, 'cases', c.id, c.files.schema ?? ''), 'utf8')) as typeof s;
    expect(stored.structures.find((x) => x.id === 'sacrum')?.source.values).toEqual([25, 26]);
  });

  it('refuses a schema file and an inline schema together', async () => {
    const p = createProject(join(tmp, 'proj2'), 'p');
    const s = JSON.parse(readFileSync(join(presets, 'pelvis.json'), 'utf8')) as unknown;
    await expect(importCase(p, { ...src, schema: join(presets, 'pelvis.json'), schemaInline: s }, ctl)).rejects.toThrow(/not both/);
  });
});

describe('listFiles: the browser host\'s file picker stays inside its roots', () => {
  it('lists the roots, then a root\'s folders first, with sizes, and no parent above a root', () => {
    const root = realpathSync(join(repoRoot, 'resources', 'sample'));
    expect(listFiles([root, join(tmp, 'missing')]).entries.map((e) => e.path)).toEqual([root]);
    const top = listFiles([root], root);
    expect(top.parent).toBeNull();
    expect(top.entries.find((e) => e.name === 'pelvis')).toMatchObject({ kind: 'dir' });
    const pelvis = listFiles([root], join(root, 'pelvis'));
    expect(pelvis.parent).toBe(root);
    expect(pelvis.entries.find((e) => e.name === 'labels.nii.gz')).toMatchObject({ kind: 'file', size: 112591 });
  });

  it('refuses folders outside the roots, also through .. and symlinks', () => {
    const root = join(tmp, 'root');
    mkdirSync(join(root, 'inside'), { recursive: true });
    symlinkSync('/etc', join(root, 'escape'));
    expect(() => listFiles([root], '/etc')).toThrow(/outside the folders/);
    expect(() => listFiles([root], join(root, 'inside', '..', '..'))).toThrow(/outside the folders/);
    expect(() => listFiles([root], join(root, 'escape'))).toThrow(/outside the folders/);
    expect(() => listFiles([root], join(root, 'nope'))).toThrow(/no such folder/);
    expect(listFiles([root], join(root, 'inside')).entries).toEqual([]);
  });
});
