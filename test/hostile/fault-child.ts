// A child process for the kill -9 fault tests: imports, approves, exports and attaches
// predictions in a loop until it is killed. Prints "ready" once the loop starts.
import { join } from 'node:path';
import { approveCase, attachPrediction, exportCase, importCase } from '../../app/store/cases.ts';
import { openProject } from '../../app/store/project.ts';

const [projectDir, ct, labels, exportDir] = process.argv.slice(2);
const p = openProject(projectDir);
const ctl = { signal: new AbortController().signal, progress: () => {} };
process.stdout.write('ready\n');
for (let i = 0; ; i++) {
  const c = await importCase(p, { ct, labels, name: `c${process.pid}-${i}` }, ctl);
  if (i % 2 === 0) approveCase(p, c.id, 'ok');
  if (i % 3 === 0) await exportCase(p, c.id, join(exportDir, `e${process.pid}-${i}`));
  if (i % 4 === 1) attachPrediction(p, c.id, labels);
}
