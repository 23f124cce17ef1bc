// One fuzz batch in a worker thread (scripts/fuzz.mjs watches it for hangs): posts every outcome.
import { parentPort, workerData } from 'node:worker_threads';
import { TARGETS, fuzz } from './fuzz.ts';

const { target, seed, start, count, dir } = workerData as { target: string; seed: number; start: number; count: number; dir: string };
const t = TARGETS.find((x) => x.name === target)!;
parentPort!.postMessage({ type: 'ready' });
const res = fuzz(t, dir, seed, start, count, (i, o) => parentPort!.postMessage({ type: 'each', i, o }));
parentPort!.postMessage({ type: 'done', crashes: res.crashes });
