/**
 * `osteon inspect CT LABELS... [--schema FILE] [--map id=FILE]... [--json]`: what a study's
 * labels imply for training (sizes, overlaps, whole vs union of parts, recommended formulation
 * and loss weights). Reads only; writes nothing.
 */
import { basename } from 'node:path';
import type { Command } from '../command.ts';
import { requireFiniteCt } from '../../imaging/checks.ts';
import { listDicomSeries } from '../../imaging/dicom.ts';
import { isDicomPath, readVolume, readVolumeAsync } from '../../imaging/io.ts';
import type { LoadedVolume } from '../../imaging/types.ts';
import { progressBar } from '../progress.ts';
import type { CliIo } from '../command.ts';
import { describeGeometry, geometryOf } from '../../imaging/volume.ts';
import { analyzeLabels } from '../../labels/analysis.ts';
import { loadLabels } from '../../labels/load.ts';
import { finiteJson, formatAnalysis } from '../../labels/report.ts';
import { loadLabelSchema } from '../../labels/schema.ts';
import { mapOpt, schemaOpt } from '../options.ts';
import { badInput, usageError } from '../../util/errors.ts';

export const command: Command = {
  name: 'inspect',
  summary: 'Analyse a study\'s labels: sizes, overlaps, whole vs parts, recommended loss and weights',
  usage: 'IMAGE [--series UID] [--json]  |  CT LABELS... [--schema FILE] [--map ID=FILE]... [--json]',
  help: [
    'With one IMAGE (NIfTI, NRRD, MetaImage, or DICOM: a folder, DICOMDIR or file) it prints the',
    'dimensions, spacing, orientation, origin, HU range and, for DICOM, the transfer syntax. A DICOM',
    'folder with several series lists them (description, slices, spacing, transfer syntax, and why',
    'a series cannot be read); pick one with --series UID.',
    '',
    'LABELS is one integer label map, one multi-channel label volume, or one binary mask per',
    'structure. With --schema (e.g. resources/presets/pelvis.json) the structures, their roles',
    '(whole / part) and sources come from the schema; mask files match the schema\'s structures',
    'in order, or by --map ID=FILE. Without --schema every label value (or channel, or mask file)',
    'becomes a part and there is no whole.',
    '',
    'Every label file must be on the CT\'s grid; otherwise the command exits 2 showing both.',
    '',
    'Example:',
    '  osteon inspect resources/sample/pelvis/ct.nii.gz resources/sample/pelvis/labels.nii.gz \\',
    '    --schema resources/presets/pelvis.json',
  ].join('\n'),
  options: {
    schema: { type: 'string' },
    map: { type: 'string', multiple: true },
    series: { type: 'string' },
    json: { type: 'boolean' },
  },
  optionHelp: {
    schema: 'FILE or preset name (pelvis, lumbar-spine, phantom: resources/presets): the label schema naming structures and roles',
    map: 'ID=FILE: which mask file holds structure ID (repeatable)',
    series: 'UID: the series to read when the image or CT is a DICOM folder with several',
    json: 'print the analysis as JSON',
  },
  allowPositionals: true,
  async run({ values, positionals, io }) {
    if (positionals.length === 0) throw usageError('expected IMAGE, or CT LABELS...\nRun `osteon inspect --help`.');
    const series = typeof values.series === 'string' ? values.series : undefined;
    if (positionals.length === 1) return inspectImage(positionals[0], series, values.json === true, io);
    const [ctFile, ...labelFiles] = positionals;
    const schemaPath = schemaOpt(values.schema) ?? null;
    const schema = schemaPath ? loadLabelSchema(schemaPath) : null;
    const ct = readVolume(ctFile, { seriesUid: series });
    if (ct.channels !== 1) throw badInput(ctFile, 'channels', `${ct.channels} channels; the CT must be a single 3D volume`);
    requireFiniteCt(ct, ctFile);
    let lo = Infinity, hi = -Infinity;
    for (const x of ct.data) {
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    const loaded = loadLabels({ files: labelFiles, schema, schemaPath, map: mapOpt(values.map, 'STRUCTURE_ID=FILE') }, ct, ctFile);
    const analysis = analyzeLabels(loaded.set);
    const warnings = [...ct.warnings.map((w) => `${basename(ctFile)}: ${w}`), ...loaded.warnings];
    if (values.json) {
      io.out(JSON.stringify({
        ok: true,
        ct: { file: ctFile, geometry: geometryOf(ct), huRange: [lo, hi] },
        labels: { files: loaded.files, schema: loaded.set.schema, schemaFile: schemaPath },
        analysis,
        warnings,
      }, finiteJson, 2));
      return 0;
    }
    const files = [...new Set(loaded.files)].map((f) => basename(f)).join(', ');
    io.out([
      `CT      ${ctFile}`,
      `        ${describeGeometry(ct)}; values ${lo}..${hi}`,
      `Labels  ${files}${schemaPath ? ` (schema ${schemaPath})` : ' (no schema: one part per label)'}`,
      '',
      ...formatAnalysis(analysis),
      ...(warnings.length ? ['', 'File warnings:', ...warnings.map((w) => `  - ${w}`)] : []),
    ].join('\n'));
    return 0;
  },
};

function huRange(v: LoadedVolume): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const x of v.data) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return [lo, hi];
}

/** One image, no labels: geometry, value range, DICOM transfer syntax; or the series of a DICOM folder. */
async function inspectImage(file: string, series: string | undefined, json: boolean, io: CliIo): Promise<number> {
  if (isDicomPath(file) && series === undefined) {
    const list = listDicomSeries(file);
    if (list.length > 1) {
      if (json) io.out(JSON.stringify({ ok: true, series: list }, finiteJson, 2));
      else {
        io.out(`${file}: ${list.length} series; choose one with --series UID`);
        for (const s of list) {
          const sp = s.spacing ? s.spacing.map((x) => +x.toFixed(4)).join(' × ') + ' mm' : 'not readable';
          io.out(`  ${s.uid}\n    #${s.number} "${s.description}" ${s.modality}, ${s.slices} slices of ${s.columns}×${s.rows}, ${sp}, ${s.transferSyntaxName}` +
            (s.problem ? `\n    refused: ${s.problem}` : ''));
        }
      }
      return 0;
    }
  }
  const bar = progressBar(io);
  const v = await readVolumeAsync(file, { seriesUid: series, onProgress: (p) => bar.update(p.done / p.total, `decoding ${p.done}/${p.total}`) });
  bar.clear();
  const range = huRange(v);
  if (json) {
    io.out(JSON.stringify({ ok: true, image: { file, format: v.format, geometry: geometryOf(v), channels: v.channels, dtype: v.data.constructor.name, range, meta: v.meta, warnings: v.warnings } }, finiteJson, 2));
    return 0;
  }
  io.out([
    `Image   ${file} (${v.format}${v.meta.TransferSyntax ? `, ${v.meta.TransferSyntax}` : ''})`,
    `        ${describeGeometry(v)}${v.channels > 1 ? `, ${v.channels} channels` : ''}`,
    `        direction ${v.direction.map((x) => +x.toFixed(4)).join(' ')}`,
    `        values ${range[0]}..${range[1]} (${v.data.constructor.name.replace('Array', '')})`,
    ...(v.meta.SeriesInstanceUID ? [`        series ${v.meta.SeriesInstanceUID} "${v.meta.SeriesDescription ?? ''}", frame of reference ${v.meta.FrameOfReferenceUID ?? '?'}`] : []),
    ...(v.warnings.length ? ['', 'File warnings:', ...v.warnings.map((w) => `  - ${w}`)] : []),
  ].join('\n'));
  return 0;
}
