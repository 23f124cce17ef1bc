// Worker-thread entry for DICOM pixel decoding: registers the TypeScript loader, then runs the entry.
// If the entry cannot even load, a blocked `decodeSync` caller is still woken with the error.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

try {
  register();
  await import('./dicom-decode-entry.ts');
} catch (e) {
  if (workerData?.role === 'sync') {
    workerData.port.postMessage({ error: { code: 'internal', message: `DICOM decode worker failed to start: ${e?.message ?? e}` } });
    Atomics.store(workerData.flag, 0, 1);
    Atomics.notify(workerData.flag, 0);
  }
  throw e;
}
