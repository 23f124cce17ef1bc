/**
 * Decoding DICOM pixel data off the calling thread: a pool of worker threads, each with its own
 * codec instances, decodes whole files and returns the stored values per frame. The async form
 * reports progress per file (the import job shows it); the sync form blocks the caller until
 * a helper worker has run the pool, so `readVolume` stays synchronous for the CLI and the engine.
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';
import { OsteonError, type ErrorData } from '../util/errors.ts';
import type { Samples } from './dicom-codecs.ts';

export interface DecodeProgress {
  done: number;
  total: number;
  file: string;
}

const WORKER = new URL('./dicom-decode-worker.mjs', import.meta.url);

export function defaultThreads(n: number): number {
  return Math.max(1, Math.min(4, availableParallelism(), n));
}

/** Distinct buffers of the arrays, for a zero-copy postMessage. */
export function transferables(arrays: Samples[]): ArrayBuffer[] {
  return [...new Set(arrays.map((a) => a.buffer as ArrayBuffer))];
}

type Reply = { i: number; frames: Samples[] } | { i: number; error: ErrorData };

export interface DecodeOptions {
  threads?: number;
  onProgress?: (p: DecodeProgress) => void;
  /** Each file's frames as soon as they arrive (input index), before its progress report. */
  onFile?: (i: number, frames: Samples[]) => void;
  /** Aborting stops handing out files, terminates the workers and rejects with code 'cancelled'. */
  signal?: AbortSignal;
}

export function cancelled(): OsteonError {
  return new OsteonError({ code: 'cancelled', message: 'DICOM decode cancelled' });
}

/** Decodes every file (all frames) in `threads` workers; results in input order. */
export async function decodeInWorkers(paths: string[], opts: DecodeOptions = {}): Promise<Samples[][]> {
  if (opts.signal?.aborted) throw cancelled();
  const threads = opts.threads ?? defaultThreads(paths.length);
  const out: Samples[][] = new Array<Samples[]>(paths.length);
  const workers = Array.from({ length: Math.min(threads, paths.length) }, () => new Worker(WORKER, { workerData: { role: 'member' } }));
  let next = 0, done = 0, stopped = false;
  let onAbort = (): void => undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      if (paths.length === 0) { resolve(); return; }
      onAbort = () => { stopped = true; reject(cancelled()); };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const feed = (w: Worker) => {
        if (!stopped && next < paths.length) { const i = next++; w.postMessage({ i, path: paths[i] }); }
      };
      for (const w of workers) {
        w.on('message', (m: Reply) => {
          if (stopped) return;
          if ('error' in m) { stopped = true; reject(new OsteonError(m.error)); return; }
          out[m.i] = m.frames;
          done++;
          // The worker gets its next file before this thread spends time on the result.
          feed(w);
          try { opts.onFile?.(m.i, m.frames); } catch (e) { stopped = true; reject(e as Error); return; }
          opts.onProgress?.({ done, total: paths.length, file: paths[m.i] });
          if (done === paths.length) resolve();
        });
        w.on('error', reject);
        w.on('exit', (code) => { if (!stopped && done < paths.length) reject(new OsteonError({ code: 'internal', message: `DICOM decode worker exited with code ${code}` })); });
        feed(w);
      }
    });
  } finally {
    stopped = true;
    opts.signal?.removeEventListener('abort', onAbort);
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return out;
}

/** Same as `decodeInWorkers`, blocking the calling thread until the pool is done. */
export function decodeSync(paths: string[], threads?: number): Samples[][] {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const helper = new Worker(WORKER, { workerData: { role: 'sync', paths, threads, port: port2, flag }, transferList: [port2] });
  try {
    while (Atomics.load(flag, 0) === 0) Atomics.wait(flag, 0, 0, 1000);
    const msg = receiveMessageOnPort(port1)?.message as { frames: Samples[][] } | { error: ErrorData } | undefined;
    if (!msg) throw new OsteonError({ code: 'internal', message: 'DICOM decode helper sent no result' });
    if ('error' in msg) throw new OsteonError(msg.error);
    return msg.frames;
  } finally {
    port1.close();
    void helper.terminate();
  }
}
