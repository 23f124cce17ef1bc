// case.attachPrediction's store side (app/store/cases.ts attachPrediction): a prediction on the
// CT's grid is copied into the case and served as volume kind 'prediction'; another grid is
// refused with the field named; the source is never modified; re-attaching replaces the cache.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readAudit } from '../../app/store/audit.ts';
import { attachPrediction, importCase, rawVolume } from '../../app/store/cases.ts';
import { createProject } from '../../app/store/project.ts';
import { readVolume, writeVolume } from '../../app/imaging/io.ts';
import { OsteonError } from '../../app/util/errors.ts';
import { repoRoot } from '../helpers/env.ts';

const phantom = join(repoRoot, 'resources', 'sample', 'phantom');
const src = { ct: join(phantom, 'case-000', 'ct.nii.gz'), labels: join(phantom, 'case-000', 'labels.nii.gz'), schema: join(phantom, 'schema.json') };
const pelvisLabels = join(repoRoot, 'resources', 'sample', 'pelvis', 'labels.nii.gz');
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const ctl = () => ({ signal: new AbortController().signal, progress: () => {} });

let tmp: string;
beforeEach(() => { tmp = mkdtempSync(join(tmpdir(), 'osteon-pred-')); });
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

describe('attachPrediction', () => {
  it('copies a same-grid prediction, serves it as kind prediction, and replaces it on re-attach', async () => {
    const p = createProject(join(tmp, 'p'), 'Pred');
    const c = await importCase(p, { ...src, name: 'Phantom 0' }, ctl());
    expect(() => rawVolume(p, c.id, 'prediction')).toThrow(/has no prediction/);
    const labels = readVolume(src.labels);
    expect(labels.data.filter((v) => v === 1).length).toBeGreaterThan(0);
    const pred = join(tmp, 'pred.nii.gz');
    writeVolume(pred, { ...labels, data: labels.data.map((v) => (v === 1 ? 0 : v)) });
    const before = sha(pred);
    expect(attachPrediction(p, c.id, pred)).toBe('prediction.nii.gz');
    expect(sha(pred)).toBe(before);
    const raw = rawVolume(p, c.id, 'prediction');
    expect(raw.dims).toEqual(labels.dims);
    expect(new Uint8Array(readFileSync(raw.path)).filter((v) => v === 1).length).toBe(0);
    // Attach the unchanged labels: the raw cache must follow (it was removed and rebuilt).
    attachPrediction(p, c.id, src.labels);
    const again = rawVolume(p, c.id, 'prediction');
    expect(new Uint8Array(readFileSync(again.path)).filter((v) => v === 1).length).toBe(labels.data.filter((v) => v === 1).length);
    expect(readAudit(p.dir).filter((e) => e.action === 'case.attachPrediction')).toHaveLength(2);
  });

  it('refuses a prediction on another grid, naming the field', async () => {
    const p = createProject(join(tmp, 'p'), 'Pred');
    const c = await importCase(p, { ...src, name: 'Phantom 0' }, ctl());
    let err: unknown;
    try {
      attachPrediction(p, c.id, pelvisLabels);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OsteonError);
    expect((err as OsteonError).field).toBe('dims');
    expect(() => attachPrediction(p, c.id, join(tmp, 'x.txt'))).toThrow(/must be \.nii\.gz/);
  });
});
