/**
 * Osteon's GPU host page. It owns nothing but the GPU: the services send it calls (init, step,
 * loss, weights, setWeights, predict, dispose; app/learning/gpu-host/protocol.ts) and it answers
 * each one, in order. Two ways in, the same page:
 *   - Electron: main's hidden, sandboxed window; the preload (main/gpu-host-preload.ts) exposes
 *     `window.osteonGpuHost` {send, onMessage}, named functions only;
 *   - a browser tab on 127.0.0.1 (tests, `GpuHostServer`): a WebSocket back to the page's own
 *     origin at /gpu-host/ws, binary frames (app/learning/gpu-host/codec.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { decodeMessage, encodeMessage } from '../app/learning/gpu-host/codec.ts';
import { HostCompute } from '../app/learning/gpu-host/compute.ts';
import { ToHost, type FromHost, type HostLink } from '../app/learning/gpu-host/protocol.ts';
import { startWebgpu } from './webgpu.ts';

declare global {
  interface Window { osteonGpuHost?: { send(msg: unknown): void; onMessage(cb: (msg: unknown) => void): void } }
}

const status = (text: string) => { const el = document.getElementById('status'); if (el) el.textContent = text; };

function socketLink(): HostLink {
  const token = new URLSearchParams(location.search).get('token') ?? '';
  const ws = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/gpu-host/ws?token=${encodeURIComponent(token)}`);
  ws.binaryType = 'arraybuffer';
  const queue: unknown[] = [];
  ws.addEventListener('open', () => { for (const m of queue.splice(0)) ws.send(encodeMessage(m)); });
  return {
    send: (msg) => { if (ws.readyState === WebSocket.OPEN) ws.send(encodeMessage(msg)); else queue.push(msg); },
    onMessage(cb) {
      const h = (e: MessageEvent) => { if (e.data instanceof ArrayBuffer) cb(decodeMessage(new Uint8Array(e.data))); };
      ws.addEventListener('message', h);
      return () => ws.removeEventListener('message', h);
    },
  };
}

function electronLink(bridge: NonNullable<Window['osteonGpuHost']>): HostLink {
  return { send: (msg) => bridge.send(msg), onMessage(cb) { bridge.onMessage(cb); return () => undefined; } };
}

async function main(): Promise<void> {
  const link = window.osteonGpuHost ? electronLink(window.osteonGpuHost) : socketLink();
  const send = (m: FromHost) => link.send(m);
  const gpu = await startWebgpu().catch((e: unknown) => ({ adapter: null, reason: `WebGPU failed to start: ${(e as Error).message}`, kernels: [] }));
  const compute = new HostCompute();
  let chain: Promise<void> = Promise.resolve();
  link.onMessage((raw) => {
    const m = ToHost.safeParse(raw);
    if (!m.success) {
      const id = (raw as { id?: unknown } | null)?.id;
      if (Number.isSafeInteger(id) && (id as number) >= 0) send({ t: 'result', id: id as number, ok: false, error: { code: 'bad-request', message: `GPU host: ${m.error.issues[0]?.path.join('.')}: ${m.error.issues[0]?.message}` } });
      return;
    }
    const { id, call } = m.data;
    // One call at a time, in arrival order: tfjs state (the model, Adam) is not reentrant.
    chain = chain.then(async () => {
      status(`${call.op} ${id}`);
      try {
        if (!gpu.adapter) throw new Error(gpu.reason ?? 'no WebGPU adapter');
        const value = await compute.run(call);
        send({ t: 'result', id, ok: true, value });
      } catch (e) {
        send({ t: 'result', id, ok: false, error: { code: 'backend', message: e instanceof Error ? e.message : String(e) } });
      }
      status(`idle after ${call.op} ${id}; tensors ${tf.memory().numTensors}`);
    });
  });
  send({ t: 'hello', backend: gpu.adapter ? tf.getBackend() : 'none', adapter: gpu.adapter, kernels: gpu.kernels, ...(gpu.reason ? { reason: gpu.reason } : {}) });
  status(gpu.adapter ? `ready: ${gpu.adapter.vendor} ${gpu.adapter.architecture}` : `no adapter: ${gpu.reason}`);
}

void main();
