/**
 * Runs inside the training worker thread: picks the backend, prepares or resumes the run, trains,
 * and streams every event to the host. Control messages (pause/resume/cancel) arrive on the port.
 */
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { toErrorData } from '../../util/errors.ts';
import { initBackend } from '../backend.ts';
import { resumeRun } from '../resume.ts';
import { prepareRun } from '../run.ts';
import { TrainControl, train, type TrainEvent } from '../train.ts';
import type { FromWorker, ToWorker, WorkerStart } from './protocol.ts';

const port = parentPort;
if (!port) throw new Error('train-entry.ts must run in a worker thread');
const post = (m: FromWorker) => port.postMessage(m);
const control = new TrainControl();
port.on('message', (m: ToWorker) => {
  if (m.type === 'pause') control.pause();
  else if (m.type === 'resume') control.resume();
  else control.cancel();
});

const start = workerData as WorkerStart;
const onEvent = (event: TrainEvent) => post({ type: 'event', event });
// OSTEON_PROFILE=1 (`osteon train --profile`): the per-op table goes to the host.
const onProfile = (table: string) => post({ type: 'profile', table });
try {
  const report = await initBackend({ prefer: start.backend });
  post({ type: 'backend', report });
  if (start.run.kind === 'new') {
    const prepared = prepareRun(start.run.options, report);
    await train(prepared.config, prepared.train, prepared.val, { runDir: start.run.options.runDir, control, onEvent, onProfile, memory: prepared.memory?.text, notices: prepared.notices });
  } else {
    const r = resumeRun(start.run.runDir, start.run.epochs);
    await train(r.config, r.train, r.val, { runDir: start.run.runDir, resumeFrom: join(start.run.runDir, 'checkpoints', 'last.ckpt'), control, onEvent, onProfile });
  }
} catch (e) {
  post({ type: 'error', error: toErrorData(e) });
}
