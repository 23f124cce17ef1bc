/** `osteon report --project DIR [--case ID]... --out FILE.html [--pdf FILE.pdf]`: the review report. */
import { resolve } from 'node:path';
import type { Command } from '../command.ts';
import { requiredString } from '../options.ts';
import { openProject } from '../../store/project.ts';
import { writeReport } from '../../services/review-report.ts';

export const command: Command = {
  name: 'report',
  summary: 'Review report of a project\'s cases: key images, volumes, Dice/HD95, review state, version and run (HTML, PDF)',
  usage: '--project DIR [--case ID]... --out FILE.html [--pdf FILE.pdf] [--json]',
  help: [
    'Each case is reported on its newest segmentation version (or its imported labels when it has',
    'none): axial, coronal and sagittal key images through each structure\'s centroid, volumes in mL,',
    'Dice and HD95 against the imported ground truth, the review state with comments and reasons,',
    'and the version and run that produced it. More than one case: a summary page comes first.',
    '--pdf prints the HTML with Chromium headless (one page per case; set OSTEON_CHROMIUM to choose it).',
  ].join('\n'),
  options: { project: { type: 'string' }, case: { type: 'string', multiple: true }, out: { type: 'string' }, pdf: { type: 'string' }, json: { type: 'boolean' } },
  optionHelp: {
    project: 'DIR: the project folder (required)',
    case: 'ID: report on this case (repeatable; default: every case)',
    out: 'FILE.html: the HTML report to write (required)',
    pdf: 'FILE.pdf: also print the report to PDF with Chromium headless (set OSTEON_CHROMIUM to choose it)',
    json: 'print {html, pdf, cases} as JSON',
  },
  allowPositionals: false,
  async run({ values: v, io }) {
    const p = openProject(resolve(requiredString(v.project, 'project', 'report')));
    const cases = Array.isArray(v.case) ? v.case.map(String) : undefined;
    const r = writeReport(p, cases, { html: requiredString(v.out, 'out', 'report'), pdf: typeof v.pdf === 'string' ? v.pdf : null });
    if (v.json) io.out(JSON.stringify(r, null, 2));
    else io.out([`Report of ${r.cases} case(s): ${r.html}`, ...(r.pdf ? [`PDF: ${r.pdf}`] : [])].join('\n'));
    return 0;
  },
};
