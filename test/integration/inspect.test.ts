import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeVolume } from '../../app/imaging/io.ts';
import type { Volume, VoxelArray } from '../../app/imaging/volume.ts';
import { IDENTITY3 } from '../../app/imaging/volume.ts';
import type { CliIo } from '../../app/cli/command.ts';
import { main } from '../../app/cli/main.ts';
import { runCli } from '../helpers/cli.ts';
import { repoRoot, sharedDir, skipNotice } from '../helpers/env.ts';

const sample = join(repoRoot, 'resources', 'sample', 'pelvis');
const presets = join(repoRoot, 'resources', 'presets');

// Reference counts: nibabel + numpy on example_seg_fast_force_split.nii.gz, e.g.
// `(np.asarray(nib.load(f).dataobj) == 25).sum()` (also in the data's PROVENANCE.md).
const PELVIS = { sacrum: 5884, hip_left: 13166, hip_right: 13048, s1: 1796, union: 32098, whole: 33894, voxels: 122 * 101 * 112 };

interface InspectJson {
  ok: boolean;
  analysis: {
    structures: { id: string; voxels: number; classId: number | null }[];
    wholeVsUnion: { unionVoxels: number; wholeVoxels: number; wholeNotUnion: number; unionNotWhole: number; dice: number } | null;
    recommendation: { formulation: string; reason: string };
    posWeight: { id: string; posWeight: number | string }[];
    classWeights: { method: string; classes: { id: string; weight: number }[] } | null;
  };
}

function inspectJson(args: string[]): InspectJson {
  const r = runCli(['inspect', ...args, '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as InspectJson;
}

/** The real dispatcher in this process (exit codes as the binary), without a process start. */
async function inProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = { code: -1, stdout: '', stderr: '' };
  const io: CliIo = { out: (t) => { r.stdout += t + '\n'; }, err: (t) => { r.stderr += t + '\n'; }, isTty: false };
  r.code = await main(args, io);
  return r;
}

async function inspectJsonHere(args: string[]): Promise<InspectJson> {
  const r = await inProcess(['inspect', ...args, '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as InspectJson;
}

const voxelsOf = (j: InspectJson) => Object.fromEntries(j.analysis.structures.map((s) => [s.id, s.voxels]));

describe('osteon inspect on the sample pelvis study (resources/sample)', () => {
  it('reports the pelvis parts, the union, the whole (+S1) and recommends the joint head', () => {
    const j = inspectJson([join(sample, 'ct.nii.gz'), join(sample, 'labels.nii.gz'), '--schema', join(presets, 'pelvis.json')]);
    expect(voxelsOf(j)).toEqual({ pelvis: PELVIS.whole, hip_left: PELVIS.hip_left, hip_right: PELVIS.hip_right, sacrum: PELVIS.sacrum });
    expect(j.analysis.structures.map((s) => s.classId)).toEqual([null, 1, 2, 3]);
    const wu = j.analysis.wholeVsUnion;
    expect(wu?.unionVoxels).toBe(PELVIS.union);
    expect(wu?.wholeVoxels).toBe(PELVIS.union + PELVIS.s1);
    expect(wu?.wholeNotUnion).toBe(PELVIS.s1);
    expect(wu?.unionNotWhole).toBe(0);
    expect(wu?.dice).toBeCloseTo((2 * PELVIS.union) / (PELVIS.union + PELVIS.whole), 12);
    expect(j.analysis.recommendation.formulation).toBe('joint');
    // pos_weight = negatives / positives (numpy: (n - w.sum()) / w.sum()).
    expect(j.analysis.posWeight[0].posWeight).toBeCloseTo((PELVIS.voxels - PELVIS.whole) / PELVIS.whole, 9);
    expect(j.analysis.classWeights?.method).toBe('median-frequency');
  });

  it('prints an aligned human report', async () => {
    const r = await inProcess(['inspect', join(sample, 'ct.nii.gz'), join(sample, 'labels.nii.gz'), '--schema', join(presets, 'pelvis.json')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/sacrum\s+Sacrum\s+part\s+3\s+5884/);
    expect(r.stdout).toMatch(/union of parts\s+32098/);
    expect(r.stdout).toMatch(/whole\s+33894/);
    expect(r.stdout).toContain('Recommendation: joint');
    expect(r.stdout).toContain('Why not raw foreground counts as weights');
  });

  it('lumbar preset: whole == union of L1..L5, so softmax', async () => {
    const j = await inspectJsonHere([join(sample, 'ct.nii.gz'), join(sample, 'labels.nii.gz'), '--schema', join(presets, 'lumbar-spine.json')]);
    expect(voxelsOf(j)).toEqual({ lumbar_spine: 2220 + 2236 + 2446 + 2442 + 2508, l1: 2220, l2: 2236, l3: 2446, l4: 2442, l5: 2508 });
    expect(j.analysis.recommendation.formulation).toBe('softmax');
  });

  it('without a schema, names parts from the labels.json beside the label map', async () => {
    const r = await inProcess(['inspect', join(sample, 'ct.nii.gz'), join(sample, 'labels.nii.gz'), '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as InspectJson;
    const v = voxelsOf(j);
    expect([v.sacrum, v.vertebrae_s1, v.hip_left, v.hip_right]).toEqual([PELVIS.sacrum, PELVIS.s1, PELVIS.hip_left, PELVIS.hip_right]);
    expect(j.analysis.structures).toHaveLength(61);
    expect(j.analysis.recommendation.formulation).toBe('softmax');
  });
});

describe('osteon inspect on ../shared (real check)', () => {
  const shared = sharedDir();
  if (!shared) skipNotice('inspect on ../shared/data/totalseg-abdomen-pelvis', '../shared');
  it.skipIf(!shared)('matches the reference counts on totalseg-abdomen-pelvis', () => {
    const d = join(shared as string, 'data', 'totalseg-abdomen-pelvis');
    const r = runCli(['inspect', join(d, 'example_ct.nii.gz'), join(d, 'example_seg_fast_force_split.nii.gz'), '--schema', join(presets, 'pelvis.json')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/hip_left\s+Left hip\s+part\s+1\s+13166/);
    expect(r.stdout).toMatch(/hip_right\s+Right hip\s+part\s+2\s+13048/);
    expect(r.stdout).toMatch(/sacrum\s+Sacrum\s+part\s+3\s+5884/);
    expect(r.stdout).toMatch(/union of parts\s+32098/);
    expect(r.stdout).toMatch(/whole, in no part\s+1796/);
    expect(r.stdout).toContain('Recommendation: joint');
  });
});

describe('osteon inspect with mask files and bad input', () => {
  const dir = mkdtempSync(join(tmpdir(), 'osteon-inspect-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const vol = (data: VoxelArray, dims: [number, number, number] = [4, 2, 1]): Volume =>
    ({ dims, spacing: [1, 1, 2], origin: [0, 0, 0], direction: [...IDENTITY3], data, channels: 1 });
  const f = (name: string) => join(dir, name);
  writeVolume(f('ct.nii.gz'), vol(Int16Array.from([-1000, 40, 300, 1200, 1200, 300, 40, -1000])));
  writeVolume(f('whole.nii.gz'), vol(Uint8Array.from([0, 1, 1, 1, 1, 1, 0, 0])));
  writeVolume(f('a.nii.gz'), vol(Uint8Array.from([0, 1, 1, 0, 0, 0, 0, 0])));
  writeVolume(f('b.nii.gz'), vol(Uint8Array.from([0, 0, 1, 1, 1, 0, 0, 0])));
  writeVolume(f('nonbinary.nii.gz'), vol(Uint8Array.from([0, 0, 255, 255, 0, 0, 0, 0])));
  writeVolume(f('smallgrid.nii.gz'), vol(Uint8Array.from([0, 1, 1, 0]), [2, 2, 1]));
  writeVolume(f('map.nii.gz'), vol(Uint8Array.from([0, 1, 1, 2, 2, 3, 0, 0])));
  const maskSchema = {
    schema: 'osteon-labels/1', name: 'masks', structures: [
      { id: 'bone', name: 'Bone', colour: '#E8DCC4', role: 'whole', source: { kind: 'mask', file: 'whole.nii.gz' } },
      { id: 'a', name: 'A', colour: '#4FC3F7', role: 'part', source: { kind: 'mask', file: null } },
      { id: 'b', name: 'B', colour: '#FFB74D', role: 'part', source: { kind: 'mask', file: null } },
    ],
  };
  writeFileSync(f('masks.json'), JSON.stringify(maskSchema));
  writeFileSync(f('bad-schema.json'), JSON.stringify({ ...maskSchema, structures: [{ ...maskSchema.structures[0], colour: 'beige' }] }));
  const before = readdirSync(dir).sort();

  it('overlapping part masks (by order and by --map) → sigmoid, with the overlap', () => {
    // a = voxels {1,2}, b = {2,3,4}: they share voxel 2. The whole comes from the schema's file.
    const j = inspectJson([f('ct.nii.gz'), f('a.nii.gz'), '--map', `b=${f('b.nii.gz')}`, '--schema', f('masks.json')]);
    expect(voxelsOf(j)).toEqual({ bone: 5, a: 2, b: 3 });
    expect(j.analysis.recommendation.formulation).toBe('sigmoid');
    expect(j.analysis.recommendation.reason).toContain('a ∩ b = 1 voxels');
    expect(j.analysis.classWeights).toBeNull();
  });

  it('without a schema: one part per label value (or per mask file)', async () => {
    const j = await inspectJsonHere([f('ct.nii.gz'), f('map.nii.gz')]);
    expect(voxelsOf(j)).toEqual({ label_1: 2, label_2: 2, label_3: 1 });
    expect(j.analysis.wholeVsUnion).toBeNull();
    expect(j.analysis.recommendation.formulation).toBe('softmax');
    const m = await inspectJsonHere([f('ct.nii.gz'), f('a.nii.gz'), f('b.nii.gz')]);
    expect(voxelsOf(m)).toEqual({ a: 2, b: 3 });
    expect(m.analysis.recommendation.formulation).toBe('sigmoid');
  });

  it('reads a multi-channel label volume by channel index', async () => {
    // Channels: 0 whole {1..5}, 1 a {1,2}, 2 b {2,3,4}: channels may overlap.
    const data = Uint8Array.from([0, 1, 1, 1, 1, 1, 0, 0, /* 1 */ 0, 1, 1, 0, 0, 0, 0, 0, /* 2 */ 0, 0, 1, 1, 1, 0, 0, 0]);
    const m = join(dir, 'multi');
    rmSync(m, { recursive: true, force: true });
    writeVolume(join(m, 'multi.nii.gz'), { ...vol(data), channels: 3 });
    const schema = { ...maskSchema, structures: maskSchema.structures.map((st, i) => ({ ...st, source: { kind: 'channel', index: i } })) };
    writeFileSync(join(m, 'multi.json'), JSON.stringify(schema));
    const r = await inProcess(['inspect', f('ct.nii.gz'), join(m, 'multi.nii.gz'), '--schema', join(m, 'multi.json'), '--json']);
    rmSync(m, { recursive: true, force: true });
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as InspectJson;
    expect(voxelsOf(j)).toEqual({ bone: 5, a: 2, b: 3 });
    expect(j.analysis.recommendation.formulation).toBe('sigmoid');
  });

  const bad: [string, () => string[], RegExp[]][] = [
    ['a label grid that differs from the CT', () => [f('ct.nii.gz'), f('smallgrid.nii.gz')],
      [/\/smallgrid\.nii\.gz: geometry: grid does not match \/\S+\/ct\.nii\.gz/, /ct\.nii\.gz has dims 4×2×1/, /this file has dims 2×2×1/]],
    ['a non-binary mask', () => [f('ct.nii.gz'), f('nonbinary.nii.gz'), f('b.nii.gz'), '--schema', f('masks.json')],
      [/nonbinary\.nii\.gz: data: expected a binary mask \(0\/1\), but 2 voxel\(s\) hold other values: 255/]],
    ['a schema with a bad field', () => [f('ct.nii.gz'), f('a.nii.gz'), '--schema', f('bad-schema.json')],
      [/bad-schema\.json: structures\[0\]\.colour: /]],
    ['more mask files than structures', () => [f('ct.nii.gz'), f('a.nii.gz'), f('b.nii.gz'), f('b.nii.gz'), f('b.nii.gz'), '--schema', f('masks.json')],
      [/4 mask files for 2 \(a, b\) or 3 structures of schema "masks"/]],
    ['two files for a label-map schema', () => [f('ct.nii.gz'), f('a.nii.gz'), f('b.nii.gz'), '--schema', join(presets, 'pelvis.json')],
      [/schema "pelvis" reads one label map; got 2 label files/]],
    ['a schema none of whose structures occur (wrong schema)', () => [f('ct.nii.gz'), f('map.nii.gz'), '--schema', join(presets, 'pelvis.json')],
      [/map\.nii\.gz: data: none of the structures of schema "pelvis" occur in this file; label values present: 1, 2, 3\. Wrong schema\?/]],
    ['a missing label file', () => [f('ct.nii.gz'), f('nope.nii.gz')], [/nope\.nii\.gz: path: file not found/]],
    ['no file at all', () => [], [/expected IMAGE, or CT LABELS/]],
  ];
  // In-process through the real dispatcher (same exit-code mapping as the binary, without a
  // process start per case); the binary itself is exercised by the cases above and below.
  it.each(bad)('exits 2 on %s, naming the file and the problem, writing nothing', async (_n, args, messages) => {
    const r = await inProcess(['inspect', ...args()]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    for (const m of messages) expect(r.stderr).toMatch(m);
    expect(readdirSync(dir).sort()).toEqual(before);
  });

  it('the binary exits 2 on a grid mismatch, and --json reports the error as data', () => {
    const r = runCli(['inspect', f('ct.nii.gz'), f('smallgrid.nii.gz'), '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\/smallgrid\.nii\.gz: geometry: grid does not match \/\S+\/ct\.nii\.gz/);
    const j = JSON.parse(r.stdout) as { ok: boolean; error: { code: string; field: string } };
    expect(j).toMatchObject({ ok: false, error: { code: 'mismatch', field: 'geometry' } });
  });
});
