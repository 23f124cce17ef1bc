// DICOM SEG into a case through the contract (case.importSeg), as the UI calls it: real services
// behind an in-memory contract pair. The SEG is Osteon's export of the dcmqi CT's labels (a whole
// that covers liver and spine, so it overlaps both; pydicom and dciodvfy check that file in
// exchange-cli.test.ts); reference counts from nibabel on liver_spine_seg.nii.gz: whole 119537,
// liver 107098, spine 12439. dcmqi's own liver.dcm (made by dcmqi, as Slicer does) is used when
// ../shared is present.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contract, createClient, memoryPair, runJob, serve, type OsteonClient } from '../../app/contract/index.ts';
import { readVolume } from '../../app/imaging/io.ts';
import { createServices, type Services } from '../../app/services/services.ts';
import { readAudit } from '../../app/store/audit.ts';
import { fixtures, sharedDir } from '../helpers/env.ts';

const ct = join(fixtures, 'imaging', 'dcmqi', 'dicom');
const labels = join(fixtures, 'imaging', 'dcmqi', 'liver_spine_seg.nii.gz');
const schema = join(fixtures, 'exchange', 'dcmqi-overlap.json');
const counts = { labelled: 119537, liver: 107098, spine: 12439 };

let tmp: string, services: Services, client: OsteonClient, project: string;
let labelled: string, bare: string, seg: string;

function channelCounts(file: string): number[] {
  const v = readVolume(file);
  const n = v.dims[0] * v.dims[1] * v.dims[2];
  return Array.from({ length: v.channels }, (_, c) => { let s = 0; for (let i = 0; i < n; i++) s += v.data[c * n + i] ? 1 : 0; return s; });
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'osteon-seg-import-'));
  services = createServices({ host: 'test', home: join(tmp, 'home'), volumeUrl: (c, k) => `/api/volume/${c}/${k}` });
  const [a, b] = memoryPair();
  const served = serve(contract, services.handlers, a, undefined);
  services.subscribe((n, payload) => served.emit(n, payload as never));
  client = createClient(contract, b) as OsteonClient;
  project = join(tmp, 'project');
  await client.call('project.create', { dir: project, name: 'seg-import' });
  labelled = (await runJob(client, 'case.import', () => client.call('case.import', { ct, labels, schema, name: 'with-labels' }))).id;
  bare = (await runJob(client, 'case.import', () => client.call('case.import', { ct, schema, name: 'ct-only' }))).id;
  seg = join(tmp, 'labels.seg.dcm');
  await client.call('case.exportAs', { caseId: labelled, source: 'labels', format: 'dicom-seg', out: seg, run: 'run-1' });
}, 120_000);
afterAll(async () => { await services?.dispose(); rmSync(tmp, { recursive: true, force: true }); });

describe('case.importSeg', () => {
  it('as a prediction: every structure from its segment, overlaps kept, served for compare mode', async () => {
    const r = await client.call('case.importSeg', { caseId: labelled, seg, as: 'prediction' });
    expect(r.file).toBe('prediction.nii.gz');
    expect(r.structures).toEqual([
      { id: 'labelled', segment: 'Liver and spine', voxels: counts.labelled },
      { id: 'liver', segment: 'Liver', voxels: counts.liver },
      { id: 'spine', segment: 'Thoracic spine', voxels: counts.spine },
    ]);
    const meta = await client.call('volume.get', { caseId: labelled, kind: 'prediction' });
    expect(meta.channels).toBe(3);
    expect(meta.dims).toEqual([512, 512, 3]);
    expect(channelCounts(join(project, 'cases', labelled, 'prediction.nii.gz'))).toEqual([counts.labelled, counts.liver, counts.spine]);
    // The case's (label-map) schema still reads it: exports of the prediction keep the overlaps.
    const out = join(tmp, 'pred-masks');
    await client.call('case.exportAs', { caseId: labelled, source: 'prediction', format: 'nifti', out });
    expect(['labelled', 'liver', 'spine'].map((s) => channelCounts(join(out, `${s}.nii.gz`))[0])).toEqual([counts.labelled, counts.liver, counts.spine]);
    expect(readAudit(project).filter((e) => e.action === 'case.importSeg')).toHaveLength(1);
  });

  it('as labels of a case imported without any: the ground truth with its analysis, overlaps kept', async () => {
    const r = await client.call('case.importSeg', { caseId: bare, seg, as: 'labels' });
    expect(r.file).toBe('labels.nii.gz');
    expect(r.structures.map((s) => s.voxels)).toEqual([counts.labelled, counts.liver, counts.spine]);
    const c = await client.call('case.get', { caseId: bare });
    expect(c.summary.files.labels).toBe('labels.nii.gz');
    expect(c.summary.sources.labels).toBe(seg);
    expect(JSON.stringify(c.analysis)).toContain(String(counts.liver));
    expect((await client.call('volume.get', { caseId: bare, kind: 'labels' })).channels).toBe(3);
    // A SEG exported from these labels holds the same segments (the round trip keeps overlaps).
    const again = join(tmp, 'again.seg.dcm');
    const e = await client.call('case.exportAs', { caseId: bare, source: 'labels', format: 'dicom-seg', out: again });
    expect(e.summary).toMatch(/3 segments/);
  });

  it('never overwrites a ground truth; an unknown segment names the file and field; nothing is written', async () => {
    const before = readFileSync(join(project, 'cases', labelled, 'labels.nii.gz'));
    const err = await client.call('case.importSeg', { caseId: labelled, seg, as: 'labels' }).then(() => null, (x: unknown) => x as { code: string; message: string });
    expect(err?.code).toBe('usage');
    expect(err?.message).toMatch(/already has labels/);
    expect(readFileSync(join(project, 'cases', labelled, 'labels.nii.gz')).equals(before)).toBe(true);
    const bad = await client.call('case.importSeg', { caseId: labelled, seg, as: 'prediction', map: { Nothing: 'liver' } }).then(() => null, (x: unknown) => x as { code: string; message: string });
    expect(bad?.code).toBe('bad-input');
    expect(bad?.message).toContain(`${seg}: SegmentSequence: no segment for structure "liver"`);
  });

  const liver = sharedDir() ? join(sharedDir()!, 'data', 'dcmqi-ct3slice-spine', 'liver.dcm') : '';
  it.skipIf(!liver || !existsSync(liver))('dcmqi\'s liver.dcm (made by dcmqi) lands on a one-structure case with the reference count', async () => {
    const one = join(tmp, 'liver-only.json');
    const s = JSON.parse(readFileSync(schema, 'utf8')) as { structures: unknown[] };
    s.structures = [s.structures[1]];
    const { writeFileSync } = await import('node:fs');
    writeFileSync(one, JSON.stringify(s));
    const id = (await runJob(client, 'case.import', () => client.call('case.import', { ct, schema: one, name: 'dcmqi-liver' }))).id;
    const r = await client.call('case.importSeg', { caseId: id, seg: liver, as: 'prediction' });
    expect(r.structures).toEqual([{ id: 'liver', segment: expect.any(String) as string, voxels: counts.liver }]);
  });
});
