// The DICOM commands as a user runs them: `osteon convert` (geometry checked by nibabel, the
// reference for NIfTI, and pydicom for the DICOM side), `osteon inspect IMAGE`, `--series`, and
// refusals that exit 2, name the file and field, and write nothing.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { fixtures, hasPythonModule } from '../helpers/env.ts';

const codecs = join(fixtures, 'imaging', 'dicom-codecs');
const work = mkdtempSync(join(tmpdir(), 'osteon-dicom-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const py = (code: string, ...args: string[]) => {
  const r = spawnSync('/usr/bin/python3', ['-c', code, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
};

describe('osteon convert', () => {
  it.skipIf(!hasPythonModule('nibabel') || !hasPythonModule('pydicom'))('JPEG 2000 series → NIfTI: nibabel sees pydicom\'s voxels and geometry (LPS→RAS)', () => {
    const out = join(work, 'ct.nii.gz');
    const r = runCli(['convert', join(codecs, 'j2k_lossless'), out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // nibabel: data and affine of what Osteon wrote; pydicom: the source (uncompressed twin) in RAS.
    const ref = py(`
import sys, json, os, numpy as np, nibabel as nib, pydicom
img = nib.load(sys.argv[1]); a = np.asarray(img.dataobj)
src = sys.argv[2]
ds = sorted([pydicom.dcmread(os.path.join(src, f)) for f in os.listdir(src)], key=lambda d: float(d.ImagePositionPatient[2]))
vol = np.stack([d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept) for d in ds])  # z,y,x
iop = np.array(ds[0].ImageOrientationPatient, float); ps = np.array(ds[0].PixelSpacing, float)
dz = float(ds[1].ImagePositionPatient[2]) - float(ds[0].ImagePositionPatient[2])
lps = np.eye(4); lps[:3,0] = iop[:3]*ps[1]; lps[:3,1] = iop[3:]*ps[0]; lps[:3,2] = np.cross(iop[:3], iop[3:])*dz; lps[:3,3] = np.array(ds[0].ImagePositionPatient, float)
ras = np.diag([-1,-1,1,1]) @ lps
print(json.dumps({'same_voxels': bool(np.array_equal(a.transpose(2,1,0), vol)), 'affine_err': float(np.abs(img.affine - ras).max()), 'dtype': str(a.dtype), 'sform': int(img.header['sform_code'])}))
`, out, join(codecs, 'explicit_le'));
    expect(ref).toEqual({ same_voxels: true, affine_err: expect.any(Number), dtype: 'int16', sform: 1 });
    expect(ref.affine_err as number).toBeLessThan(1e-4);
  });

  it('NIfTI → NRRD → MetaImage keeps voxels and geometry', () => {
    const nii = join(work, 'x.nii.gz'), nrrd = join(work, 'x.nrrd'), mha = join(work, 'x.mha');
    expect(runCli(['convert', join(codecs, 'rle'), nii]).code).toBe(0);
    expect(runCli(['convert', nii, nrrd]).code).toBe(0);
    expect(runCli(['convert', nrrd, mha]).code).toBe(0);
    const a = runCli(['inspect', nii, '--json']), b = runCli(['inspect', mha, '--json']);
    const ga = JSON.parse(a.stdout).image, gb = JSON.parse(b.stdout).image;
    expect(gb.geometry.dims).toEqual(ga.geometry.dims);
    gb.geometry.origin.forEach((x: number, i: number) => expect(x).toBeCloseTo(ga.geometry.origin[i], 5));
    expect(gb.range).toEqual(ga.range);
  });

  it('refuses a series with a missing slice: exit 2, file and field named, nothing written', () => {
    const dir = join(work, 'gap');
    mkdirSync(dir);
    for (const f of readdirSync(join(fixtures, 'imaging', 'dicom-variants', 'missing_slice'))) copyFileSync(join(fixtures, 'imaging', 'dicom-variants', 'missing_slice', f), join(dir, f));
    const out = join(work, 'gap.nii.gz');
    const r = runCli(['convert', dir, out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ImagePositionPatient: about 1 slice\(s\) missing/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('osteon inspect IMAGE and series choice', () => {
  it('one DICOM image: dims, spacing, orientation, values, transfer syntax', () => {
    const r = runCli(['inspect', join(codecs, 'jpegls_lossless')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/JPEG-LS Lossless/);
    expect(r.stdout).toMatch(/dims 96×80×3, spacing \(0\.8105, 0\.8105, 1\) mm/);
    expect(r.stdout).toMatch(/values -958\.\.221/);
  });

  it('a folder with two series lists them; --series picks one; an unknown UID exits 2', () => {
    const two = join(fixtures, 'imaging', 'dicom-variants', 'two_series');
    const list = runCli(['inspect', two]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/2 series; choose one with --series UID/);
    expect(list.stdout).toContain('1.2.826.0.1.3680043.8.498.102');
    const one = runCli(['inspect', two, '--series', '1.2.826.0.1.3680043.8.498.102', '--json']);
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout).image.geometry.dims[2]).toBe(3);
    const bad = runCli(['convert', two, join(work, 'none.nii.gz'), '--series', '9.9']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/SeriesInstanceUID: series 9\.9 is not in two_series/);
    const none = runCli(['convert', two, join(work, 'none.nii.gz')]);
    expect(none.code).toBe(2);
    expect(existsSync(join(work, 'none.nii.gz'))).toBe(false);
  });

  it.skipIf(spawnSync('which', ['dcmmkdir']).status !== 0)('a DICOMDIR with extensionless files (made by dcmtk dcmmkdir)', () => {
    const root = join(work, 'media');
    mkdirSync(join(root, 'IMAGES'), { recursive: true });
    readdirSync(join(codecs, 'explicit_le')).forEach((f, i) => copyFileSync(join(codecs, 'explicit_le', f), join(root, 'IMAGES', `IM${i + 1}`)));
    const mk = spawnSync('dcmmkdir', ['--recurse', '--output-file', 'DICOMDIR', '+id', root, 'IMAGES'], { cwd: root, encoding: 'utf8' });
    expect(mk.status, mk.stderr).toBe(0);
    const r = runCli(['inspect', join(root, 'DICOMDIR'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).image.geometry.dims).toEqual([96, 80, 3]);
  });
});
