// What hardening must still accept: detached headers imported with their data files (paths
// rewritten, the copy opens on its own, the source folder may then vanish), a schema and a
// labels.json with a UTF-8 BOM, a DICOM folder holding a dangling symlink beside its slices, and
// a claimed volume over the default limit when OSTEON_MAX_VOLUME_BYTES raises it. Values are
// compared with the source volume read by the same reader before the import.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readDicomSeries } from '../../app/imaging/dicom.ts';
import { readVolume } from '../../app/imaging/io.ts';
import { encodeNifti, writeNifti } from '../../app/imaging/nifti.ts';
import { loadLabelSchema } from '../../app/labels/schema.ts';
import { loadLabels } from '../../app/labels/load.ts';
import { importCase } from '../../app/store/cases.ts';
import { createProject, openProject } from '../../app/store/project.ts';
import { MAX_BYTES_ENV, defaultMaxBytes } from '../../app/imaging/types.ts';
import { VALID_SCHEMA, dicomSlice, validCt, validLabels } from './generate.ts';

const root = mkdtempSync(join(tmpdir(), 'osteon-accept-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const ctl = { signal: new AbortController().signal, progress: () => {} };

function detached(dir: string): Record<string, string> {
  mkdirSync(dir, { recursive: true });
  const v = validCt();
  const raw = Buffer.from(v.data.buffer);
  writeFileSync(join(dir, 'vol.raw'), raw);
  writeFileSync(join(dir, 'ct.nhdr'), 'NRRD0004\ntype: short\ndimension: 3\nspace: left-posterior-superior\nsizes: 8 8 4\nspace directions: (1,0,0) (0,1,0) (0,0,2)\nendian: little\nencoding: raw\ndata file: vol.raw\n\n');
  writeFileSync(join(dir, 'ct.mhd'), 'ObjectType = Image\nNDims = 3\nBinaryData = True\nCompressedData = False\nDimSize = 8 8 4\nElementSpacing = 1 1 2\nElementType = MET_SHORT\nElementDataFile = vol.raw\n');
  const nii = encodeNifti(v);
  const hdr = Buffer.from(nii.subarray(0, 348));
  hdr.write('ni1\0', 344, 'latin1');
  hdr.writeFloatLE(0, 108);
  writeFileSync(join(dir, 'ct.hdr'), hdr);
  writeFileSync(join(dir, 'ct.img'), nii.subarray(352));
  return { nhdr: join(dir, 'ct.nhdr'), mhd: join(dir, 'ct.mhd'), hdr: join(dir, 'ct.hdr') };
}

describe('still accepted', () => {
  it.each(['nhdr', 'mhd', 'hdr'])('import of a .%s copies its data file; the copy opens after the source is gone', async (kind) => {
    const src = join(root, `src-${kind}`);
    const files = detached(src);
    const before = readVolume(files[kind]);
    const p = createProject(join(root, `proj-${kind}`), kind);
    const c = await importCase(p, { ct: files[kind], name: kind }, ctl);
    rmSync(src, { recursive: true, force: true });
    const q = openProject(p.dir);
    const copy = readVolume(join(q.dir, 'cases', c.id, c.files.ct));
    expect(copy.dims).toEqual(before.dims);
    expect(Array.from(copy.data)).toEqual(Array.from(before.data));
    if (kind !== 'hdr') expect(readFileSync(join(q.dir, 'cases', c.id, c.files.ct), 'latin1')).toMatch(/(data file: |ElementDataFile = )ct\.data\.raw/);
  });

  it('a schema and a labels.json with a UTF-8 BOM', () => {
    const dir = join(root, 'bom');
    mkdirSync(dir);
    writeFileSync(join(dir, 'schema.json'), '\uFEFF' + JSON.stringify(VALID_SCHEMA));
    expect(loadLabelSchema(join(dir, 'schema.json')).structures.map((s) => s.id)).toEqual(['a', 'b']);
    writeNifti(join(dir, 'ct.nii.gz'), validCt());
    writeNifti(join(dir, 'labels.nii.gz'), validLabels());
    writeFileSync(join(dir, 'labels.json'), '\uFEFF' + JSON.stringify({ labels: { 1: 'femur', 2: 'tibia' } }));
    const ct = readVolume(join(dir, 'ct.nii.gz'));
    const l = loadLabels({ files: [join(dir, 'labels.nii.gz')], schema: null, schemaPath: null, map: {} }, ct, join(dir, 'ct.nii.gz'));
    expect(l.set.schema.structures.map((s) => s.name)).toEqual(['femur', 'tibia']);
    expect(l.warnings.join('\n')).not.toMatch(/labels\.json/);
  });

  it('a DICOM folder with a dangling symlink beside its slices', () => {
    const dir = join(root, 'dicom');
    mkdirSync(dir);
    for (let k = 0; k < 3; k++) writeFileSync(join(dir, `s${k}.dcm`), dicomSlice(k));
    symlinkSync(join(dir, 'gone.dcm'), join(dir, 'zz.dcm'));
    const v = readDicomSeries(dir);
    expect(v.dims).toEqual([8, 8, 3]);
  });

  it(`${MAX_BYTES_ENV} moves the claimed-volume limit both ways`, () => {
    const dir = join(root, 'limit');
    mkdirSync(dir);
    const f = join(dir, 'ct.nii.gz');
    writeNifti(f, validCt()); // 512 bytes of voxels
    const old = process.env[MAX_BYTES_ENV];
    try {
      process.env[MAX_BYTES_ENV] = '100';
      expect(defaultMaxBytes()).toBe(100);
      expect(() => readVolume(f)).toThrow(/512 bytes \(0\.0 MiB\) exceeds the limit of 100 bytes/);
      process.env[MAX_BYTES_ENV] = '1000';
      expect(readVolume(f).dims).toEqual([8, 8, 4]);
    } finally {
      if (old === undefined) delete process.env[MAX_BYTES_ENV];
      else process.env[MAX_BYTES_ENV] = old;
    }
  });
});
