// Worker-thread entry. From the TypeScript sources (the `osteon` CLI, tests) it first registers
// tsx's loader in this thread, since a worker does not inherit the parent's loader hooks.
import { workerData } from 'node:worker_threads';

if (workerData.entry.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(workerData.entry);
