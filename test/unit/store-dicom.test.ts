// The project store with DICOM: importing one series out of a folder that holds several (only
// its files are copied; the decode reports progress per file), and exporting the case's labels
// as a DICOM SEG and a Slicer .seg.nrrd (overlaps kept; readers checked in exchange-cli.test.ts).
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readDicomSeg } from '../../app/exchange/dicom-seg-read.ts';
import { readVolume } from '../../app/imaging/io.ts';
import { readAudit } from '../../app/store/audit.ts';
import { exportCaseAs } from '../../app/store/case-export.ts';
import { caseDir, importCase, type JobControl } from '../../app/store/cases.ts';
import { createProject } from '../../app/store/project.ts';
import { fixtures } from '../helpers/env.ts';

let tmp: string;
beforeEach(() => { tmp = mkdtempSync(join(tmpdir(), 'osteon-store-dicom-')); });
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

function control(): JobControl & { messages: string[] } {
  const messages: string[] = [];
  return { messages, signal: new AbortController().signal, progress: (_f, m) => { messages.push(m); } };
}

describe('DICOM cases', () => {
  it('imports the chosen series of a two-series folder, then exports SEG and seg.nrrd', async () => {
    // A folder with the dcmqi CT (3 slices) and the JPEG-LS crop (another series).
    const mixed = join(tmp, 'export');
    mkdirSync(mixed);
    const ct = join(fixtures, 'imaging', 'dcmqi', 'dicom');
    for (const f of readdirSync(ct)) copyFileSync(join(ct, f), join(mixed, `A${f}`));
    const other = join(fixtures, 'imaging', 'dicom-codecs', 'jpegls_lossless');
    for (const f of readdirSync(other)) copyFileSync(join(other, f), join(mixed, `B${f}`));
    const uid = readVolume(ct).meta.SeriesInstanceUID;
    const p = createProject(join(tmp, 'p'), 'dicom');
    const ctl = control();
    const c = await importCase(p, {
      ct: mixed, seriesUid: uid, labels: join(fixtures, 'imaging', 'dcmqi', 'liver_spine_seg.nii.gz'), schema: join(fixtures, 'exchange', 'dcmqi-overlap.json'),
    }, ctl);
    expect(readdirSync(join(caseDir(p, c.id), c.files.ct))).toHaveLength(3);
    expect(ctl.messages.some((m) => /decoding export: 3\/3 files/.test(m))).toBe(true);

    const seg = join(tmp, 'out', 'labels.dcm');
    const r = exportCaseAs(p, { caseId: c.id, source: 'labels', format: 'dicom-seg', out: seg });
    expect(r.summary).toMatch(/3 segments .*MANUAL/);
    const back = readDicomSeg(seg, readVolume(ct));
    expect(back.segments.map((s) => [s.label, s.mask.reduce((a, b) => a + b, 0)])).toEqual([['Liver and spine', 119537], ['Liver', 107098], ['Thoracic spine', 12439]]);
    expect(back.referencedSeries).toEqual([uid]);

    const nrrd = exportCaseAs(p, { caseId: c.id, source: 'labels', format: 'seg-nrrd', out: join(tmp, 'out', 'labels.seg.nrrd') });
    expect(nrrd.summary).toMatch(/3 segments in 2 layer/);
    expect(readAudit(p.dir).map((e) => e.action).filter((a) => a === 'case.exportAs')).toHaveLength(2);
    expect(() => exportCaseAs(p, { caseId: c.id, source: 'prediction', format: 'nifti', out: join(tmp, 'x') })).toThrow(/has no prediction/);
  });
});
