/**
 * Messages between the wasm rung's main thread and its helper threads (pool.ts, helper-entry.ts).
 * A job runs one registered wasm kernel on a slice of the batch; the tensors travel through the
 * helper's growable SharedArrayBuffer, the descriptions through a MessagePort read with
 * receiveMessageOnPort (the helper blocks in Atomics.wait between jobs, so it has no event loop).
 *
 * ctrl (Int32Array over its own SharedArrayBuffer): [JOB] counts jobs posted by the main thread,
 * [DONE] counts jobs the helper answered (a reply is on the port before DONE moves), [TAKEN]
 * says who runs the latest job.
 */
import type * as tf from '@tensorflow/tfjs';

export const JOB = 0;
export const DONE = 1;
/** 0 while the helper lives; DEAD once its thread is exiting (set by its exit handler). */
export const STATE = 2;
export const DEAD = 1;
/** Always 0: the helper sleeps on it for 1 ms when a job's message is late. */
export const IDLE = 3;
/**
 * The id of the job that may still be started. The helper claims job `id` by swapping it for
 * −id; the calling thread takes it back by swapping it for 0 (whoever swaps first has it).
 */
export const TAKEN = 4;
/** Int32 slots in ctrl. */
export const CTRL_SLOTS = 5;

export interface TensorSlot {
  name: string;
  shape: number[];
  /** Byte offset in the data buffer (float32); unused when `cached`. */
  offset: number;
  /**
   * An input the helper keeps between jobs under this key: a whole filter or bias ('w12'), so
   * XNNPACK keeps its packed weights too, or a batch slice ('12:4:2+2': tensor 12 of batch 4,
   * samples 2 and 3). `cached` means the helper holds it already (nothing sent).
   */
  key?: string;
  cached?: boolean;
}

export interface HelperJob {
  type: 'job';
  /** The job's number (1, 2, …), claimed through TAKEN. */
  id: number;
  kernel: string;
  attrs: tf.NamedAttrMap;
  inputs: TensorSlot[];
  /** Byte offset where the helper writes its output (it grows the buffer if needed). */
  out: number;
  /** Kept inputs the helper drops before this job (the main thread decides what stays). */
  evict: string[];
  /** Keep the output under this key after copying it out (a batch slice of the caller's result). */
  keepOut?: string;
}

export interface HelperQuit {
  type: 'quit';
}

/** Tests only: the helper throws outside any job, as a crash would, and its thread ends. */
export interface HelperCrash {
  type: 'crash';
}

/** Tests only: the helper sleeps this long, as a thread waiting for a core would. */
export interface HelperSleep {
  type: 'sleep';
  ms: number;
  /** Sleep after claiming the next real job instead of now, so the caller must wait for it (tests). */
  claimed?: boolean;
}

/**
 * shapes: the job's outputs (one, or several for a kernel with several outputs), written from
 * the job's `out` on, each at `outOffsets`. ms: the helper's time copying in, in the kernel,
 * copying out (bench detail).
 */
export type HelperReply = { type: 'done'; shapes: number[][]; ms?: [number, number, number] } | { type: 'error'; message: string } | { type: 'skipped' };

/** Offsets are 64-byte aligned in the data buffer. */
export const alignOffset = (n: number): number => (n + 63) & ~63;

/** Byte offsets of a job's outputs of these shapes (float32), the first at `out`, then the buffer's end. */
export function outOffsets(out: number, shapes: readonly number[][]): number[] {
  const at = [out];
  for (const s of shapes) at.push(alignOffset(at[at.length - 1] + 4 * s.reduce((a, b) => a * b, 1)));
  return at;
}

/** Sent once on the worker's parentPort when the helper's backend is ready, or why it is not. */
export type HelperReady = { type: 'ready'; flavor: string | null } | { type: 'failed'; message: string };

/** A growable SharedArrayBuffer (ES2024; Node 20+), which this tsconfig's lib does not type. */
export interface GrowableSab extends SharedArrayBuffer {
  grow(bytes: number): void;
  readonly maxByteLength: number;
}

export function growableSab(bytes: number, maxBytes: number): GrowableSab {
  const Ctor = SharedArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => GrowableSab;
  return new Ctor(bytes, { maxByteLength: maxBytes });
}

export interface HelperData {
  ctrl: SharedArrayBuffer;
  data: GrowableSab;
  port: import('node:worker_threads').MessagePort;
}
