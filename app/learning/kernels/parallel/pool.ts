import { availableParallelism } from 'node:os';
import v8 from 'node:v8';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { OsteonError } from '../../../util/errors.ts';
import { geomFrom2D, geomFrom3D } from '../geometry.ts';
import { alias, asWasm, free, releaseAlias, view } from '../wasm_heap.ts';
import { CTRL_SLOTS, DEAD, DONE, JOB, STATE, TAKEN, alignOffset, outOffsets, type HelperCrash, type HelperSleep, growableSab, type GrowableSab, type HelperData, type HelperJob, type HelperQuit, type HelperReady, type HelperReply, type TensorSlot } from './protocol.ts';

/**
 * Threads for the pure-wasm rung. tfjs-backend-wasm runs single-threaded in Node (its threaded
 * build needs browser workers), so each convolution here is split across the calling thread and
 * helper threads (worker_threads, helper-entry.ts), each with its own tfjs wasm backend and
 * Osteon's kernels: by batch; for batch 1 by channels, and filter gradients by output rows. The
 * caller copies each helper's slice of the inputs into the helper's SharedArrayBuffer, computes
 * its own slice, then waits (Atomics.wait) and copies the helpers' outputs back: concatenated
 * for outputs and input gradients (the same values as one call: every sample or channel is
 * computed alone), summed in a fixed order for filter gradients (float32 rounding of a
 * different summation order).
 *
 * The kernels stay synchronous, so the tfjs engine, the tape, the optimizer and everything above
 * are unchanged. The caller blocks while the helpers work, so the caller must be a thread that
 * may block: the training worker, the CLI; not a browser page's main thread (startWasmThreads
 * checks that Atomics.wait is allowed). docs/cpu-speed.md, "Pure-wasm rung".
 */

interface Helper {
  /** Keys of the weights (filters, biases) this helper keeps, oldest first (a Map keeps insertion order). */
  kept: Map<string, true>;
  /** Keys of the batch slices and output parts this helper keeps → their bytes, oldest first. */
  slices: Map<string, number>;
  /** Bytes of `slices`, and the most they have been. */
  sliceBytes: number;
  peakBytes: number;
  /** Evictions not yet sent (of jobs taken back, or decided after a reply), sent with the next job. */
  pendingEvict: string[];
  worker: Worker;
  port: MessagePort;
  ctrl: Int32Array;
  data: GrowableSab;
  jobs: number;
  index: number;
}

/**
 * How a kernel splits. By batch (N ≥ 2): the `batch` inputs are sliced on axis 0, the output
 * concatenated on axis 0 (or summed: `sum`), `shapeAttr`'s first entry is the slice's batch.
 * At batch 1, stride 1: by output rows (rowPlan) for the forward convs and filter gradients.
 * Otherwise at batch 1, by channel: `filterAxis` says which filter channels are cut, `channel`
 * which axis of each input follows; the output is cut on its last axis; `channelAttr`'s last
 * entry is the slice's channel count.
 */
interface Split {
  batch: string[];
  shapeAttr?: 'inputShape' | 'outShape';
  /** Only split by batch (N ≥ 2); batch 1 runs on the calling thread. */
  batchOnly?: boolean;
  /** Fewest multiply-adds (as splitKernel counts them) worth a split; MIN_MACS if absent. */
  minMacs?: number;
  sum?: boolean;
  /** input name → axis counted from the end (1: last) cut along the channel split. */
  channel: Record<string, number>;
  /** Which filter axis the channel split cuts (from the end): 1 output channels, 2 input channels. */
  filterAxis: 1 | 2;
  channelAttr?: 'inputShape' | 'filterShape';
}

/** Fewest multiply-adds for splitting a transposed conv (the U-Net's smallest: 33M). */
const MIN_MACS_T = 1 << 23;

/** The kernels that run split, and how. */
export const SPLIT_KERNELS: Readonly<Record<string, Split>> = {
  Conv2D: { batch: ['x'], channel: { filter: 1 }, filterAxis: 1 },
  FusedConv2D: { batch: ['x'], channel: { filter: 1, bias: 1 }, filterAxis: 1 },
  Conv2DBackpropInput: { batch: ['dy'], shapeAttr: 'inputShape', channel: { filter: 2 }, filterAxis: 2, channelAttr: 'inputShape' },
  Conv2DBackpropFilter: { batch: ['x', 'dy'], sum: true, channel: { dy: 1 }, filterAxis: 1, channelAttr: 'filterShape' },
  Conv3D: { batch: ['x'], channel: { filter: 1 }, filterAxis: 1 },
  Conv3DBackpropInputV2: { batch: ['dy'], shapeAttr: 'inputShape', channel: { filter: 2 }, filterAxis: 2, channelAttr: 'inputShape' },
  Conv3DBackpropFilterV2: { batch: ['x', 'dy'], sum: true, channel: { dy: 1 }, filterAxis: 1, channelAttr: 'filterShape' },
};

/**
 * Osteon's fused kernels that may run split (kernels/simd/fused.ts registers them so, by its own
 * switch; kernels/index.ts wraps only SPLIT_KERNELS): the transposed conv + bias of
 * model/upconv.ts, by batch only. The filter gradient's two outputs [dfilter, dbias] are both sums.
 */
export const SPLIT_FUSED_KERNELS: Readonly<Record<string, Split>> = {
  // One tap per output pixel: a call under MIN_MACS_T takes under ~1 ms, which the split's fixed
  // cost (~0.3 ms of copies and a wake-up per call on a quiet machine) would mostly eat.
  OsteonConvTransposeBias: { batch: ['x'], shapeAttr: 'outShape', batchOnly: true, minMacs: MIN_MACS_T, channel: {}, filterAxis: 1 },
  OsteonConvTransposeInputGrad: { batch: ['dy'], shapeAttr: 'outShape', batchOnly: true, minMacs: MIN_MACS_T, channel: {}, filterAxis: 1 },
  OsteonConvTransposeBiasGrad: { batch: ['x', 'dy'], shapeAttr: 'outShape', sum: true, batchOnly: true, minMacs: MIN_MACS_T, channel: {}, filterAxis: 1 },
};

/** Below this many multiply-adds a split costs more than it saves (copies, a wake-up). */
const MIN_MACS = 1 << 20;
/** Whole inputs (filters, biases) each helper keeps between jobs; the least recently used goes first. */
const KEPT = 96;
/**
 * Keys for kept inputs, per tensor buffer (dataId): tfjs tensors never change, so a buffer's key
 * stands for its contents. Osteon's kernels that write a buffer in place (a bias added to a
 * convolution's output, Adam's moments) call forgetKept first, so the next use gets a new key.
 */
const keys = new WeakMap<object, number>();
let nextKey = 1;

function keyOf(dataId: object): number {
  let key = keys.get(dataId);
  if (key === undefined) keys.set(dataId, (key = nextKey++));
  return key;
}

/**
 * Forget what the helpers keep of this buffer: a kernel is about to change it in place. Its
 * next split call sends it again under a new key (the old entries age out of the helpers' LRU).
 */
export function forgetKept(dataId: object): void {
  keys.delete(dataId);
}

/** Kernels whose batch-split output part the helper keeps (the next convolution often reads it). */
const KEEP_OUT = new Set(['Conv2D', 'FusedConv2D', 'Conv3D', 'Conv2DBackpropInput', 'Conv3DBackpropInputV2']);
/**
 * Bytes of batch slices and output parts each helper keeps by default (OSTEON_WASM_KEEP_MB).
 * The 2D reference step ([4,128,128,1], 16-32-64-128) sends its helper ~26 MiB of slices and has
 * it keep ~28 MiB of output parts per step (docs/cpu-speed.md, "Split caches").
 */
const DEFAULT_KEEP_MB = 128;
let keepBytes = DEFAULT_KEEP_MB * 2 ** 20;
const keepStats = { hits: 0, hitBytes: 0, sent: 0, sentBytes: 0, outs: 0, outBytes: 0 };

/** What the helpers' slice caches saved so far: slices found kept and sent (bytes), output parts kept (bench detail, tests). */
export function splitKeeps(): Readonly<typeof keepStats> & { budget: number } {
  return { ...keepStats, budget: keepBytes };
}

/** Tests and the bench set the slice budget in bytes (0: keep none from now on); returns the old one. */
export function setKeepBytes(bytes: number): number {
  const old = keepBytes;
  keepBytes = bytes;
  return old;
}

/**
 * Bytes of batch slices each helper keeps: OSTEON_WASM_KEEP_MB (MiB, a whole number ≥ 0; 0
 * keeps none), else DEFAULT_KEEP_MB.
 */
export function wantedKeepBytes(): number {
  const env = process.env.OSTEON_WASM_KEEP_MB?.trim();
  if (!env) return DEFAULT_KEEP_MB * 2 ** 20;
  const n = Number(env);
  if (!Number.isInteger(n) || n < 0) throw new OsteonError({ code: 'usage', field: 'OSTEON_WASM_KEEP_MB', message: `OSTEON_WASM_KEEP_MB=${env}: expected a whole number of MiB ≥ 0` });
  return n * 2 ** 20;
}
/** Inputs a helper keeps whole (weights): the ones that repeat across calls. */
const KEEP = new Set(['filter', 'bias']);

/** Fewest channels per part in a channel split (batch 1). */
const MIN_CHANNEL_PART = 16;
/** Largest shared buffer per helper (virtual reservation; it grows as jobs need). */
const MAX_BYTES = 2 ** 32;
/** A helper that has not started in this long is given up (the rung then runs on fewer threads). */
const START_MS = 120_000;
/** A helper that has not answered this long after the caller finished its own slice is dead. */
const MIN_WAIT_MS = 60_000;

let helpers: Helper[] = [];
let starting: Promise<WasmThreadsStatus> | null = null;
let status: WasmThreadsStatus = { threads: 1, reason: 'not started' };
let busy = false;
let enabled = true;

/**
 * Whether splitting pays, judged on the split calls themselves: a split call's wall time against
 * the calling thread's own part scaled to the whole call (what one thread would have taken).
 * When BAD_WINDOWS windows of WINDOW calls in a row took longer split than that estimate
 * (× PAYS), splitting pauses for PAUSE calls, then is tried again. On a machine whose cores are
 * busy with other work every join waits for a descheduled thread, and one thread is faster
 * (docs/cpu-speed.md). The first window after the helpers start is not judged: their first jobs
 * grow their heaps and fill their filter caches. One bad window alone does not pause either: a
 * garbage collection or a moment of load beside a quiet run tipped single windows, and each such
 * pause ran the next 400 calls (about 9 steps of the 2D U-Net) on one thread. Nor is a window in
 * which the helpers' slice caches grew by more than GROWING (their heaps were growing).
 */
const WINDOW = 40;
const PAYS = 0.95;
const PAUSE = 400;
const BAD_WINDOWS = 2;
const policy = { calls: 0, split: 0, alone: 0, paused: 0, pauses: 0, bad: 0, warm: false, grown: 0 };
/** A window in which the helpers' slice caches grew past their largest size by more than this is not judged. */
const GROWING = 16 * 2 ** 20;

function judge(splitMs: number, aloneMs: number): void {
  policy.calls++;
  policy.split += splitMs;
  policy.alone += aloneMs;
  if (policy.calls < WINDOW) return;
  if (!policy.warm) policy.warm = true;
  // Nor is a window in which the helpers' slice caches grew by more than GROWING past their
  // largest size: their heaps were growing (the first 2–3 steps of the 2D reference step, until
  // the budget is full), and one such run paused the split for ~7 steps.
  else if (policy.grown > GROWING) policy.grown = 0;
  else if (policy.split <= PAYS * policy.alone) policy.bad = 0;
  else if (++policy.bad >= BAD_WINDOWS) {
    policy.paused = PAUSE;
    policy.pauses++;
    policy.bad = 0;
  }
  policy.calls = policy.split = policy.alone = policy.grown = 0;
}

/** How often splitting paused because it did not pay, and whether it is paused now (bench detail, tests). */
export function splitPauses(): { pauses: number; pausedNow: boolean } {
  return { pauses: policy.pauses, pausedNow: policy.paused > 0 };
}
let splits = 0;
let stolen = 0;
const times = { copyIn: 0, own: 0, wait: 0, copyOut: 0, helperCopyIn: 0, helperKernel: 0, helperCopyOut: 0 };

export interface WasmThreadsStatus {
  /** Threads that compute the split kernels: the caller plus its helpers. */
  threads: number;
  /** Why there are no helpers (or fewer than asked), or null. */
  reason: string | null;
}

/** Tests and the bench turn splitting off (every call runs on the calling thread); returns the old value. */
export function setSplitKernels(on: boolean): boolean {
  const old = enabled;
  enabled = on;
  policy.calls = policy.split = policy.alone = policy.paused = policy.bad = 0;
  return old;
}

/** How many split kernel calls ran (for tests). */
export function splitCalls(): number {
  return splits;
}

/** How many helper jobs the calling thread took back because their helper had not started them. */
export function takenBack(): number {
  return stolen;
}

/** Milliseconds the calling thread spent in split calls so far, by phase (bench detail, tests). */
export function splitTimes(): Readonly<typeof times> {
  return { ...times };
}

export function wasmThreadsStatus(): WasmThreadsStatus {
  return status;
}

/**
 * Threads asked for: OSTEON_WASM_THREADS, else `requested`, else the CPUs this process may use
 * (at most 4: the rung's batches are small).
 */
export function wantedWasmThreads(requested?: number): number {
  const env = process.env.OSTEON_WASM_THREADS?.trim();
  if (env) {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new OsteonError({ code: 'usage', field: 'OSTEON_WASM_THREADS', message: `OSTEON_WASM_THREADS=${env}: expected a whole number ≥ 1` });
    return n;
  }
  return requested && requested > 0 ? requested : Math.min(4, availableParallelism());
}

/** Turns V8's up-front optimising wasm compilation on or off; false where the flag cannot be set. */
function setEagerWasm(on: boolean): boolean {
  try {
    v8.setFlagsFromString(on ? '--no-wasm-dynamic-tiering' : '--wasm-dynamic-tiering');
    return true;
  } catch {
    return false;
  }
}

/** Why this thread may not block in Atomics.wait, or null. */
function cannotBlock(): string | null {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return null;
  } catch (e) {
    return `this thread may not block (${e instanceof Error ? e.message : String(e)})`;
  }
}

/**
 * Starts the helper threads (threads − 1 of them) once; later calls return the first result.
 * Never throws for a helper that fails to start: the rung then runs on one thread and the
 * status says why.
 */
export function startWasmThreads(requested?: number): Promise<WasmThreadsStatus> {
  if (!starting) keepBytes = wantedKeepBytes();
  starting ??= start(wantedWasmThreads(requested));
  return starting;
}

async function start(threads: number): Promise<WasmThreadsStatus> {
  if (threads <= 1) return (status = { threads: 1, reason: 'one thread asked for (OSTEON_WASM_THREADS=1)' });
  const why = cannotBlock();
  if (why) return (status = { threads: 1, reason: why });
  // The helpers compile tfjs-wasm and Osteon's module with the optimising compiler up front.
  // With V8's default lazy tier-up, a helper ran its first steps' convolutions up to 1.7× slower
  // than the calling thread, whose code was already hot, and every join waited for it.
  const eager = setEagerWasm(true);
  const started = await Promise.allSettled(Array.from({ length: threads - 1 }, (_, i) => spawn(i + 1))).finally(() => {
    if (eager) setEagerWasm(false);
  });
  helpers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  policy.warm = false;
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  const reason = failed ? `helper thread failed to start: ${failed.reason instanceof Error ? failed.reason.message : String(failed.reason)}` : null;
  return (status = { threads: 1 + helpers.length, reason });
}

function spawn(index: number): Promise<Helper> {
  const { port1, port2 } = new MessageChannel();
  const ctrlBuffer = new SharedArrayBuffer(4 * CTRL_SLOTS);
  const data = growableSab(1 << 20, MAX_BYTES);
  const workerData: HelperData = { ctrl: ctrlBuffer, data, port: port2 };
  const worker = new Worker(new URL('./helper-worker.mjs', import.meta.url), { workerData, transferList: [port2] });
  return new Promise<Helper>((resolve, reject) => {
    const timer = setTimeout(() => fail(`not ready after ${START_MS / 1000} s`), START_MS);
    const fail = (message: string) => {
      clearTimeout(timer);
      void worker.terminate();
      reject(new Error(message));
    };
    worker.once('message', (m: HelperReady) => {
      if (m.type === 'failed') return fail(m.message);
      clearTimeout(timer);
      worker.unref();
      resolve({ kept: new Map(), slices: new Map(), sliceBytes: 0, peakBytes: 0, pendingEvict: [], worker, port: port1, ctrl: new Int32Array(ctrlBuffer), data, jobs: 0, index });
    });
    worker.once('error', (e) => fail(e.message));
    worker.once('exit', (code) => fail(`exited with code ${code} while starting`));
  });
}

/** Tests: makes helper 1 die as a crash would (an uncaught error on its thread); resolves once it has. */
export async function crashHelperForTest(): Promise<void> {
  const h = helpers[0];
  if (!h) throw new Error('no helper thread');
  h.port.postMessage({ type: 'crash' } satisfies HelperCrash);
  h.jobs++;
  Atomics.store(h.ctrl, JOB, h.jobs);
  Atomics.notify(h.ctrl, JOB);
  await new Promise<void>((resolve) => h.worker.once('exit', () => resolve()));
}

/**
 * Tests: keeps every helper busy for `ms`, as threads waiting for a core would be. With `claimed`,
 * each helper sleeps after claiming its next job instead, so that job cannot be taken back and the
 * split call is slower than one thread by about `ms`, whatever the machine's load.
 */
export function stallHelpersForTest(ms: number, claimed = false): void {
  for (const h of helpers) {
    h.port.postMessage({ type: 'sleep', ms, claimed } satisfies HelperSleep);
    h.jobs++;
    Atomics.store(h.ctrl, JOB, h.jobs);
    Atomics.notify(h.ctrl, JOB);
  }
}

/** Ends the helper threads (tests; the process also ends them on exit). */
export async function stopWasmThreads(): Promise<void> {
  const hs = helpers;
  helpers = [];
  starting = null;
  status = { threads: 1, reason: 'stopped' };
  for (const h of hs) {
    h.port.postMessage({ type: 'quit' } satisfies HelperQuit);
    Atomics.add(h.ctrl, JOB, 1);
    Atomics.notify(h.ctrl, JOB);
  }
  await Promise.all(hs.map((h) => new Promise<void>((resolve) => {
    h.worker.once('exit', () => resolve());
    setTimeout(() => void h.worker.terminate().then(() => resolve()), 5000).unref();
  })));
}

function prod(shape: readonly number[], from = 0): number {
  let p = 1;
  for (let i = from; i < shape.length; i++) p *= shape[i];
  return p;
}

/** Batch counts per part, the caller's first: as even as possible. */
function partsOf(N: number, P: number): number[] {
  return Array.from({ length: P }, (_, i) => Math.floor(N / P) + (i < N % P ? 1 : 0));
}

/** Posts a job; returns its id, which the helper must claim (TAKEN) before it starts. */
function post(h: Helper, job: HelperJob): number {
  h.jobs++;
  job.id = h.jobs;
  Atomics.store(h.ctrl, TAKEN, h.jobs);
  h.port.postMessage(job);
  Atomics.store(h.ctrl, JOB, h.jobs);
  Atomics.notify(h.ctrl, JOB);
  return h.jobs;
}

function helperFailed(h: Helper, message: string): never {
  // One failed helper leaves the pool unusable: later calls run on the calling thread only.
  for (const other of helpers) void other.worker.terminate();
  helpers = [];
  status = { threads: 1, reason: `helper thread ${h.index} failed: ${message}` };
  throw new OsteonError({ code: 'internal', message: `wasm helper thread ${h.index} failed: ${message}` });
}

function awaitReply(h: Helper, graceMs: number): HelperReply & { type: 'done' } {
  const deadline = Date.now() + graceMs;
  for (;;) {
    const done = Atomics.load(h.ctrl, DONE);
    if (done >= h.jobs) break;
    if (Atomics.load(h.ctrl, STATE) === DEAD) helperFailed(h, 'its thread ended (crashed) during a job');
    Atomics.wait(h.ctrl, DONE, done, 1000);
    if (Date.now() > deadline && Atomics.load(h.ctrl, DONE) < h.jobs) {
      helperFailed(h, `no answer ${Math.round(graceMs / 1000)} s after the calling thread finished its share (the thread died or hangs)`);
    }
  }
  // Every job is answered in order; jobs taken back were answered 'skipped' and are passed over.
  let reply: HelperReply | null = null;
  for (let m = receiveMessageOnPort(h.port); m; m = receiveMessageOnPort(h.port)) reply = m.message as HelperReply;
  if (!reply || reply.type === 'skipped') helperFailed(h, 'finished a job without a reply');
  if (reply.type === 'error') helperFailed(h, reply.message);
  return reply;
}

function ensure(h: Helper, bytes: number): void {
  if (bytes > h.data.maxByteLength) helperFailed(h, `a job needs ${bytes} bytes, more than the ${h.data.maxByteLength} its buffer may hold`);
  if (h.data.byteLength < bytes) h.data.grow(Math.min(h.data.maxByteLength, Math.max(bytes, 2 * h.data.byteLength)));
}

const align = alignOffset;

type KernelArgs = Parameters<tf.KernelFunc>[0];

/** One way to cut a call: per input the axis cut (absent: whole), the output's, parts along it. */
interface Plan {
  cut: Map<string, number>;
  /** A batch cut (axis 0 of the `batch` inputs, N ≥ 2): its slices may stay on the helpers. */
  batch?: boolean;
  /** Output axis the parts fill (first: batch; rows: axis 1 of a batch-1 output), or 'sum'. */
  out: 'first' | 'rows' | 'last' | 'sum';
  /** [from, count] of each part along the cut axis, the calling thread's first. */
  parts: Array<[number, number]>;
  attrs: (count: number) => tf.NamedAttrMap;
  /** Inputs built per part by a function instead of cut (the padded input slab of a row split). */
  built?: Map<string, { shape: (n: number) => number[]; fill: (src: Float32Array, from: number, n: number, dst: Float32Array) => void }>;
}

function planFor(kernelName: string, split: Split, args: KernelArgs, filterShape: number[], threads: number): Plan | null {
  const lead = args.inputs[split.batch[0]]!;
  const N = lead.shape[0];
  const withEntry = (key: string | undefined, at: (shape: number[]) => number, n: number): tf.NamedAttrMap => {
    if (!key) return args.attrs ?? {};
    const full = [...(args.attrs as Record<string, number[]>)[key]];
    full[at(full)] = n;
    return { ...args.attrs, [key]: full };
  };
  const spans = (units: number, unit: number): Array<[number, number]> => {
    let from = 0;
    return partsOf(units, Math.min(units, threads)).map((u) => {
      const span: [number, number] = [from, u * unit];
      from += u * unit;
      return span;
    });
  };
  if (N >= 2) {
    return {
      cut: new Map(split.batch.map((n) => [n, 0])),
      batch: true,
      out: split.sum ? 'sum' : 'first',
      parts: spans(N, 1),
      attrs: (n) => withEntry(split.shapeAttr, () => 0, n),
    };
  }
  if (split.batchOnly) return null;
  if (split.sum || ROW_FORWARD.has(kernelName)) {
    const rows = rowPlan(args, filterShape, threads, !split.sum);
    if (rows) return rows;
  }
  // Batch 1: cut the channels, in multiples of 4 where they allow (the SIMD kernels' width).
  // Each thread repeats the work that does not scale with the cut channels (layout copies,
  // im2col), so only cut where every part keeps MIN_CHANNEL_PART of them.
  const C = filterShape[filterShape.length - split.filterAxis];
  const unit = C % 4 === 0 ? 4 : 1;
  threads = Math.min(threads, Math.floor(C / MIN_CHANNEL_PART));
  if (threads < 2) return null;
  const cut = new Map<string, number>();
  for (const [name, fromEnd] of Object.entries(split.channel)) {
    const t = args.inputs[name];
    if (t) cut.set(name, t.shape.length - fromEnd);
  }
  return { cut, out: 'last', parts: spans(C / unit, unit), attrs: (n) => withEntry(split.channelAttr, (f) => f.length - 1, n) };
}

/** Fewest output rows per part in a row split. */
const MIN_ROWS = 4;

/** Forward convolutions that split by output rows at batch 1. */
const ROW_FORWARD = new Set(['Conv2D', 'Conv3D']);

/**
 * A convolution of batch 1 (stride 1, no dilation) split by output rows (D in 3D, H in 2D).
 * Each part gets the input rows its output rows read, zero-padded on every spatial side, and
 * runs as a 'valid' convolution. Forward: the parts' rows are the output's (contiguous at batch
 * 1). Filter gradient: dW is a sum over output positions, so each part also gets dy's rows and
 * the parts' sums add up.
 */
function rowPlan(args: KernelArgs, filterShape: number[], threads: number, forward: boolean): Plan | null {
  const x = args.inputs.x;
  const dy = args.inputs.dy;
  if (!x || (!forward && !dy)) return null;
  const attrs = args.attrs as unknown as { strides: number | number[]; pad: 'same' | 'valid' | number; dimRoundingMode?: 'floor' | 'round' | 'ceil'; dilations?: number | number[] };
  if (attrs.dilations !== undefined && [attrs.dilations].flat().some((d) => d !== 1)) return null;
  const is3 = x.shape.length === 5;
  const g = is3
    ? geomFrom3D(tf.backend_util.computeConv3DInfo(x.shape as [number, number, number, number, number], filterShape as [number, number, number, number, number], attrs.strides as [number, number, number], 1, attrs.pad as 'same' | 'valid'))
    : geomFrom2D(tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape as [number, number, number, number], attrs.strides as [number, number], 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast'));
  if (g.sd !== 1 || g.sh !== 1 || g.sw !== 1 || g.dd !== 1 || g.dh !== 1 || g.dw !== 1) return null;
  if ([g.pf, g.pk, g.pt, g.pb, g.pl, g.pr].some((p) => p < 0)) return null;
  // Rows: D in 3D; in 2D the geometry's D is 1 and the rows are H.
  const [O, K, p0, In] = is3 ? [g.OD, g.KD, g.pf, g.D] : [g.OH, g.KH, g.pt, g.H];
  const Hp = is3 ? g.OH + g.KH - 1 : 1;
  const Wp = g.OW + g.KW - 1;
  const [H, top] = is3 ? [g.H, g.pt] : [1, 0];
  const { W, C } = g;
  const P = Math.min(threads, Math.floor(O / MIN_ROWS));
  if (P < 2) return null;
  let from = 0;
  const parts = partsOf(O, P).map((n): [number, number] => {
    const span: [number, number] = [from, n];
    from += n;
    return span;
  });
  const shape = (n: number): number[] => (is3 ? [1, n + K - 1, Hp, Wp, C] : [1, n + K - 1, Wp, C]);
  const fill = (src: Float32Array, o0: number, n: number, dst: Float32Array): void => {
    dst.fill(0);
    const line = W * C;
    for (let sRow = 0; sRow < n + K - 1; sRow++) {
      const r = o0 - p0 + sRow;
      if (r < 0 || r >= In) continue;
      for (let h = 0; h < H; h++) {
        const at = ((sRow * Hp + h + top) * Wp + g.pl) * C;
        dst.set(src.subarray((r * H + h) * line, (r * H + h + 1) * line), at);
      }
    }
  };
  return {
    cut: forward ? new Map() : new Map([['dy', 1]]),
    built: new Map([['x', { shape, fill }]]),
    out: forward ? 'rows' : 'sum',
    parts,
    attrs: () => ({ ...args.attrs, pad: 'valid' }),
  };
}

/** Rows shorter than this are copied element by element (a subarray per row costs more). */
const SHORT_ROW = 64;

/** Copies the slice [from, from + n) along `axis` of src (of `shape`) into dst (contiguous). */
function gather(src: Float32Array, shape: readonly number[], axis: number, from: number, n: number, dst: Float32Array): void {
  const inner = prod(shape, axis + 1);
  const outer = prod(shape.slice(0, axis));
  const row = shape[axis] * inner;
  const len = n * inner;
  if (outer === 1) {
    dst.set(src.subarray(from * inner, from * inner + len));
  } else if (len < SHORT_ROW) {
    for (let o = 0, s = from * inner, d = 0; o < outer; o++, s += row) for (let j = 0; j < len; j++) dst[d++] = src[s + j];
  } else {
    for (let o = 0; o < outer; o++) dst.set(src.subarray(o * row + from * inner, o * row + from * inner + len), o * len);
  }
}

/** The inverse of gather on the last axis: part (contiguous) into dst's slice [from, from + n) along the last axis of `shape`. */
function scatterLast(part: Float32Array, shape: readonly number[], from: number, n: number, dst: Float32Array): void {
  const C = shape[shape.length - 1];
  const outer = prod(shape) / C;
  if (n < SHORT_ROW) {
    for (let o = 0, d = from, s = 0; o < outer; o++, d += C) for (let j = 0; j < n; j++) dst[d + j] = part[s++];
  } else {
    for (let o = 0; o < outer; o++) dst.set(part.subarray(o * n, o * n + n), o * C + from);
  }
}

/**
 * The kernel `kernelName` split over the calling thread and the helpers: by batch, or for
 * batch 1 by channels. It runs `fallback` alone when there are no helpers, the work is small,
 * or the call is nested inside another split call (a kernel that calls another kernel).
 */
export function splitKernel(kernelName: string, fallback: tf.KernelFunc): tf.KernelFunc {
  const split = SPLIT_KERNELS[kernelName] ?? SPLIT_FUSED_KERNELS[kernelName];
  if (!split) throw new Error(`no split rule for ${kernelName}`);
  const fn: tf.KernelFunc = (args) => {
    if (helpers.length === 0 || busy || !enabled) return fallback(args);
    const lead = args.inputs[split.batch[0]];
    // The filter, or for a filter gradient the filter's shape.
    const filterShape = args.inputs.filter?.shape ?? (args.attrs as { filterShape?: number[] } | undefined)?.filterShape;
    const N = lead?.shape[0] ?? 0;
    if (!lead || N < 1 || !filterShape) return fallback(args);
    const ins = Object.entries(args.inputs).filter((e): e is [string, tf.TensorInfo] => e[1] !== undefined);
    if (ins.some(([, t]) => t.dtype !== 'float32')) return fallback(args);
    if (split.batch.some((n) => args.inputs[n]?.shape[0] !== N)) return fallback(args);
    if (kernelName === 'FusedConv2D' && args.inputs.preluActivationWeights) return fallback(args);
    if ((args.attrs as { dataFormat?: string } | undefined)?.dataFormat === 'NCHW' || (args.attrs as { dataFormat?: string } | undefined)?.dataFormat === 'NCDHW') return fallback(args);
    // Multiply-adds: positions of the batched tensor × filter taps × the filter's other channel axis.
    const macs = (prod(lead.shape) / lead.shape[lead.shape.length - 1]) * prod(filterShape);
    if (macs < (split.minMacs ?? MIN_MACS)) return fallback(args);
    const plan = planFor(kernelName, split, args, filterShape, 1 + helpers.length);
    if (!plan || plan.parts.length < 2) return fallback(args);
    const dead = helpers.find((h) => Atomics.load(h.ctrl, STATE) === DEAD);
    if (dead) helperFailed(dead, 'its thread ended (crashed)');
    if (policy.paused > 0) {
      policy.paused--;
      return fallback(args);
    }
    busy = true;
    try {
      return runSplit(kernelName, plan, fallback, args, ins);
    } finally {
      busy = false;
    }
  };
  inner.set(fn, fallback);
  return fn;
}

const inner = new WeakMap<tf.KernelFunc, tf.KernelFunc>();

/** The kernel a split wrapper runs on each thread (tests check which kernel that is), else `f`. */
export function unsplit(f: tf.KernelFunc): tf.KernelFunc {
  return inner.get(f) ?? f;
}

/** Runs `fallback` on this thread for the part [from, from + n) of the plan's cut. */
function computePart(plan: Plan, fallback: tf.KernelFunc, backend: ReturnType<typeof asWasm>, ins: Array<[string, tf.TensorInfo]>, from: number, n: number): tf.TensorInfo | tf.TensorInfo[] {
  const sliceShape = (t: tf.TensorInfo, axis: number): number[] => t.shape.map((d, i) => (i === axis ? n : d));
  const aliases: tf.TensorInfo[] = [];
  const temps: tf.TensorInfo[] = [];
  const mine: tf.NamedTensorInfoMap = {};
  // A batch slice (or a row slice at batch 1) is contiguous: aliased in place; others are copied out.
  const contiguous = (t: tf.TensorInfo, axis: number): boolean => axis === 0 || (axis === 1 && t.shape[0] === 1);
  try {
    for (const [name, t] of ins) {
      const axis = cut(plan, name);
      const built = plan.built?.get(name);
      if (built) {
        const c = backend.makeOutput(built.shape(n), 'float32');
        temps.push(c);
        mine[name] = c;
      } else if (axis === undefined) {
        mine[name] = t;
      } else if (contiguous(t, axis)) {
        const a = alias(backend, t, from * prod(t.shape, axis + 1), sliceShape(t, axis));
        aliases.push(a);
        mine[name] = a;
      } else {
        const c = backend.makeOutput(sliceShape(t, axis), 'float32');
        temps.push(c);
        mine[name] = c;
      }
    }
    // Views after the last allocation.
    for (const [name, t] of ins) {
      const axis = cut(plan, name);
      const built = plan.built?.get(name);
      if (built) built.fill(view(backend, t), from, n, view(backend, mine[name]!));
      else if (axis !== undefined && !contiguous(t, axis)) gather(view(backend, t), t.shape, axis, from, n, view(backend, mine[name]!));
    }
    return fallback({ inputs: mine, backend, attrs: plan.attrs(n) }) as tf.TensorInfo | tf.TensorInfo[];
  } finally {
    for (const a of aliases) releaseAlias(backend, a);
    free(backend, ...temps);
  }
}

/**
 * Takes a posted job back if its helper has not claimed it; then the helper never sees its
 * inputs, so what the job would have kept is forgotten and what it would have evicted is sent
 * with the next job.
 */
let takeBackOn = true;

/** Tests: whether unclaimed jobs are taken back (off: the calling thread always waits, so what a job keeps is certain); returns the old value. */
export function setTakeBackForTest(on: boolean): boolean {
  const old = takeBackOn;
  takeBackOn = on;
  return old;
}

function takeBack(job: { h: Helper; id: number; sent: string[]; evict: string[] }): boolean {
  if (!takeBackOn) return false;
  if (Atomics.compareExchange(job.h.ctrl, TAKEN, job.id, 0) !== job.id) return false;
  for (const key of job.sent) {
    job.h.kept.delete(key);
    const bytes = job.h.slices.get(key);
    if (bytes !== undefined) {
      job.h.slices.delete(key);
      job.h.sliceBytes -= bytes;
    }
  }
  job.h.pendingEvict.push(...job.evict);
  return true;
}

/** Marks a slice kept on h (most recent last), evicting the oldest others past the budget into pendingEvict. */
function keepSlice(h: Helper, key: string, bytes: number, protect: ReadonlySet<string>): void {
  h.slices.set(key, bytes);
  h.sliceBytes += bytes;
  if (h.sliceBytes > h.peakBytes) {
    policy.grown += h.sliceBytes - h.peakBytes;
    h.peakBytes = h.sliceBytes;
  }
  if (h.sliceBytes <= keepBytes) return;
  for (const [old, b] of h.slices) {
    if (h.sliceBytes <= keepBytes) break;
    if (protect.has(old)) continue;
    h.slices.delete(old);
    h.sliceBytes -= b;
    h.pendingEvict.push(old);
  }
}

/** The key of samples [from, from + n) of a tensor of batch N (the same bytes under any reshape that keeps N). */
const sliceKey = (tensorKey: number, N: number, from: number, n: number): string => `${tensorKey}:${N}:${from}+${n}`;

function cut(plan: Plan, name: string): number | undefined {
  return plan.cut.get(name);
}

const outputs = (r: tf.TensorInfo | tf.TensorInfo[]): tf.TensorInfo[] => (Array.isArray(r) ? r : [r]);

function runSplit(kernelName: string, plan: Plan, fallback: tf.KernelFunc, args: KernelArgs, ins: Array<[string, tf.TensorInfo]>): tf.TensorInfo | tf.TensorInfo[] {
  const backend = asWasm(args.backend);
  const { parts } = plan;
  const sliceShape = (t: tf.TensorInfo, axis: number, n: number): number[] => t.shape.map((d, i) => (i === axis ? n : d));
  const t0 = performance.now();
  // The helpers' slices first, so they work while this thread computes its own.
  const posted: { h: Helper; id: number; from: number; n: number; out: number; sent: string[]; evict: string[]; keepOut?: string }[] = [];
  // Batch slices (and the output parts of KEEP_OUT kernels) stay on the helper (OSTEON_WASM_KEEP_MB).
  const keepSlices = plan.batch === true && keepBytes > 0;
  const resultKey = keepSlices && KEEP_OUT.has(kernelName) && plan.out === 'first' ? nextKey++ : 0;
  const N = parts[parts.length - 1][0] + parts[parts.length - 1][1];
  for (let p = 1; p < parts.length; p++) {
    const h = helpers[p - 1];
    const [from, n] = parts[p];
    const slots: TensorSlot[] = [];
    let offset = 0;
    const evict: string[] = [];
    const sent: string[] = [];
    const mine = new Set<string>();
    for (const [name, t] of ins) {
      const axis = cut(plan, name);
      const built = plan.built?.get(name);
      if (built) {
        const shape = built.shape(n);
        const len = prod(shape);
        ensure(h, offset + 4 * len);
        built.fill(view(backend, t), from, n, new Float32Array(h.data, offset, len));
        slots.push({ name, shape, offset });
        offset = align(offset + 4 * len);
        continue;
      }
      const shape = axis === undefined ? [...t.shape] : sliceShape(t, axis, n);
      let key: string | undefined;
      if (keepSlices && axis === 0 && 4 * prod(shape) <= keepBytes) {
        key = sliceKey(keyOf(t.dataId), N, from, n);
        const bytes = 4 * prod(shape);
        mine.add(key);
        if (h.slices.has(key)) {
          h.slices.delete(key);
          h.slices.set(key, bytes); // most recent last
          keepStats.hits++;
          keepStats.hitBytes += bytes;
          slots.push({ name, shape, offset: 0, key, cached: true });
          continue;
        }
        keepSlice(h, key, bytes, mine);
        sent.push(key);
        keepStats.sent++;
        keepStats.sentBytes += bytes;
      } else if (axis === undefined && KEEP.has(name)) {
        key = `w${keyOf(t.dataId)}`;
        if (h.kept.has(key)) {
          h.kept.delete(key);
          h.kept.set(key, true); // most recent last
          slots.push({ name, shape, offset: 0, key, cached: true });
          continue;
        }
        h.kept.set(key, true);
        sent.push(key);
        while (h.kept.size > KEPT) {
          const oldest = h.kept.keys().next().value as string;
          h.kept.delete(oldest);
          evict.push(oldest);
        }
      }
      const len = prod(shape);
      ensure(h, offset + 4 * len);
      const dst = new Float32Array(h.data, offset, len);
      if (axis === undefined) dst.set(view(backend, t));
      else gather(view(backend, t), t.shape, axis, from, n, dst);
      slots.push({ name, shape, offset, key });
      offset = align(offset + 4 * len);
    }
    // Evictions decided before (pending) and for this job's slices, none of them this job's keys.
    evict.push(...h.pendingEvict.splice(0));
    const keepOut = resultKey ? sliceKey(resultKey, N, from, n) : undefined;
    const id = post(h, { type: 'job', id: 0, kernel: kernelName, attrs: plan.attrs(n), inputs: slots, out: offset, evict, ...(keepOut ? { keepOut } : {}) });
    posted.push({ h, id, from, n, out: offset, sent, evict, keepOut });
  }
  const t1 = performance.now();
  const n0 = parts[0][1];
  let own: tf.TensorInfo | tf.TensorInfo[];
  try {
    own = computePart(plan, fallback, backend, ins, 0, n0);
  } catch (e) {
    // Collect the helpers' replies (or take their jobs back), so the next split call does not read these.
    for (const job of posted) {
      const { h } = job;
      if (takeBack(job)) continue;
      try {
        awaitReply(h, MIN_WAIT_MS);
        if (job.keepOut) h.pendingEvict.push(job.keepOut); // no result holds it
      } catch {
        // this call's own error is the one to report
      }
    }
    throw e;
  }
  const t2 = performance.now();
  // A job its helper has not started yet (its thread is waiting for a core, on a loaded machine)
  // is taken back and computed here, so a split call is never much slower than one thread.
  const results: Array<{ mine: tf.TensorInfo[] } | { shapes: number[][] } | null> = posted.map((job) => {
    if (!takeBack(job)) return null;
    stolen++;
    return { mine: outputs(computePart(plan, fallback, backend, ins, job.from, job.n)) };
  });
  const tBack = performance.now();
  const owns = outputs(own);
  const total = parts[parts.length - 1][0] + parts[parts.length - 1][1];
  // A concatenated output is made now, and this thread's part (and any taken back) copied in
  // while the helpers finish theirs.
  let made: tf.TensorInfo | null = null;
  let place: (part: Float32Array, from: number, n: number) => void = () => {};
  let partSize: (n: number) => number = () => 0;
  if (plan.out !== 'sum') {
    if (owns.length !== 1) throw new Error(`${kernelName}: a split kernel with ${owns.length} outputs must sum them`);
    const one = owns[0];
    const axis = plan.out === 'first' ? 0 : plan.out === 'rows' ? 1 : one.shape.length - 1;
    const fullShape = one.shape.map((d, i) => (i === axis ? total : d));
    made = backend.makeOutput(fullShape, 'float32');
    if (resultKey) keys.set(made.dataId, resultKey);
    // Views only from here on: no allocation below.
    const dst = view(backend, made);
    // Batch parts, and row parts of a batch-1 output, are contiguous blocks.
    const contiguous = axis === 0 || (axis === 1 && fullShape[0] === 1);
    const inner = prod(fullShape, axis + 1);
    place = (part, from, n) => (contiguous ? dst.set(part, from * inner) : scatterLast(part, fullShape, from, n, dst));
    partSize = (n) => prod(one.shape.map((d, j) => (j === axis ? n : d)));
    place(view(backend, one), 0, n0);
    results.forEach((r, i) => {
      if (r && 'mine' in r) place(view(backend, r.mine[0]), posted[i].from, posted[i].n);
    });
    free(backend, one);
  }
  const t3 = performance.now();
  try {
    posted.forEach((job, i) => {
      if (results[i]) return;
      const { h } = job;
      const r = awaitReply(h, Math.max(MIN_WAIT_MS, 20 * (t2 - t1)));
      if (job.keepOut && r.shapes.length === 1) {
        // The helper kept its output part: the caller's result's slice.
        keepSlice(h, job.keepOut, 4 * prod(r.shapes[0]), new Set());
        keepStats.outs++;
        keepStats.outBytes += 4 * prod(r.shapes[0]);
      }
      if (r.ms) {
        times.helperCopyIn += r.ms[0];
        times.helperKernel += r.ms[1];
        times.helperCopyOut += r.ms[2];
      }
      results[i] = { shapes: r.shapes };
    });
  } catch (e) {
    if (made) free(backend, made);
    for (const r of results) if (r && 'mine' in r) free(backend, ...r.mine);
    throw e;
  }
  const t4 = performance.now();
  splits++;
  times.copyIn += t1 - t0;
  times.own += t2 - t1;
  times.wait += tBack - t2 + (t4 - t3);
  const checked = (h: Helper, shapes: number[][], k: number, want: number): void => {
    if (shapes.length !== owns.length || prod(shapes[k]) !== want) {
      helperFailed(h, `returned ${shapes.length} output(s) [${shapes.map((s) => s.join(',')).join('], [')}], not the ${owns.length} of its part`);
    }
  };
  let result: tf.TensorInfo | tf.TensorInfo[];
  if (made === null) {
    // Each output: the parts added in order, the calling thread's first (no allocation: views hold).
    owns.forEach((o, k) => {
      const acc = view(backend, o);
      posted.forEach(({ h, out }, i) => {
        const r = results[i]!;
        let part: Float32Array;
        if ('mine' in r) part = view(backend, r.mine[k]);
        else {
          checked(h, r.shapes, k, acc.length);
          part = new Float32Array(h.data, outOffsets(out, r.shapes)[k], acc.length);
        }
        for (let j = 0; j < acc.length; j++) acc[j] += part[j];
      });
    });
    result = own;
  } else {
    posted.forEach(({ h, from, n, out }, i) => {
      const r = results[i]!;
      if ('mine' in r) return; // placed above
      const want = partSize(n);
      checked(h, r.shapes, 0, want);
      place(new Float32Array(h.data, out, want), from, n);
    });
    result = made;
  }
  for (const r of results) if (r && 'mine' in r) free(backend, ...r.mine);
  const t5 = performance.now();
  times.copyOut += t3 - tBack + (t5 - t4);
  judge(t5 - t0, ((t2 - t1) * total) / n0);
  return result;
}
