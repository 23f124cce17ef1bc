/**
 * A wasm helper thread of the pure-wasm rung (pool.ts): its own tfjs wasm backend with Osteon's
 * kernels, running the jobs the main thread posts, one at a time, synchronously. Between jobs
 * it blocks in Atomics.wait, so it needs no event loop; a 'quit' job ends it.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { registerCustomKernels } from '../index.ts';
import { simdFlavor } from '../simd/simd.ts';
import { asWasm, free, view } from '../wasm_heap.ts';
import { DEAD, DONE, IDLE, JOB, STATE, TAKEN, outOffsets, type HelperCrash, type HelperData, type HelperSleep, type HelperJob, type HelperQuit, type HelperReady, type HelperReply } from './protocol.ts';

const parent = parentPort;
if (!parent) throw new Error('helper-entry.ts must run in a worker thread');
const { ctrl: ctrlBuffer, data, port } = workerData as HelperData;
const ctrl = new Int32Array(ctrlBuffer);
// However the thread ends (an uncaught error included), the waiting caller learns it at once.
process.on('exit', () => {
  Atomics.store(ctrl, STATE, DEAD);
  Atomics.notify(ctrl, DONE);
});

function prod(shape: readonly number[]): number {
  let p = 1;
  for (const d of shape) p *= d;
  return p;
}

/** Inputs kept between jobs (filters, biases, batch slices, output parts), by the main thread's key. */
const kept = new Map<string, tf.TensorInfo>();

function keep(backend: ReturnType<typeof asWasm>, key: string, t: tf.TensorInfo): void {
  const old = kept.get(key);
  if (old) free(backend, old);
  kept.set(key, t);
}

function run(job: HelperJob): HelperReply {
  const kernel = tf.getKernel(job.kernel, 'wasm');
  if (!kernel) return { type: 'error', message: `kernel ${job.kernel} is not registered on the helper's wasm backend` };
  const backend = asWasm(tf.backend());
  for (const key of job.evict) {
    const t = kept.get(key);
    if (t) free(backend, t);
    kept.delete(key);
  }
  const made: tf.TensorInfo[] = [];
  const tensors = job.inputs.map((s) => {
    if (s.cached) {
      const t = kept.get(s.key!);
      if (!t) throw new Error(`kept input ${s.key} is missing`);
      return t;
    }
    const t = backend.makeOutput(s.shape, 'float32');
    if (s.key !== undefined) keep(backend, s.key, t);
    else made.push(t);
    return t;
  });
  let outs: tf.TensorInfo[] = [];
  const t0 = performance.now();
  try {
    // Views only after the last allocation: a heap growth detaches them.
    job.inputs.forEach((s, i) => {
      if (!s.cached) view(backend, tensors[i]).set(new Float32Array(data, s.offset, prod(s.shape)));
    });
    const inputs: tf.NamedTensorInfoMap = {};
    job.inputs.forEach((s, i) => (inputs[s.name] = tensors[i]));
    const t1 = performance.now();
    const result = kernel.kernelFunc({ inputs, backend, attrs: job.attrs });
    const t2 = performance.now();
    outs = Array.isArray(result) ? result : [result];
    const shapes = outs.map((o) => o.shape);
    const at = outOffsets(job.out, shapes);
    const need = at[at.length - 1];
    if (need > data.maxByteLength) return { type: 'error', message: `outputs of ${need} bytes do not fit the helper's buffer (${data.maxByteLength})` };
    if (data.byteLength < need) data.grow(Math.min(data.maxByteLength, Math.max(need, 2 * data.byteLength)));
    outs.forEach((o, i) => new Float32Array(data, at[i], prod(o.shape)).set(view(backend, o)));
    const reply: HelperReply = { type: 'done', shapes, ms: [t1 - t0, t2 - t1, performance.now() - t2] };
    if (job.keepOut !== undefined && outs.length === 1) {
      // The caller's result holds this part too; a later job that reads that slice finds it here.
      keep(backend, job.keepOut, outs[0]);
      outs = [];
    }
    return reply;
  } finally {
    free(backend, ...made, ...outs);
  }
}

function next(): HelperJob | HelperQuit | HelperCrash | HelperSleep {
  // The main thread posts the job before it moves JOB, so the message is already queued.
  for (let tries = 0; ; tries++) {
    const m = receiveMessageOnPort(port);
    if (m) return m.message as HelperJob | HelperQuit | HelperCrash | HelperSleep;
    if (tries > 1000) throw new Error('job counter moved but no job arrived');
    Atomics.wait(ctrl, IDLE, 0, 1);
  }
}

async function init(): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const dist = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
  wasm.setWasmPaths(`${dist}/`);
  if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") returned false');
  registerCustomKernels('wasm');
}

try {
  await init();
  parent.postMessage({ type: 'ready', flavor: simdFlavor() } satisfies HelperReady);
} catch (e) {
  parent.postMessage({ type: 'failed', message: e instanceof Error ? e.message : String(e) } satisfies HelperReady);
  process.exit(1);
}

/** Runs jobs until a 'quit' job; throws only on a fault outside a job (a crash). */
function serve(): void {
  let seen = 0;
  let sleepClaimed = 0; // ms to sleep after claiming the next real job (tests)
  for (;;) {
    while (Atomics.load(ctrl, JOB) === seen) Atomics.wait(ctrl, JOB, seen, 1000);
    seen++;
    let reply: HelperReply;
    let quit = false;
    let crash = false;
    try {
      const job = next();
      if (job.type === 'sleep') {
        if (job.claimed) sleepClaimed = job.ms;
        else Atomics.wait(ctrl, IDLE, 0, job.ms);
        reply = { type: 'skipped' };
      } else if (job.type === 'crash') {
        crash = true;
        reply = { type: 'done', shapes: [] };
      } else if (job.type === 'quit') {
        quit = true;
        reply = { type: 'done', shapes: [] };
      } else if (Atomics.compareExchange(ctrl, TAKEN, job.id, -job.id) !== job.id) {
        // The calling thread took it back (or a newer job replaced it): nothing to do.
        reply = { type: 'skipped' };
      } else {
        if (sleepClaimed > 0) Atomics.wait(ctrl, IDLE, 0, sleepClaimed);
        sleepClaimed = 0;
        reply = run(job);
      }
    } catch (e) {
      reply = { type: 'error', message: e instanceof Error ? e.message : String(e) };
    }
    if (crash) throw new Error('helper crash requested by a test');
    port.postMessage(reply);
    Atomics.add(ctrl, DONE, 1);
    Atomics.notify(ctrl, DONE);
    if (quit) process.exit(0);
  }
}

try {
  serve();
} catch (e) {
  // The exit handler tells the waiting caller; the message goes to the process's stderr.
  process.stderr.write(`osteon: wasm helper thread failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
