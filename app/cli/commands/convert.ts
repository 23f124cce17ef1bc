/**
 * `osteon convert IN OUT [--series UID]`: any image Osteon reads (DICOM folder/DICOMDIR/file,
 * NIfTI, NRRD, MetaImage) to NIfTI, NRRD or MetaImage, chosen by OUT's extension. The geometry
 * is carried exactly (LPS in memory; NIfTI gets the RAS sform and qform). Written atomically.
 */
import type { Command } from '../command.ts';
import { readVolumeAsync, writeVolume } from '../../imaging/io.ts';
import { describeGeometry } from '../../imaging/volume.ts';
import { usageError } from '../../util/errors.ts';
import { progressBar } from '../progress.ts';

export const command: Command = {
  name: 'convert',
  summary: 'Convert DICOM / NIfTI / NRRD / MetaImage to NIfTI, NRRD or MetaImage (exact geometry)',
  usage: 'IN OUT [--series UID]',
  help: [
    'IN is a DICOM folder, DICOMDIR or file (any transfer syntax), NIfTI, NRRD or MetaImage.',
    'OUT is .nii.gz, .nii, .nrrd or .mha. DICOM HU are stored as int16 when exact, else float32.',
    'A folder with several series needs --series UID (list them with `osteon inspect FOLDER`).',
    '',
    'Example:',
    '  osteon convert /media/pacs/study1 ct.nii.gz --series 1.2.840.113619.2.55.3.123',
  ].join('\n'),
  options: { series: { type: 'string' } },
  optionHelp: {
    series: 'UID: the series to convert when IN is a DICOM folder with several (list them with `osteon inspect IN`)',
  },
  allowPositionals: true,
  async run({ values, positionals, io }) {
    if (positionals.length !== 2) throw usageError('expected IN OUT\nRun `osteon convert --help`.');
    const [input, output] = positionals;
    if (!/\.(nii|nii\.gz|nrrd|mha)$/i.test(output)) throw usageError(`${output}: cannot tell the output format from the extension (use .nii.gz, .nii, .nrrd or .mha)`);
    const bar = progressBar(io);
    const v = await readVolumeAsync(input, {
      seriesUid: typeof values.series === 'string' ? values.series : undefined,
      onProgress: (p) => bar.update(p.done / p.total, `decoding ${p.done}/${p.total}`),
    });
    bar.clear();
    writeVolume(output, v);
    for (const w of v.warnings) io.err(`warning: ${w}`);
    io.out(`${output}: ${describeGeometry(v)}${v.meta.TransferSyntax ? ` (from ${v.meta.TransferSyntax})` : ''}`);
    return 0;
  },
};
