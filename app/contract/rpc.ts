/**
 * Transport-agnostic RPC over the contract. A server validates every request against the call's
 * schema (a failure comes back as `bad-request`, never a throw), runs the handler, validates the
 * response, and answers a `Result`. A client turns results back into values or a thrown
 * `ContractError`. Transports only move `Message`s: an in-memory pair (tests), a WebSocket
 * (browser host), a worker port; Electron IPC plugs in at the `Invoker` level instead.
 */
import type { z } from 'zod';
import type { ContractShape } from './contract.ts';
import { ContractError, describeIssues, errorDataOf, fail, ok, type Result } from './result.ts';

export type Message =
  | { t: 'call'; id: number; name: string; payload: unknown }
  | { t: 'result'; id: number; result: Result<unknown> }
  | { t: 'event'; name: string; payload: unknown };

/** Moves messages one way and hears them from the other side. */
export interface Transport {
  send(msg: Message): void;
  /** Subscribes to incoming messages (unvalidated); returns an unsubscribe function. */
  onMessage(cb: (msg: unknown) => void): () => void;
  /** Subscribes to the other side going away. */
  onClose?(cb: () => void): () => void;
  close?(): void;
}

type CallsOf<C extends ContractShape> = C['calls'];
export type CallKey<C extends ContractShape> = keyof CallsOf<C> & string;
export type EventKey<C extends ContractShape> = keyof C['events'] & string;
export type ReqOf<C extends ContractShape, K extends CallKey<C>> = z.input<CallsOf<C>[K]['request']>;
export type ParsedReqOf<C extends ContractShape, K extends CallKey<C>> = z.output<CallsOf<C>[K]['request']>;
export type ResOf<C extends ContractShape, K extends CallKey<C>> = z.output<CallsOf<C>[K]['response']>;
export type EventOf<C extends ContractShape, E extends EventKey<C>> = z.output<C['events'][E]>;

/** One handler per call: receives the parsed request, returns the response or throws. */
export type Handlers<C extends ContractShape, Ctx = void> = {
  [K in CallKey<C>]: (req: ParsedReqOf<C, K>, ctx: Ctx) => Promise<z.input<CallsOf<C>[K]['response']>> | z.input<CallsOf<C>[K]['response']>;
};

export type Dispatch<Ctx = void> = (name: string, payload: unknown, ctx: Ctx) => Promise<Result<unknown>>;

function own(o: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key);
}

/**
 * The server half without a transport: name + raw payload in, `Result` out. Never throws.
 * Electron's `ipcMain.handle` and the transports below both sit on it.
 */
export function createDispatcher<C extends ContractShape, Ctx = void>(contract: C, handlers: Handlers<C, Ctx>): Dispatch<Ctx> {
  return async (name, payload, ctx) => {
    if (typeof name !== 'string' || !own(contract.calls, name)) {
      return fail('bad-request', `unknown call '${String(name).slice(0, 80)}'`);
    }
    const spec = contract.calls[name];
    const req = spec.request.safeParse(payload);
    if (!req.success) return fail('bad-request', `${name}: ${describeIssues(req.error)}`);
    let value: unknown;
    try {
      const handler = handlers[name as CallKey<C>] as (r: unknown, c: Ctx) => unknown;
      value = await handler(req.data, ctx);
    } catch (e) {
      return { ok: false, error: errorDataOf(e) };
    }
    const res = spec.response.safeParse(value);
    if (!res.success) return fail('internal', `${name}: the response broke its schema: ${describeIssues(res.error)}`);
    return ok(res.data);
  };
}

/** Validates an event payload against its schema before it leaves (a bug otherwise). */
export function checkEvent<C extends ContractShape>(contract: C, name: string, payload: unknown): unknown {
  if (!own(contract.events, name)) throw new Error(`unknown event '${name}'`);
  const r = contract.events[name].safeParse(payload);
  if (!r.success) throw new Error(`event ${name}: ${describeIssues(r.error)}`);
  return r.data;
}

function isCall(m: unknown): m is { t: 'call'; id: number; name: unknown; payload: unknown } {
  return typeof m === 'object' && m !== null && (m as { t?: unknown }).t === 'call' && Number.isSafeInteger((m as { id?: unknown }).id);
}

export interface Served<C extends ContractShape> {
  emit<E extends EventKey<C>>(name: E, payload: EventOf<C, E>): void;
  close(): void;
}

/** Answers calls arriving on `transport` and lets the host push events to it. */
export function serve<C extends ContractShape, Ctx = void>(
  contract: C, handlers: Handlers<C, Ctx> | Dispatch<Ctx>, transport: Transport, ctx: Ctx,
): Served<C> {
  const dispatch = typeof handlers === 'function' ? handlers : createDispatcher(contract, handlers);
  let open = true;
  const send = (msg: Message) => {
    if (!open) return;
    try {
      transport.send(msg);
    } catch {
      open = false; // the other side went away; nothing is waiting for this answer
    }
  };
  const off = transport.onMessage((m) => {
    if (!isCall(m)) return; // not a call: nothing to answer to
    const id = m.id;
    void dispatch(m.name as string, m.payload, ctx).then((result) => send({ t: 'result', id, result }));
  });
  const offClose = transport.onClose?.(() => { open = false; });
  return {
    emit(name, payload) {
      send({ t: 'event', name, payload: checkEvent(contract, name, payload) });
    },
    close() {
      open = false;
      off();
      offClose?.();
    },
  };
}

/** The client half without types: what the Electron bridge and a transport both provide. */
export interface Invoker {
  call(name: string, payload: unknown): Promise<Result<unknown>>;
  on(event: string, cb: (payload: unknown) => void): () => void;
  close?(): void;
}

/** An invoker over a message transport: matches results to calls by id. */
export function transportInvoker(transport: Transport): Invoker {
  let nextId = 1;
  const pending = new Map<number, (r: Result<unknown>) => void>();
  const listeners = new Map<string, Set<(p: unknown) => void>>();
  transport.onMessage((m) => {
    if (typeof m !== 'object' || m === null) return;
    const msg = m as Partial<Message>;
    if (msg.t === 'result' && typeof msg.id === 'number') {
      const resolve = pending.get(msg.id);
      pending.delete(msg.id);
      resolve?.(msg.result as Result<unknown>);
    } else if (msg.t === 'event' && typeof msg.name === 'string') {
      for (const cb of listeners.get(msg.name) ?? []) cb(msg.payload);
    }
  });
  transport.onClose?.(() => {
    for (const resolve of pending.values()) resolve(fail('transport', 'the connection to the Osteon host closed'));
    pending.clear();
  });
  return {
    call(name, payload) {
      const id = nextId++;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        try {
          transport.send({ t: 'call', id, name, payload });
        } catch (e) {
          pending.delete(id);
          resolve(fail('transport', `could not send ${name}: ${errorDataOf(e).message}`));
        }
      });
    },
    on(event, cb) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(cb);
      return () => set.delete(cb);
    },
    close: () => transport.close?.(),
  };
}

type ReqArgs<C extends ContractShape, K extends CallKey<C>> =
  Record<string, never> extends ReqOf<C, K> ? [req?: ReqOf<C, K>] : [req: ReqOf<C, K>];

export interface Client<C extends ContractShape> {
  /** Calls `name`; resolves to its response or throws a `ContractError`. */
  call<K extends CallKey<C>>(name: K, ...req: ReqArgs<C, K>): Promise<ResOf<C, K>>;
  /** The same as named functions: `api['project.open']({ dir })`. */
  api: { [K in CallKey<C>]: (...req: ReqArgs<C, K>) => Promise<ResOf<C, K>> };
  /** Subscribes to an event; returns an unsubscribe function. */
  on<E extends EventKey<C>>(event: E, cb: (payload: EventOf<C, E>) => void): () => void;
  close(): void;
}

export function createClient<C extends ContractShape>(contract: C, via: Transport | Invoker): Client<C> {
  const inv: Invoker = 'send' in via ? transportInvoker(via) : via;
  const call = async (name: string, req: unknown): Promise<unknown> => {
    const r = await inv.call(name, req ?? {});
    if (r.ok) return r.value;
    throw new ContractError(r.error);
  };
  const api = Object.fromEntries(Object.keys(contract.calls).map((k) => [k, (req?: unknown) => call(k, req)]));
  return {
    call: ((name: string, req?: unknown) => call(name, req)) as Client<C>['call'],
    api: api as unknown as Client<C>['api'],
    on: ((event: string, cb: (p: unknown) => void) => inv.on(event, cb)) as Client<C>['on'],
    close: () => inv.close?.(),
  };
}
