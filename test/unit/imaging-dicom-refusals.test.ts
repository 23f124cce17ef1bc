// Series Osteon refuses rather than resample: gantry tilt, non-uniform spacing, mixed
// orientations. Made from the explicit-LE fixture series by pydicom (positions / orientation
// edited), read by the CLI's reader; each refusal names the file and the field.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readDicomSeries } from '../../app/imaging/dicom.ts';
import { OsteonError } from '../../app/util/errors.ts';
import { fixtures, hasPythonModule } from '../helpers/env.ts';

const src = join(fixtures, 'imaging', 'dicom-codecs', 'explicit_le');
const work = mkdtempSync(join(tmpdir(), 'osteon-dicom-refuse-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Copies the 3-slice series to `name`, applying `edit` (Python, `ds` and slice index `k`). */
function variant(name: string, edit: string): string {
  const out = join(work, name);
  const code = `
import os, sys, pydicom
src, out = sys.argv[1], sys.argv[2]; os.makedirs(out)
for k, f in enumerate(sorted(os.listdir(src))):
    ds = pydicom.dcmread(os.path.join(src, f))
${edit.split('\n').map((l) => '    ' + l).join('\n')}
    ds.save_as(os.path.join(out, f))
`;
  const r = spawnSync('/usr/bin/python3', ['-c', code, src, out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return out;
}

function refusal(dir: string): OsteonError {
  try { readDicomSeries(dir); } catch (e) {
    expect(e).toBeInstanceOf(OsteonError);
    return e as OsteonError;
  }
  throw new Error('expected a refusal');
}

describe.skipIf(!hasPythonModule('pydicom'))('DICOM series refusals', () => {
  it('gantry tilt: slice origins drift in-plane', () => {
    const e = refusal(variant('tilt', `p = [float(x) for x in ds.ImagePositionPatient]\nds.ImagePositionPatient = [p[0], p[1] + 0.5 * k, p[2]]\nds.GantryDetectorTilt = 15`));
    expect(e.code).toBe('unsupported');
    expect(e.field).toBe('ImagePositionPatient');
    expect(e.message).toMatch(/\/0[13]\.dcm: ImagePositionPatient: slice origins drift 1\.000 mm in-plane .*gantry tilt \(GantryDetectorTilt 15(\.0)?\)/);
  });

  it('non-uniform spacing beyond 1 %', () => {
    const e = refusal(variant('uneven', `p = [float(x) for x in ds.ImagePositionPatient]\nds.ImagePositionPatient = [p[0], p[1], p[2] + (0.2 if k == 2 else 0)]`));
    expect(e.field).toBe('ImagePositionPatient');
    expect(e.message).toMatch(/slice spacing not uniform \(gaps 0\.800 to 1\.000 mm, tolerance 1 %\)/);
  });

  it('mixed orientations in one series', () => {
    const e = refusal(variant('mixed', `if k == 1: ds.ImageOrientationPatient = [1, 0, 0, 0, 0.9998477, -0.0174524]`));
    expect(e.field).toBe('ImageOrientationPatient');
    expect(e.message).toMatch(/\/02\.dcm: ImageOrientationPatient: .* differs from 01\.dcm in the same series/);
  });

  it('a spacing difference inside the tolerance is accepted (mean spacing)', () => {
    const v = readDicomSeries(variant('jitter', `p = [float(x) for x in ds.ImagePositionPatient]\nds.ImagePositionPatient = [p[0], p[1], p[2] + (0.004 if k == 1 else 0)]`));
    expect(v.dims[2]).toBe(3);
    expect(v.spacing[2]).toBeCloseTo(1, 6);
  });
});
