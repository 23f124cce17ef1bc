/**
 * The services' end of main's GPU host relay (main/gpu-host.ts) as a HostLink. The port queues
 * messages until started, so the page's hello waits for the driver that subscribes later; main
 * posts {t: 'gone', why} when the page goes away.
 */
import type { HostLink } from '../app/learning/gpu-host/protocol.ts';

export interface PortLike {
  on(event: 'message', cb: (e: { data: unknown }) => void): void;
  postMessage(msg: unknown): void;
  start(): void;
  close(): void;
}

export function portLink(p: PortLike): HostLink {
  const listeners = new Set<(m: unknown) => void>();
  const closers = new Set<(why: string) => void>();
  let started = false;
  p.on('message', (e) => {
    const d = e.data as { t?: unknown; why?: unknown } | null;
    if (d?.t === 'gone') { for (const cb of closers) cb(String(d.why)); return; }
    for (const cb of listeners) cb(e.data);
  });
  return {
    send: (msg) => p.postMessage(msg),
    onMessage(cb) {
      listeners.add(cb);
      if (!started) { started = true; p.start(); }
      return () => listeners.delete(cb);
    },
    onClose(cb) { closers.add(cb); return () => closers.delete(cb); },
    close: () => p.close(),
  };
}
