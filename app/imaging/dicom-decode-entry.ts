/**
 * Inside a decode worker. Two roles (workerData.role):
 * - 'member': decodes files on request ({i, path} → {i, frames} | {i, error});
 * - 'sync': decodes a whole list with a pool of members, posts the result on a port and wakes
 *   the thread blocked in `decodeSync` through a shared flag.
 */
import { readFileSync } from 'node:fs';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { OsteonError } from '../util/errors.ts';
import { parseDicom } from './dicom-parse.ts';
import { storedFrames } from './dicom-pixels.ts';
import { decodeInWorkers, transferables } from './dicom-decode.ts';

const data = workerData as { role: 'member' } | { role: 'sync'; paths: string[]; threads?: number; port: MessagePort; flag: Int32Array };

function errorData(e: unknown) {
  return e instanceof OsteonError ? e.toData() : { code: 'internal' as const, message: e instanceof Error ? e.message : String(e) };
}

if (data.role === 'member') {
  parentPort!.on('message', (m: { i: number; path: string }) => {
    void (async () => {
      try {
        const frames = await storedFrames(parseDicom(m.path, readFileSync(m.path)));
        parentPort!.postMessage({ i: m.i, frames }, transferables(frames));
      } catch (e) {
        parentPort!.postMessage({ i: m.i, error: errorData(e) });
      }
    })();
  });
} else {
  let reply: unknown;
  let transfer: ArrayBuffer[] = [];
  try {
    const frames = await decodeInWorkers(data.paths, { threads: data.threads });
    reply = { frames };
    transfer = transferables(frames.flat());
  } catch (e) {
    reply = { error: errorData(e) };
  }
  data.port.postMessage(reply, transfer);
  Atomics.store(data.flag, 0, 1);
  Atomics.notify(data.flag, 0);
}
