/**
 * `osteon export CT LABELS... --schema S --format F --out OUT`: a case's (or a prediction's)
 * structures for other tools, overlaps kept: DICOM SEG for the PACS, one NIfTI per structure,
 * a Slicer .seg.nrrd, or a case of an nnU-Net v2 region-based dataset. Written atomically.
 */
import { basename } from 'node:path';
import type { Command } from '../command.ts';
import { enumOpt, mapOpt, requiredString, schemaOpt } from '../options.ts';
import { exportNiftiMasks, exportNnUNet, exportSegNrrd } from '../../exchange/exports.ts';
import { writeDicomSeg } from '../../exchange/dicom-seg-write.ts';
import { isDicomPath, readVolume } from '../../imaging/io.ts';
import { loadLabels } from '../../labels/load.ts';
import { loadLabelSchema } from '../../labels/schema.ts';
import { usageError } from '../../util/errors.ts';

const FORMATS = ['dicom-seg', 'nifti', 'seg-nrrd', 'nnunet'] as const;

export const command: Command = {
  name: 'export',
  summary: 'Export labels or a prediction: DICOM SEG, NIfTI per structure, Slicer .seg.nrrd, nnU-Net dataset',
  usage: 'CT LABELS... --schema FILE --format dicom-seg|nifti|seg-nrrd|nnunet --out OUT [--run ID | --manual] [--case ID] [--series UID] [--map ID=FILE]...',
  help: [
    'LABELS are read as `osteon inspect` reads them (a label map, a multi-channel volume, or one mask',
    'per structure, e.g. a prediction folder\'s <id>.nii.gz files with --map). Every structure is kept,',
    'overlaps included:',
    '  dicom-seg  BINARY DICOM SEG, one segment per structure, referencing the CT series (CT must be',
    '             DICOM) and its Frame of Reference; the algorithm is --run ID, or MANUAL (--manual).',
    '  nifti      OUT/<structure>.nii.gz, uint8 masks on the CT grid.',
    '  seg-nrrd   OUT.seg.nrrd for 3D Slicer, with layers when structures overlap, names and colours.',
    '  nnunet     adds the case to the nnU-Net v2 dataset folder OUT: imagesTr/<case>_0000.nii.gz,',
    '             labelsTr/<case>.nii.gz (disjoint atoms) and dataset.json (regions, regions_class_order).',
  ].join('\n'),
  options: {
    schema: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' }, run: { type: 'string' },
    manual: { type: 'boolean' }, case: { type: 'string' }, series: { type: 'string' }, map: { type: 'string', multiple: true },
  },
  optionHelp: {
    schema: 'FILE: the label schema naming the structures (required)',
    format: 'dicom-seg|nifti|seg-nrrd|nnunet: what to write (required)',
    out: 'OUT: where to write (required): the SEG file (dicom-seg), a folder (nifti), a file ending .seg.nrrd (seg-nrrd), the dataset folder (nnunet)',
    run: 'ID: dicom-seg: the run (model) that made the labels, recorded as the AUTOMATIC algorithm',
    manual: 'dicom-seg: the labels were made by hand (MANUAL algorithm); excludes --run',
    case: 'ID: nnunet: the case id (default: the CT file name without its extension)',
    series: 'UID: the CT series when CT is a DICOM folder with several',
    map: 'ID=FILE: which mask file holds structure ID (repeatable)',
  },
  allowPositionals: true,
  async run({ values, positionals, io }) {
    if (positionals.length < 2) throw usageError('expected CT LABELS...\nRun `osteon export --help`.');
    const format = enumOpt(values.format, 'format', FORMATS, 'dicom-seg');
    if (values.format === undefined) throw usageError(`--format is required (${FORMATS.join(', ')})`);
    const out = requiredString(values.out, 'out', 'export');
    const schemaPath = schemaOpt(requiredString(values.schema, 'schema', 'export'))!;
    const [ctFile, ...labelFiles] = positionals;
    const series = typeof values.series === 'string' ? values.series : undefined;
    const schema = loadLabelSchema(schemaPath);
    const ct = readVolume(ctFile, { seriesUid: series });
    const { set } = loadLabels({ files: labelFiles, schema, schemaPath, map: mapOpt(values.map, 'STRUCTURE_ID=FILE') }, ct, ctFile);
    switch (format) {
      case 'dicom-seg': {
        if (!isDicomPath(ctFile)) throw usageError(`${ctFile}: a DICOM SEG references its source series; pass the CT as DICOM (folder or DICOMDIR)`);
        if (values.manual && values.run) throw usageError('--run and --manual exclude each other');
        if (!values.manual && typeof values.run !== 'string') throw usageError('say who made the labels: --run RUN_ID (a model) or --manual (edited by hand)');
        const algorithm = values.manual ? { type: 'MANUAL' as const } : { type: 'AUTOMATIC' as const, name: String(values.run) };
        const r = writeDicomSeg(out, set, { ctSeries: ctFile, seriesUid: series, algorithm });
        io.out(`${out}: DICOM SEG, ${r.segments} segments in ${r.frames} frames (${Object.entries(r.voxels).map(([k, v]) => `${k} ${v}`).join(', ')})`);
        return 0;
      }
      case 'nifti': {
        const files = exportNiftiMasks(out, set);
        io.out(`${out}: ${files.map((f) => basename(f)).join(', ')}`);
        return 0;
      }
      case 'seg-nrrd': {
        const r = exportSegNrrd(out, set);
        io.out(`${out}: Slicer segmentation, ${set.masks.length} segments in ${r.layers} layer(s)`);
        return 0;
      }
      case 'nnunet': {
        const id = typeof values.case === 'string' ? values.case : basename(ctFile).replace(/\.(nii\.gz|nii|nrrd|mha)$/i, '').replace(/[^A-Za-z0-9_-]/g, '_');
        const j = exportNnUNet(out, [{ id, ct, labels: set }]);
        io.out(`${out}: nnU-Net v2 dataset, case ${id}; ${j.numTraining} case(s), ${j.osteon?.atoms.length ?? 0} atoms, regions ${Object.keys(j.labels).slice(1).join(', ')}`);
        return 0;
      }
      default: {
        const never: never = format;
        throw new Error(`unhandled ${String(never)}`);
      }
    }
  },
};
