/**
 * Osteon's GPU host page. It owns nothing but the GPU: the services send it calls (init, step,
 * loss, weights, setWeights, predict, dispose; app/learning/gpu-host/protocol.ts) and it answers
 * each one, in order (app/learning/gpu-host/serve.ts). Two ways in, the same page:
 *   - Electron: main's hidden, sandboxed window; the preload (main/gpu-host-preload.ts) exposes
 *     `window.osteonGpuHost` {send, onMessage}, named functions only;
 *   - a browser tab on 127.0.0.1 (tests, app/services/gpu-host-server.ts): a WebSocket back to the
 *     page's own origin at /gpu-host/ws, binary frames (app/learning/gpu-host/codec.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { decodeMessage, encodeMessage } from '../app/learning/gpu-host/codec.ts';
import type { HostLink } from '../app/learning/gpu-host/protocol.ts';
import { serveHost } from '../app/learning/gpu-host/serve.ts';
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
  const gpu = await startWebgpu().catch((e: unknown) => ({ adapter: null, reason: `WebGPU failed to start: ${(e as Error).message}`, kernels: [] }));
  serveHost(link, { backend: gpu.adapter ? tf.getBackend() : 'none', adapter: gpu.adapter, kernels: gpu.kernels, ...(gpu.reason ? { reason: gpu.reason } : {}) },
    (text) => status(`${text}; tensors ${tf.memory().numTensors}`));
  status(gpu.adapter ? `ready: ${gpu.adapter.vendor} ${gpu.adapter.architecture}` : `no adapter: ${gpu.reason}`);
}

void main();
