/**
 * Two transports joined back to back, for tests. Messages are delivered asynchronously and
 * deep-copied (structuredClone), like a real channel: nothing is shared by reference.
 */
import type { Message, Transport } from './rpc.ts';

export function memoryPair(): [Transport, Transport] {
  const listeners: [Set<(m: unknown) => void>, Set<(m: unknown) => void>] = [new Set(), new Set()];
  const closers: [Set<() => void>, Set<() => void>] = [new Set(), new Set()];
  let closed = false;
  const side = (me: 0 | 1): Transport => {
    const other = (1 - me) as 0 | 1;
    return {
      send(msg: Message) {
        if (closed) throw new Error('transport closed');
        const copy = structuredClone(msg);
        queueMicrotask(() => { for (const cb of listeners[other]) cb(copy); });
      },
      onMessage(cb) {
        listeners[me].add(cb);
        return () => listeners[me].delete(cb);
      },
      onClose(cb) {
        closers[me].add(cb);
        return () => closers[me].delete(cb);
      },
      close() {
        if (closed) return;
        closed = true;
        for (const set of closers) for (const cb of set) cb();
      },
    };
  };
  return [side(0), side(1)];
}

