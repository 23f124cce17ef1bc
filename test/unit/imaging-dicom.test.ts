// DICOM series reading against pydicom. Golden values: test/fixtures/imaging/golden.json (the
// dcmqi 3-slice CT) and test/fixtures/imaging/dicom-variants/golden.json, both computed by
// scripts/reference/imaging_golden.py:dicom_folder (pydicom 2.3.1: slices sorted along the IOP
// normal, HU = pixel·RescaleSlope + RescaleIntercept, int16 when integral). The variants are
// written by scripts/reference/imaging_dicom_variants.py (pydicom, random pixels, shuffled names).
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDicomSeries } from '../../app/imaging/dicom.ts';
import { readVolume } from '../../app/imaging/io.ts';
import { OsteonError } from '../../app/util/errors.ts';
import { fixtures } from '../helpers/env.ts';
import { expectGolden, loadGolden } from '../fixtures/imaging/golden.ts';

const variants = join(fixtures, 'imaging', 'dicom-variants');

function failure(f: () => unknown): OsteonError {
  try { f(); } catch (e) {
    expect(e).toBeInstanceOf(OsteonError);
    return e as OsteonError;
  }
  throw new Error('expected an error');
}

describe('DICOM series vs pydicom', () => {
  it('dcmqi 3-slice CT (implicit VR LE, GE): HU int16, LPS geometry', () => {
    const v = readVolume(join(fixtures, 'imaging', 'dcmqi', 'dicom'));
    expectGolden(v, loadGolden('golden.json')['dcmqi-ct3slice-spine/dicom']);
    expect(v.format).toBe('dicom');
    expect(v.warnings).toEqual([]);
    expect(v.meta.Modality).toBe('CT');
  });

  const golden = loadGolden('dicom-variants/golden.json');
  const evenCases = Object.keys(golden).filter((k) => k !== 'missing_slice');
  it.each(evenCases)('%s', (name) => {
    const v = readDicomSeries(join(variants, name));
    expectGolden(v, golden[name]);
    expect(v.warnings).toEqual([]);
  });

  it('refuses missing slices naming the file and the field, and writes nothing', () => {
    const e = failure(() => readDicomSeries(join(variants, 'missing_slice')));
    expect(e.code).toBe('bad-input');
    expect(e.field).toBe('ImagePositionPatient');
    expect(e.message).toMatch(/about 1 slice\(s\) missing: 3\.000 mm between .* median gap 1\.500 mm/);
  });
});

describe('DICOM errors', () => {
  it('a folder with two series names both and how to choose', () => {
    const e = failure(() => readVolume(join(variants, 'two_series')));
    expect(e.code).toBe('bad-input');
    expect(e.field).toBe('SeriesInstanceUID');
    expect(e.message).toMatch(/holds 2 series/);
    expect(e.message).toContain('1.2.826.0.1.3680043.8.498.101 (2 files, series 1');
    expect(e.message).toContain('1.2.826.0.1.3680043.8.498.102 (3 files, series 2');
    const v = readDicomSeries(join(variants, 'two_series'), { seriesUid: '1.2.826.0.1.3680043.8.498.102' });
    expect(v.dims[2]).toBe(3);
    expect(failure(() => readDicomSeries(join(variants, 'two_series'), { seriesUid: '9.9' })).code).toBe('not-found');
  });

  it('a broken JPEG 2000 codestream is refused naming the file, PixelData and the frame', () => {
    const e = failure(() => readVolume(join(variants, 'jpeg2000')));
    expect(e.code).toBe('bad-input');
    expect(e.field).toBe('PixelData');
    expect(e.message).toMatch(/j2k\.dcm: PixelData: frame 1 decoded to 0 samples/);
  });
});

describe('DICOM folder housekeeping', () => {
  it('skips stray non-DICOM files (reported) but refuses a broken .dcm', () => {
    const dir = mkdtempSync(join(tmpdir(), 'osteon-dcm-'));
    try {
      const src = join(variants, 'float_rescale');
      for (const f of readdirSync(src)) copyFileSync(join(src, f), join(dir, f));
      writeFileSync(join(dir, 'VERSION'), 'scanner export 1.0\n');
      const v = readDicomSeries(dir);
      expect(v.dims).toEqual([6, 5, 3]);
      expect(v.warnings).toEqual(['VERSION: skipped (not a DICOM file)']);
      writeFileSync(join(dir, 'broken.dcm'), 'not dicom');
      expect(failure(() => readDicomSeries(dir)).message).toMatch(/^\/\S+\/broken\.dcm: preamble: not a DICOM file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
