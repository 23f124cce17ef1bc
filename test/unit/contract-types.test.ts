// The contract types every payload: no z.unknown() holes, and what the services really send
// (an analysis of the sample study, the bundled presets, a trained run's config) parses.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LabelAnalysisData, LabelSchemaData } from '../../app/contract/labels.ts';
import { events } from '../../app/contract/contract.ts';
import { JobKind } from '../../app/contract/schemas.ts';
import { listPresets, previewLabels } from '../../app/services/import-help.ts';
import { repoRoot } from '../helpers/env.ts';

const contractDir = join(repoRoot, 'app', 'contract');

describe('contract payloads are typed', () => {
  it('no z.unknown() or z.any() in app/contract', () => {
    for (const f of readdirSync(contractDir).filter((n) => n.endsWith('.ts'))) {
      const text = readFileSync(join(contractDir, f), 'utf8');
      expect(text, f).not.toMatch(/z\.(unknown|any)\(\)/);
    }
  });

  it('job.done has a typed result for every job kind (a new kind without one would fail every job of it)', () => {
    const kinds = events['job.done'].options.map((o) => o.shape.kind.value);
    expect([...kinds].sort()).toEqual([...JobKind.options].sort());
  });

  it('the sample study\'s analysis parses as LabelAnalysisData (NaN and Infinity as null)', () => {
    const s = join(repoRoot, 'resources', 'sample', 'pelvis');
    const schema = JSON.parse(readFileSync(join(repoRoot, 'resources', 'presets', 'pelvis.json'), 'utf8')) as unknown;
    const a = previewLabels(join(s, 'ct.nii.gz'), join(s, 'labels.nii.gz'), schema);
    expect(LabelAnalysisData.safeParse(a).success).toBe(true);
    expect(a.structures.find((x) => x.id === 'sacrum')?.voxels).toBe(5884);
  });

  it('every bundled preset parses as LabelSchemaData', () => {
    const presets = listPresets(join(repoRoot, 'resources', 'presets'));
    expect(presets.length).toBeGreaterThan(0);
    for (const p of presets) expect(LabelSchemaData.safeParse(p.schema).success, p.path).toBe(true);
  });
});
