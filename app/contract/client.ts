/**
 * The renderer's way in. `connectOsteon()` returns the same typed client in both hosts:
 * - Electron: the preload exposes `window.osteon` (an `OsteonBridge`: one named function per
 *   call and per event, generated from the contract's keys);
 * - browser host: a WebSocket to `/rpc` on the page's own origin, authenticated by the
 *   `?token=` of the page URL (and the cookie the host set when it served the page).
 */
import { contract, type CallName, type Contract, type EventName, type JobResult } from './contract.ts';
import { ContractError, fail, type Result } from './result.ts';
import { createClient, transportInvoker, type Client, type Invoker, type Message, type Transport } from './rpc.ts';
import type { DType, JobKind, VolumeMeta } from './schemas.ts';

export type OsteonClient = Client<Contract>;

/** The one call the page cannot make with text: the preload makes it from dropped `File`s. */
export type BridgeCallName = Exclude<CallName, 'dialog.dropped'>;

/** What the Electron preload exposes as `window.osteon`. Results are data; nothing throws. */
export interface OsteonBridge {
  calls: { [K in BridgeCallName]: (req: unknown) => Promise<Result<unknown>> };
  events: { [E in EventName]: (cb: (payload: unknown) => void) => () => void };
  /**
   * Files dropped on the window: the preload reads their paths (webUtils.getPathForFile, never
   * shown to the page) and sends `dialog.dropped`; main asks the user and answers grant ids.
   */
  dropped(files: readonly object[]): Promise<Result<unknown>>;
}

export function bridgeInvoker(bridge: OsteonBridge): Invoker {
  return {
    call: (name, payload) => {
      const fn = (bridge.calls as Partial<Record<string, (req: unknown) => Promise<Result<unknown>>>>)[name];
      return fn ? fn(payload) : Promise.resolve(fail('bad-request', `unknown call '${name}'`));
    },
    on: (event, cb) => bridge.events[event as EventName](cb),
  };
}

/** The structural subset of the DOM WebSocket used here (no DOM types in app/). */
export interface WebSocketLike {
  readyState: number;
  send(data: string): void;
  close(): void;
  addEventListener(type: 'open' | 'close' | 'error', cb: () => void): void;
  addEventListener(type: 'message', cb: (ev: { data: unknown }) => void): void;
}
export type WebSocketCtor = new (url: string) => WebSocketLike;

/** A transport over an open WebSocket: one JSON message per frame. */
export function webSocketTransport(ws: WebSocketLike): Transport {
  return {
    send(msg: Message) {
      if (ws.readyState !== 1) throw new Error('the WebSocket is not open');
      ws.send(JSON.stringify(msg));
    },
    onMessage(cb) {
      let on = true;
      ws.addEventListener('message', (ev) => {
        if (!on || typeof ev.data !== 'string') return;
        let m: unknown;
        try { m = JSON.parse(ev.data); } catch { return; }
        cb(m);
      });
      return () => { on = false; };
    },
    onClose(cb) {
      ws.addEventListener('close', cb);
      return () => undefined;
    },
    close: () => ws.close(),
  };
}

/** Opens `url` (ws://host/rpc?token=…) and resolves once connected. */
export function connectWebSocket(url: string, Ctor?: WebSocketCtor): Promise<OsteonClient> {
  const WS = Ctor ?? (globalThis as { WebSocket?: WebSocketCtor }).WebSocket;
  if (!WS) return Promise.reject(new ContractError({ code: 'transport', message: 'no WebSocket implementation here' }));
  return new Promise((resolve, reject) => {
    const ws = new WS(url);
    let opened = false;
    ws.addEventListener('open', () => {
      opened = true;
      resolve(createClient(contract, transportInvoker(webSocketTransport(ws))));
    });
    ws.addEventListener('close', () => {
      if (!opened) reject(new ContractError({ code: 'forbidden', message: 'the Osteon host refused the connection (wrong or missing token?)' }));
    });
  });
}

interface PageLocation { protocol: string; host: string; search: string }

/** The token of the current page URL (`?token=`), or null. */
export function pageToken(): string | null {
  const loc = (globalThis as { location?: PageLocation }).location;
  return loc ? new URLSearchParams(loc.search).get('token') : null;
}

/** The client for the page this runs in: the preload bridge if present, else the browser host. */
export async function connectOsteon(): Promise<OsteonClient> {
  const bridge = (globalThis as { osteon?: OsteonBridge }).osteon;
  if (bridge) return createClient(contract, bridgeInvoker(bridge));
  const loc = (globalThis as { location?: PageLocation }).location;
  if (!loc) throw new ContractError({ code: 'transport', message: 'no Electron bridge and no page location' });
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return connectWebSocket(`${scheme}//${loc.host}/rpc?token=${encodeURIComponent(pageToken() ?? '')}`);
}

export interface JobOptions {
  onProgress?: (progress: number, message: string) => void;
  /** Aborting sends job.cancel; the promise then rejects with code 'cancelled'. */
  signal?: AbortSignal;
}

/**
 * Starts a job with `start` and resolves to its result (job.done) or rejects with a
 * ContractError (job.failed; code 'cancelled' after a cancel). Listens before starting, so a
 * fast job's events are not missed.
 */
export async function runJob<K extends JobKind>(
  client: OsteonClient, kind: K, start: () => Promise<{ jobId: string }>, opts: JobOptions = {},
): Promise<JobResult<K>> {
  const early: Array<() => void> = [];
  let jobId: string | null = null;
  let settle: { resolve: (v: JobResult<K>) => void; reject: (e: Error) => void } | null = null;
  const whenKnown = (id: string, fn: () => void) => {
    if (jobId === null) early.push(() => { if (jobId === id) fn(); });
    else if (jobId === id) fn();
  };
  const offs = [
    client.on('job.progress', (p) => whenKnown(p.jobId, () => opts.onProgress?.(p.progress, p.message))),
    client.on('job.done', (p) => whenKnown(p.jobId, () => settle?.resolve(p.result as JobResult<K>))),
    client.on('job.failed', (p) => whenKnown(p.jobId, () => settle?.reject(new ContractError(p.error)))),
  ];
  try {
    return await new Promise<JobResult<K>>((resolve, reject) => {
      settle = { resolve, reject };
      start().then((started) => {
        jobId = started.jobId;
        for (const fn of early.splice(0)) fn();
        opts.signal?.addEventListener('abort', () => {
          client.call('job.cancel', { jobId: started.jobId }).catch(reject);
        }, { once: true });
        if (opts.signal?.aborted) client.call('job.cancel', { jobId: started.jobId }).catch(reject);
      }, reject);
    });
  } finally {
    for (const off of offs) off();
    void kind;
  }
}

const ctors = {
  int8: Int8Array, uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array,
  int32: Int32Array, uint32: Uint32Array, float32: Float32Array, float64: Float64Array,
} as const satisfies Record<DType, unknown>;

export type Voxels = InstanceType<(typeof ctors)[DType]>;

/** Fetches a volume's raw voxels (see VolumeMeta) as the matching typed array. */
export async function fetchVoxels(meta: VolumeMeta, fetchImpl: typeof fetch = fetch): Promise<Voxels> {
  const res = await fetchImpl(meta.url, { credentials: 'same-origin' });
  if (!res.ok) throw new ContractError({ code: 'io', message: `voxels of ${meta.caseId}/${meta.kind}: HTTP ${res.status}` });
  const buf = await res.arrayBuffer();
  if (buf.byteLength !== meta.byteLength) {
    throw new ContractError({ code: 'io', message: `voxels of ${meta.caseId}/${meta.kind}: got ${buf.byteLength} bytes, expected ${meta.byteLength}` });
  }
  return new ctors[meta.dtype](buf);
}
