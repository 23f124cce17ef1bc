/**
 * The services' side of the GPU host (the page in gpuhost/, which owns `navigator.gpu`): typed
 * calls over any HostLink (Electron's hidden window through main, or a Chromium tab's WebSocket),
 * every answer parsed against its op's schema. The same driver runs in the app and in the e2e test.
 * A page that goes away (crash, reload, closed window) fails every pending call with a clear error.
 */
import { FromHost, HostValue, type HostCall, type HostLink, type HostOp, type Hello } from './gpu-host/protocol.ts';
import { OsteonError } from '../util/errors.ts';

interface Pending { op: HostOp; resolve(v: unknown): void; reject(e: Error): void }

export class GpuHostDriver {
  readonly #link: HostLink;
  readonly #pending = new Map<number, Pending>();
  readonly #off: Array<() => void> = [];
  #nextId = 1;
  #closed: string | null = null;
  /** The page's hello: its backend and adapter, or why it has none. */
  readonly hello: Promise<Hello>;

  constructor(link: HostLink) {
    this.#link = link;
    let gotHello: (h: Hello) => void = () => undefined;
    let noHello: (e: Error) => void = () => undefined;
    this.hello = new Promise<Hello>((res, rej) => { gotHello = res; noHello = rej; });
    this.hello.catch(() => undefined); // also reported through every call
    this.#off.push(link.onMessage((raw) => {
      const m = FromHost.safeParse(raw);
      if (!m.success) { this.#fail(`the GPU host sent a malformed message (${m.error.issues[0]?.path.join('.')}: ${m.error.issues[0]?.message})`); return; }
      const msg = m.data;
      if (msg.t === 'hello') { gotHello(msg); return; }
      const p = this.#pending.get(msg.id);
      if (!p) return;
      this.#pending.delete(msg.id);
      if (!msg.ok) { p.reject(new OsteonError({ code: 'backend', message: `GPU host ${p.op}: ${msg.error.message}` })); return; }
      const v = HostValue[p.op].safeParse(msg.value);
      if (v.success) p.resolve(v.data);
      else p.reject(new OsteonError({ code: 'backend', message: `GPU host ${p.op}: malformed answer (${v.error.issues[0]?.path.join('.')}: ${v.error.issues[0]?.message})` }));
    }));
    if (link.onClose) this.#off.push(link.onClose((why) => { noHello(this.#fail(`the GPU host went away (${why})`)); }));
  }

  get closed(): string | null { return this.#closed; }

  call<O extends HostOp>(call: Extract<HostCall, { op: O }>): Promise<HostValue<O>> {
    if (this.#closed) return Promise.reject(new OsteonError({ code: 'backend', message: this.#closed }));
    const id = this.#nextId++;
    return new Promise<HostValue<O>>((resolve, reject) => {
      this.#pending.set(id, { op: call.op, resolve: resolve as (v: unknown) => void, reject });
      try { this.#link.send({ t: 'call', id, call }); } catch (e) { this.#pending.delete(id); reject(new Error(`the GPU host went away (${(e as Error).message})`)); }
    });
  }

  #fail(message: string): Error {
    const err = new OsteonError({ code: 'backend', message });
    this.#closed ??= message;
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
    return err;
  }

  close(): void {
    this.#fail('the GPU host driver was closed');
    for (const off of this.#off.splice(0)) off();
    this.#link.close?.();
  }
}
