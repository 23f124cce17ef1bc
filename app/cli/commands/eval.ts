/** `osteon eval --pred DIR --gt DIR [--schema FILE]`: per-case × per-structure metrics. */
import { resolve } from 'node:path';
import type { Command } from '../command.ts';
import { numOpt, requiredString, schemaOpt } from '../options.ts';
import { progressBar } from '../progress.ts';
import { writeFileAtomic } from '../../util/atomic.ts';
import { evaluateDirs, evaluationCsv } from '../../learning/evaluate.ts';
import { table, finiteJson } from '../../labels/report.ts';

const f = (x: number | undefined, d = 4) => (x === undefined ? '-' : Number.isNaN(x) ? 'NaN' : Number.isFinite(x) ? x.toFixed(d) : x > 0 ? 'inf' : '-inf');

export const command: Command = {
  name: 'eval',
  summary: 'Score predictions against ground truth: Dice, HD95, MSD, NSD, boundary Dice, consistency',
  usage: '--pred DIR --gt DIR [--schema FILE] [--tau MM] [--boundary-radius MM] [--csv FILE] [--json]',
  help: [
    'GT DIR holds cases as for `osteon train` (case folders with ct.* and labels.*, schema.json).',
    'PRED DIR holds one folder per case with <structure>.nii.gz, as `osteon infer` writes',
    '(for a single case, PRED DIR itself may hold the masks). Cases without a prediction folder',
    'are skipped and listed; a folder missing some of the masks is an error.',
    'Dice is NaN when both masks are empty (left out of means and counted); HD95/MSD are',
    'Infinity when exactly one is empty. Defaults: --tau 2 mm, --boundary-radius 3 mm.',
  ].join('\n'),
  options: { pred: { type: 'string' }, gt: { type: 'string' }, schema: { type: 'string' }, tau: { type: 'string' }, 'boundary-radius': { type: 'string' }, csv: { type: 'string' }, json: { type: 'boolean' } },
  optionHelp: {
    pred: 'DIR: predictions, one folder per case holding <structure>.nii.gz (as `osteon infer` writes)',
    gt: 'DIR: ground truth, case folders with ct.* and labels.* and schema.json (as for `osteon train`)',
    schema: 'FILE or preset name (e.g. pelvis): the label schema (default: GT DIR/schema.json)',
    tau: 'MM: NSD tolerance in millimetres (default 2)',
    'boundary-radius': 'MM: half-width of the band around part interfaces for boundary Dice (default 3)',
    csv: 'FILE: also write one row per case and structure to this CSV file (atomically)',
    json: 'print the whole evaluation as JSON',
  },
  allowPositionals: false,
  async run({ values: v, io }) {
    const bar = progressBar(io);
    const e = evaluateDirs({
      predDir: resolve(requiredString(v.pred, 'pred', 'eval')), gtDir: resolve(requiredString(v.gt, 'gt', 'eval')),
      schemaPath: typeof v.schema === 'string' ? resolve(schemaOpt(v.schema)!) : undefined,
      toleranceMm: numOpt(v.tau, 'tau', 2, 0, 1000), boundaryRadiusMm: numOpt(v['boundary-radius'], 'boundary-radius', 3, 0, 1000),
      onCase: (i, n, id) => bar.update(i / n, `case ${id}`),
    });
    bar.clear();
    if (typeof v.csv === 'string') writeFileAtomic(resolve(v.csv), evaluationCsv(e));
    if (v.json) { io.out(JSON.stringify(e, finiteJson, 2)); return 0; }
    // Reports show the schema's display names (the CSV keeps the ids).
    const ids = e.layout.names;
    const lines = [`Evaluation of ${e.cases.length} case(s); NSD at ${e.toleranceMm} mm; boundary band ±${e.boundaryRadiusMm} mm`];
    if (e.skipped.length) lines.push(`Skipped ${e.skipped.length} case(s) with no prediction in ${resolve(v.pred as string)}: ${e.skipped.join(', ')}`);
    lines.push('');
    lines.push(...table(['case', 'structure', 'Dice', 'HD95 mm', 'MSD mm', `NSD@${e.toleranceMm}`], e.cases.flatMap((c) => c.metrics.map((m, k) => [c.caseId, ids[k], f(m.dice), f(m.hd95, 2), f(m.msd, 2), f(m.nsd?.[0])]))));
    lines.push('', 'Mean over cases (NaN left out):');
    lines.push(...table(['structure', 'Dice', 'n', 'HD95 mm', 'MSD mm'], e.summary.map((s, k) => [ids[k], f(s.dice.mean), s.dice.count, f(s.hd95.mean, 2), f(s.msd.mean, 2)])));
    const first = e.layout.hasWhole ? 1 : 0;
    const bd = e.cases.flatMap((c) => c.boundary.map((b) => [c.caseId, `${ids[first + b.parts[0]]}|${ids[first + b.parts[1]]}`, b.bandVoxels, f(b.dice[0]), f(b.dice[1])]));
    if (bd.length) lines.push('', 'Boundary Dice between parts (band around the ground-truth interface):', ...table(['case', 'parts', 'band voxels', 'Dice a', 'Dice b'], bd));
    const cons = e.cases.filter((c) => c.consistency).map((c) => [c.caseId, f(c.consistency!.pred.wholeVsUnionDice), c.consistency!.pred.partsOutsideWhole, f(c.consistency!.gt.wholeVsUnionDice), c.consistency!.gt.partsOutsideWhole]);
    if (cons.length) lines.push('', 'Whole vs union of parts:', ...table(['case', 'pred Dice(W,∪P)', 'pred parts∖W', 'gt Dice(W,∪P)', 'gt parts∖W'], cons));
    if (typeof v.csv === 'string') lines.push('', `CSV: ${resolve(v.csv)}`);
    io.out(lines.join('\n'));
    return 0;
  },
};
