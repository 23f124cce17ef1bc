// Exports that keep overlaps, checked by readers that are not Osteon's: pydicom + numpy read the
// DICOM SEG (scripts/reference/check_dicom_seg.py) and dicom3tools' dciodvfy validates it;
// nibabel reads the NIfTI masks; nnU-Net's region rule (a structure = voxels whose label is in its
// region list) decodes the dataset in Python. The CT is dcmqi's 3-slice series; the labels are its
// liver (1) and thoracic spine (2) with a whole covering both (test/fixtures/exchange/dcmqi-overlap.json).
// Reference counts (nibabel on liver_spine_seg.nii.gz): liver 107098, spine 12439, whole 119537.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readVolume, writeVolume } from '../../app/imaging/io.ts';
import { runCli } from '../helpers/cli.ts';
import { fixtures, hasPythonModule, repoRoot } from '../helpers/env.ts';

const ct = join(fixtures, 'imaging', 'dcmqi', 'dicom');
const labels = join(fixtures, 'imaging', 'dcmqi', 'liver_spine_seg.nii.gz');
const schema = join(fixtures, 'exchange', 'dcmqi-overlap.json');
const counts = { labelled: 119537, liver: 107098, spine: 12439 };
const work = mkdtempSync(join(tmpdir(), 'osteon-exchange-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const hasPy = hasPythonModule('pydicom') && hasPythonModule('nibabel');
const hasDciodvfy = spawnSync('which', ['dciodvfy']).status === 0;

function py(code: string, ...args: string[]): Record<string, unknown> {
  const r = spawnSync('/usr/bin/python3', ['-c', code, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

describe('DICOM SEG out (BINARY, overlaps kept)', () => {
  const seg = join(work, 'labels.seg.dcm');
  it('osteon export --format dicom-seg writes one segment per structure', () => {
    const r = runCli(['export', ct, labels, '--schema', schema, '--format', 'dicom-seg', '--out', seg, '--run', 'run-42']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/3 segments/);
  });

  it.skipIf(!hasPy)('pydicom finds the segments, counts, overlaps, series and frame of reference', () => {
    const r = spawnSync('/usr/bin/python3', [join(repoRoot, 'scripts', 'reference', 'check_dicom_seg.py'), seg, ct], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { type: string; segments: Array<{ label: string; count: number; type: string; algorithm: string; property: string }>; overlaps: Record<string, number>; [k: string]: unknown };
    expect(j.type).toBe('BINARY');
    expect(j.segments.map((s) => [s.label, s.count, s.type, s.algorithm])).toEqual([
      ['Liver and spine', counts.labelled, 'AUTOMATIC', 'run-42'], ['Liver', counts.liver, 'AUTOMATIC', 'run-42'], ['Thoracic spine', counts.spine, 'AUTOMATIC', 'run-42'],
    ]);
    expect(j.segments[1].property).toBe('Liver');
    expect(j.overlaps).toEqual({ '1-2': counts.liver, '1-3': counts.spine, '2-3': 0 });
    expect(j).toMatchObject({ frame_of_reference_ok: true, referenced_series_ok: true, study_ok: true, sources_ok: true });
  });

  it.skipIf(!hasDciodvfy)('dciodvfy reports no errors', () => {
    const r = spawnSync('dciodvfy', [seg], { encoding: 'utf8' });
    const errors = (r.stderr + r.stdout).split('\n').filter((l) => l.startsWith('Error'));
    expect(errors).toEqual([]);
  });

  it('reads back through import-seg, as labels and as a prediction', () => {
    const out = join(work, 'seg-in');
    const r = runCli(['import-seg', seg, '--ct', ct, '--schema', schema, '--out', out, '--as', 'prediction']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`labelled ${counts.labelled}, liver ${counts.liver}, spine ${counts.spine}`);
    expect(JSON.parse(readFileSync(join(out, 'prediction.json'), 'utf8')).source).toBe('dicom-seg');
  });

  it('a SEG serves as the labels of inspect (and export, train): overlaps as written', () => {
    const r = runCli(['inspect', ct, seg, '--schema', schema, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const a = JSON.parse(r.stdout).analysis as { overlap: { matrix: number[][] } } & Record<string, unknown>;
    expect(JSON.stringify(a)).toContain(String(counts.labelled));
    const text = runCli(['inspect', ct, seg, '--schema', schema]).stdout;
    expect(text).toMatch(/labelled\s+119537\s+107098\s+12439/);
  });

  it('--manual marks the segments MANUAL; without --run or --manual it exits 2 and writes nothing', () => {
    const m = join(work, 'manual.dcm');
    expect(runCli(['export', ct, labels, '--schema', schema, '--format', 'dicom-seg', '--out', m, '--manual']).code).toBe(0);
    const none = join(work, 'none.dcm');
    const r = runCli(['export', ct, labels, '--schema', schema, '--format', 'dicom-seg', '--out', none]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--run RUN_ID .* or --manual/);
    expect(existsSync(none)).toBe(false);
  });
});

describe('DICOM SEG out from an enhanced (multi-frame) CT', () => {
  // The enhanced CT fixture is one Enhanced CT Image Storage file: the dcmqi CT cropped to
  // 96×80 at (x 210, y 200), frames out of spatial order. Label 1 is the same crop of
  // liver_spine_seg.nii.gz's liver (placed by world position); the spine lies outside the crop,
  // so label 2 is every other voxel above 100 HU. The whole covers both, as in the schema.
  const enhanced = join(fixtures, 'imaging', 'dicom-codecs', 'enhanced_ct', 'ct.dcm');
  const crop = join(work, 'enhanced-labels.nii.gz');
  const seg = join(work, 'enhanced.seg.dcm');
  const want = { labelled: 0, liver: 0, spine: 0 };
  beforeAll(() => {
    const g = readVolume(enhanced);
    const l = readVolume(labels);
    const off = [0, 1].map((a) => (g.origin[a] - l.origin[a]) / l.spacing[a]);
    off.forEach((o) => expect(Math.abs(o - Math.round(o))).toBeLessThan(1e-3));
    const [i0, j0] = off.map(Math.round);
    const data = new Uint8Array(g.dims[0] * g.dims[1] * g.dims[2]);
    for (let k = 0; k < g.dims[2]; k++) for (let j = 0; j < g.dims[1]; j++) for (let i = 0; i < g.dims[0]; i++) {
      const at = i + g.dims[0] * (j + g.dims[1] * k);
      const v = l.data[i + i0 + l.dims[0] * (j + j0 + l.dims[1] * k)] === 1 ? 1 : g.data[at] > 100 ? 2 : 0;
      data[at] = v;
      if (v === 1 || v === 2) want.labelled++;
      if (v === 1) want.liver++;
      if (v === 2) want.spine++;
    }
    writeVolume(crop, { dims: g.dims, spacing: g.spacing, origin: g.origin, direction: g.direction, data, channels: 1 });
  });

  it('osteon export writes one segment per structure from the enhanced CT', () => {
    expect(want.spine).toBeGreaterThan(0);
    expect(want.liver).toBeGreaterThan(0);
    const r = runCli(['export', enhanced, crop, '--schema', schema, '--format', 'dicom-seg', '--out', seg, '--run', 'run-7']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/3 segments/);
  });

  it.skipIf(!hasPy)('pydicom: counts, overlaps, the source instance and its frame at each SEG frame\'s position, shared Frame of Reference', () => {
    const r = spawnSync('/usr/bin/python3', [join(repoRoot, 'scripts', 'reference', 'check_dicom_seg.py'), seg, enhanced], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { segments: Array<{ label: string; count: number }>; overlaps: Record<string, number>; [k: string]: unknown };
    expect(j.segments.map((s) => [s.label, s.count])).toEqual([['Liver and spine', want.labelled], ['Liver', want.liver], ['Thoracic spine', want.spine]]);
    expect(j.overlaps).toEqual({ '1-2': want.liver, '1-3': want.spine, '2-3': 0 });
    expect(j).toMatchObject({ frame_of_reference_ok: true, referenced_series_ok: true, study_ok: true, sources_ok: true });
    // Every SEG frame references the one enhanced instance with a frame number.
    const refs = py([
      'import json, sys, pydicom',
      's = pydicom.dcmread(sys.argv[1]); c = pydicom.dcmread(sys.argv[2], stop_before_pixels=True)',
      'src = [f.DerivationImageSequence[0].SourceImageSequence[0] for f in s.PerFrameFunctionalGroupsSequence]',
      'print(json.dumps({"uids": sorted({str(x.ReferencedSOPInstanceUID) for x in src}), "ct": str(c.SOPInstanceUID), "frames": sorted({int(x.ReferencedFrameNumber) for x in src}),',
      '  "series_refs": [str(i.ReferencedSOPInstanceUID) for i in s.ReferencedSeriesSequence[0].ReferencedInstanceSequence]}))',
    ].join('\n'), seg, enhanced);
    expect(refs.uids).toEqual([refs.ct]);
    expect(refs.series_refs).toEqual([refs.ct]);
    expect(refs.frames).toEqual([1, 2, 3]);
  });

  it.skipIf(!hasDciodvfy)('dciodvfy reports no errors', () => {
    const r = spawnSync('dciodvfy', [seg], { encoding: 'utf8' });
    const errors = (r.stderr + r.stdout).split('\n').filter((l) => l.startsWith('Error'));
    expect(errors).toEqual([]);
  });

  it('reads back through import-seg on the enhanced CT with the same counts', () => {
    const r = runCli(['import-seg', seg, '--ct', enhanced, '--schema', schema, '--out', join(work, 'enhanced-in')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`labelled ${want.labelled}, liver ${want.liver}, spine ${want.spine}`);
  });
});

describe('DICOM SEG in, made by others', () => {
  it.skipIf(!existsSync(join(repoRoot, '..', 'shared', 'data', 'dcmqi-ct3slice-spine', 'liver.dcm')))('dcmqi\'s liver SEG lands on the CT grid with the reference count', () => {
    const dir = join(work, 'dcmqi-liver');
    const one = join(work, 'liver-only.json');
    const s = JSON.parse(readFileSync(schema, 'utf8'));
    s.structures = [s.structures[1]];
    spawnSync('/usr/bin/python3', ['-c', `import json,sys; json.dump(json.loads(sys.argv[1]), open(sys.argv[2],'w'))`, JSON.stringify(s), one]);
    const r = runCli(['import-seg', join(repoRoot, '..', 'shared', 'data', 'dcmqi-ct3slice-spine', 'liver.dcm'), '--ct', ct, '--schema', one, '--out', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`liver ${counts.liver}`);
  });
});

describe('NIfTI per structure, Slicer .seg.nrrd, nnU-Net v2', () => {
  it.skipIf(!hasPy)('NIfTI masks: nibabel counts equal the source', () => {
    const out = join(work, 'masks');
    expect(runCli(['export', ct, labels, '--schema', schema, '--format', 'nifti', '--out', out]).code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['labelled.nii.gz', 'liver.nii.gz', 'spine.nii.gz']);
    const j = py(`import sys,json,numpy as np,nibabel as nib
print(json.dumps({n: int(np.asarray(nib.load(sys.argv[1]+'/'+n+'.nii.gz').dataobj).sum()) for n in ['labelled','liver','spine']}))`, out);
    expect(j).toEqual(counts);
  });

  it('seg.nrrd: overlapping structures go to separate layers, names and colours kept', () => {
    const out = join(work, 'labels.seg.nrrd');
    const r = runCli(['export', ct, labels, '--schema', schema, '--format', 'seg-nrrd', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/3 segments in 2 layer\(s\)/);
    const v = readVolume(out);
    expect(v.segments?.map((s) => [s.name, s.layer, s.labelValue])).toEqual([['Liver and spine', 0, 1], ['Liver', 1, 1], ['Thoracic spine', 1, 2]]);
    const text = readFileSync(out).subarray(0, 3000).toString('latin1');
    expect(text).toContain('kinds: list domain domain domain');
    expect(text).toContain('Segment1_Color:=0.717647 0.109804 0.109804');
    const n = v.dims[0] * v.dims[1] * v.dims[2];
    let liver = 0;
    for (let i = 0; i < n; i++) if (v.data[n * 1 + i] === 1) liver++;
    expect(liver).toBe(counts.liver);
  });

  it.skipIf(!hasPy)('nnU-Net: dataset.json decodes every structure exactly with nnU-Net\'s region rule; import-predictions brings them back', () => {
    const ds = join(work, 'Dataset101_Osteon');
    const r = runCli(['export', ct, labels, '--schema', schema, '--format', 'nnunet', '--out', ds, '--case', 'case_001']);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(join(ds, 'imagesTr'))).toEqual(['case_001_0000.nii.gz']);
    // nnU-Net v2 rules (nnunetv2 LabelManager): regions are label lists; a region's mask is np.isin(seg, region).
    // Painting (convert_probabilities_to_segmentation with regions): for i, c in enumerate(regions_class_order): seg[pred[i]] = c.
    const j = py(`import sys,json,numpy as np,nibabel as nib
d = json.load(open(sys.argv[1]+'/dataset.json'))
lab = np.asarray(nib.load(sys.argv[1]+'/labelsTr/case_001.nii.gz').dataobj)
src = np.asarray(nib.load(sys.argv[2]).dataobj)
truth = {'labelled': np.isin(src,[1,2]), 'liver': src==1, 'spine': src==2}
regions = [k for k in d['labels'] if k != 'background']
exact = {k: bool(np.array_equal(np.isin(lab, d['labels'][k]), truth[k])) for k in regions}
paint = np.zeros(lab.shape, np.uint8)
for k, c in zip(regions, d['regions_class_order']): paint[truth[k]] = c
nib.save(nib.Nifti1Image(paint, nib.load(sys.argv[2]).affine), sys.argv[3]+'/case_001.nii.gz')
print(json.dumps({'exact': exact, 'order_len': len(d['regions_class_order']) == len(regions), 'numTraining': d['numTraining'], 'painted_equals_atoms': bool(np.array_equal(paint, lab))}))`,
    ds, labels, (() => { const p = join(work, 'nnunet-out'); spawnSync('mkdir', ['-p', p]); return p; })());
    expect(j).toEqual({ exact: { labelled: true, liver: true, spine: true }, order_len: true, numTraining: 1, painted_equals_atoms: true });
    const back = join(work, 'preds');
    const imp = runCli(['import-predictions', join(work, 'nnunet-out'), '--dataset', join(ds, 'dataset.json'), '--schema', schema, '--out', back]);
    expect(imp.code, imp.stderr).toBe(0);
    expect(imp.stdout).toContain(`case_001: labelled ${counts.labelled}, liver ${counts.liver}, spine ${counts.spine}`);
    expect(readdirSync(join(back, 'case_001')).sort()).toEqual(['labelled.nii.gz', 'liver.nii.gz', 'prediction.json', 'spine.nii.gz']);
  });
});
