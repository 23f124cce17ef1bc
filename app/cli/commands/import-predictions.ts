/**
 * `osteon import-predictions NNUNET_OUT --dataset DATASET_JSON --schema S --out DIR`: nnU-Net v2
 * outputs (one label map per case, regions painted by regions_class_order) back as Osteon
 * predictions: DIR/<case>/<structure>.nii.gz + prediction.json, each structure decoded with
 * nnU-Net's rule (voxels whose value is in the structure's region list).
 */
import { join } from 'node:path';
import type { Command } from '../command.ts';
import { requiredString, schemaOpt } from '../options.ts';
import { decodeNnUNetLabels, nnUNetPredictionFiles, readNnUNetJson, writeFolderAtomic } from '../../exchange/exports.ts';
import { readVolume } from '../../imaging/io.ts';
import { writeNifti } from '../../imaging/nifti.ts';
import { geometryOf } from '../../imaging/volume.ts';
import { loadLabelSchema } from '../../labels/schema.ts';
import { writeJsonAtomic } from '../../util/atomic.ts';
import { badInput, usageError } from '../../util/errors.ts';

export const command: Command = {
  name: 'import-predictions',
  summary: 'Bring nnU-Net v2 region-based predictions back as Osteon predictions (one mask per structure)',
  usage: 'NNUNET_OUT --dataset DATASET_JSON --schema FILE --out DIR [--run NAME]',
  help: [
    'NNUNET_OUT holds nnU-Net\'s <case>.nii.gz outputs; DATASET_JSON is the dataset.json that',
    '`osteon export --format nnunet` wrote. Each structure = voxels whose value is in its region.',
  ].join('\n'),
  options: { dataset: { type: 'string' }, schema: { type: 'string' }, out: { type: 'string' }, run: { type: 'string' } },
  optionHelp: {
    dataset: 'DATASET_JSON: the dataset.json `osteon export --format nnunet` wrote (required)',
    schema: 'FILE: the label schema naming the structures (required)',
    out: 'DIR: where DIR/<case>/<structure>.nii.gz and prediction.json go (required)',
    run: 'NAME: the run recorded in each prediction.json (default nnunet)',
  },
  allowPositionals: true,
  async run({ values, positionals, io }) {
    if (positionals.length !== 1) throw usageError('expected NNUNET_OUT\nRun `osteon import-predictions --help`.');
    const [dir] = positionals;
    const datasetPath = requiredString(values.dataset, 'dataset', 'import-predictions');
    const schemaPath = schemaOpt(requiredString(values.schema, 'schema', 'import-predictions'))!;
    const out = requiredString(values.out, 'out', 'import-predictions');
    const json = readNnUNetJson(datasetPath);
    const schema = loadLabelSchema(schemaPath);
    const ids = schema.structures.map((s) => s.id);
    const files = nnUNetPredictionFiles(dir);
    if (files.length === 0) throw badInput(dir, 'files', 'no <case>.nii.gz prediction in the folder');
    for (const f of files) {
      const v = readVolume(join(dir, f));
      if (v.channels !== 1) throw badInput(join(dir, f), 'channels', `${v.channels}; nnU-Net writes one label map per case`);
      const masks = decodeNnUNetLabels(json, join(dir, f), v.data, ids);
      const caseId = f.replace(/\.nii\.gz$/, '');
      const g = geometryOf(v);
      const voxels: Record<string, number> = {};
      writeFolderAtomic(join(out, caseId), (tmp) => {
        masks.forEach((m, k) => {
          writeNifti(join(tmp, `${ids[k]}.nii.gz`), { ...g, data: m, channels: 1 });
          voxels[ids[k]] = m.reduce((a, b) => a + b, 0);
        });
        writeJsonAtomic(join(tmp, 'prediction.json'), {
          format: 'osteon-prediction/1', source: 'nnunet', file: join(dir, f), run: typeof values.run === 'string' ? values.run : 'nnunet',
          dataset: datasetPath, structures: ids, voxels, created: new Date().toISOString(),
        });
      });
      io.out(`${caseId}: ${ids.map((id) => `${id} ${voxels[id]}`).join(', ')}`);
    }
    return 0;
  },
};
