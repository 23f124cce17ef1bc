// Every image in ../shared/data read by Osteon versus nibabel / pydicom. Golden values:
// test/fixtures/imaging/golden.json, from
//   /usr/bin/python3 scripts/reference/imaging_golden.py ../shared/data > test/fixtures/imaging/golden.json
// (nibabel 5.0.0 np.asarray(img.dataobj), affine → LPS with diag(-1,-1,1); pydicom 2.3.1 for the
// DICOM folder: slices sorted along the IOP normal, HU = pixel·slope + intercept, as int16).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readVolume } from '../../app/imaging/io.ts';
import { axisCodes, sameGrid } from '../../app/imaging/volume.ts';
import { sharedDir, skipNotice } from '../helpers/env.ts';
import { differing, expectGolden, loadGolden, voxelHash } from '../fixtures/imaging/golden.ts';

const shared = sharedDir();
const golden = loadGolden('golden.json');
const niftis = Object.keys(golden).filter((k) => k.endsWith('.nii.gz'));

describe.skipIf(!shared)('imaging golden values on ../shared/data', () => {
  it.each(niftis)('%s', (key) => {
    const v = readVolume(join(shared as string, 'data', key));
    expectGolden(v, golden[key]);
    if (key.startsWith('tptbox')) expect(axisCodes(v).join('')).toBe('PIR');
    if (key.startsWith('totalseg')) expect(axisCodes(v).join('')).toBe('RAS');
  });

  it('dcmqi DICOM folder equals pydicom and its NIfTI twin ct.nii.gz (same HU voxels in LPS)', () => {
    const dir = join(shared as string, 'data', 'dcmqi-ct3slice-spine');
    const dcm = readVolume(join(dir, 'dicom'));
    expectGolden(dcm, golden['dcmqi-ct3slice-spine/dicom']);
    const nii = readVolume(join(dir, 'ct.nii.gz'));
    expect(sameGrid(dcm, nii)).toBe(true);
    expect(voxelHash(dcm)).toBe(voxelHash(nii));
  });

  it('dcmqi NRRD labels equal the NIfTI label twin', () => {
    const dir = join(shared as string, 'data', 'dcmqi-ct3slice-spine');
    const nrrd = readVolume(join(dir, 'liver_spine_seg.nrrd'));
    const nii = readVolume(join(dir, 'liver_spine_seg.nii.gz'));
    expect(sameGrid(nrrd, nii)).toBe(true);
    expect(differing(nrrd, nii)).toBe(0);
  });
});

if (!shared) skipNotice('imaging golden values on ../shared/data', '../shared/data');
