/**
 * `osteon import-seg SEG --ct CT --schema S --out DIR [--as labels|prediction] [--map LABEL=ID]...`:
 * a DICOM SEG from Slicer/dcmqi, OHIF, highdicom or Osteon as one mask per schema structure on
 * the CT grid (overlaps kept): DIR/<structure>.nii.gz, plus prediction.json with --as prediction.
 */
import { join } from 'node:path';
import type { Command } from '../command.ts';
import { enumOpt, mapOpt, requiredString, schemaOpt } from '../options.ts';
import { readDicomSeg, segToLabelSet } from '../../exchange/dicom-seg-read.ts';
import { writeFolderAtomic } from '../../exchange/exports.ts';
import { readVolume } from '../../imaging/io.ts';
import { writeNifti } from '../../imaging/nifti.ts';
import { geometryOf } from '../../imaging/volume.ts';
import { loadLabelSchema } from '../../labels/schema.ts';
import { writeJsonAtomic } from '../../util/atomic.ts';
import { usageError } from '../../util/errors.ts';

export const command: Command = {
  name: 'import-seg',
  summary: 'Import a DICOM SEG (Slicer, OHIF, highdicom, Osteon) as labels or a prediction',
  usage: 'SEG --ct CT --schema FILE --out DIR [--as labels|prediction] [--series UID] [--map "SEGMENT LABEL=ID"]...',
  help: [
    'Segments match structures by label (= name or id, any case) or description (= id), or by --map.',
    'Frames are placed by their positions on the CT grid; overlapping segments stay overlapping.',
  ].join('\n'),
  options: { ct: { type: 'string' }, schema: { type: 'string' }, out: { type: 'string' }, as: { type: 'string' }, series: { type: 'string' }, map: { type: 'string', multiple: true } },
  optionHelp: {
    ct: 'CT: the CT whose grid the masks are placed on (required)',
    schema: 'FILE: the label schema naming the structures (required)',
    out: 'DIR: where DIR/<structure>.nii.gz go, one mask per schema structure (required)',
    as: 'labels|prediction: prediction also writes DIR/prediction.json (default labels)',
    series: 'UID: the CT series when CT is a DICOM folder with several',
    map: 'LABEL=ID: the segment labelled LABEL (may contain spaces; quote it) is structure ID (repeatable)',
  },
  allowPositionals: true,
  async run({ values, positionals, io }) {
    if (positionals.length !== 1) throw usageError('expected SEG\nRun `osteon import-seg --help`.');
    const [segFile] = positionals;
    const ctFile = requiredString(values.ct, 'ct', 'import-seg');
    const schema = loadLabelSchema(schemaOpt(requiredString(values.schema, 'schema', 'import-seg'))!);
    const out = requiredString(values.out, 'out', 'import-seg');
    const as = enumOpt(values.as, 'as', ['labels', 'prediction'] as const, 'labels');
    const ct = readVolume(ctFile, { seriesUid: typeof values.series === 'string' ? values.series : undefined });
    const g = geometryOf(ct);
    const seg = readDicomSeg(segFile, g);
    if (ct.meta.FrameOfReferenceUID && seg.frameOfReference && ct.meta.FrameOfReferenceUID !== seg.frameOfReference) {
      io.err(`warning: ${segFile}: FrameOfReferenceUID ${seg.frameOfReference} differs from the CT's ${ct.meta.FrameOfReferenceUID}; placed by positions`);
    }
    const set = segToLabelSet(segFile, seg, schema, g, mapOpt(values.map, '"SEGMENT LABEL=STRUCTURE_ID"', 'last'));
    const voxels: Record<string, number> = {};
    writeFolderAtomic(out, (tmp) => {
      schema.structures.forEach((s, i) => {
        writeNifti(join(tmp, `${s.id}.nii.gz`), { ...g, data: set.masks[i], channels: 1 });
        voxels[s.id] = set.masks[i].reduce((a, b) => a + b, 0);
      });
      if (as === 'prediction') {
        writeJsonAtomic(join(tmp, 'prediction.json'), { format: 'osteon-prediction/1', source: 'dicom-seg', file: segFile, ct: ctFile, structures: schema.structures.map((s) => s.id), voxels, created: new Date().toISOString() });
      }
    });
    io.out(`${out}: ${schema.structures.map((s) => `${s.id} ${voxels[s.id]}`).join(', ')}`);
    return 0;
  },
};
