/**
 * The GPU host page for a browser tab: serves the built page (out/renderer/gpu-host) on
 * 127.0.0.1 and takes the page's WebSocket at /gpu-host/ws as a HostLink for GpuHostDriver.
 * The e2e test loads the page that Electron's hidden window loads, in Chromium, this way.
 *
 * The socket carries patient data and drives the GPU, so it needs the random token of the page
 * URL (?token=), this host's Host header (DNS rebinding) and this host's Origin; the page's own
 * files are static code and need only the Host check. Every response carries a strict CSP.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { extname, resolve, sep } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { decodeMessage, encodeMessage } from '../learning/gpu-host/codec.ts';
import type { HostLink } from '../learning/gpu-host/protocol.ts';

export interface GpuHostServer {
  /** http://127.0.0.1:PORT/gpu-host/index.html?token=TOKEN */
  url: string;
  /** The next page that connects, as a link for GpuHostDriver. */
  nextLink(): Promise<HostLink>;
  close(): Promise<void>;
}

const MIME: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.wasm': 'application/wasm', '.map': 'application/json' };

function wsLink(ws: WebSocket): HostLink {
  return {
    send: (msg) => { if (ws.readyState === ws.OPEN) ws.send(encodeMessage(msg)); else throw new Error('the GPU host page is not connected'); },
    onMessage(cb) {
      const h = (data: Buffer, isBinary: boolean) => {
        if (!isBinary) return;
        let m: unknown;
        try { m = decodeMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)); } catch (e) { m = { t: 'malformed', error: (e as Error).message }; }
        cb(m);
      };
      ws.on('message', h);
      return () => ws.off('message', h);
    },
    onClose(cb) {
      const h = (code: number) => cb(`the page's socket closed (${code})`);
      ws.on('close', h);
      return () => ws.off('close', h);
    },
    close: () => ws.close(),
  };
}

export async function serveGpuHost(opts: { dir: string; port?: number; token?: string }): Promise<GpuHostServer> {
  const dir = resolve(opts.dir);
  if (!existsSync(resolve(dir, 'index.html'))) throw new Error(`${dir}/index.html is missing: build the GPU host page (vite build -c gpuhost/vite.config.ts)`);
  const token = opts.token ?? randomBytes(32).toString('hex');
  let port = 0;
  const csp = () => `default-src 'none'; script-src 'self'; img-src data:; connect-src 'self' ws://127.0.0.1:${port}; base-uri 'none'; form-action 'none'; object-src 'none'; frame-ancestors 'none'`;
  const send = (res: ServerResponse, status: number, body: string) => {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Security-Policy': csp() });
    res.end(body);
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.headers.host !== `127.0.0.1:${port}`) return send(res, 403, 'forbidden\n');
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'GET' || !url.pathname.startsWith('/gpu-host/')) return send(res, 404, 'not found\n');
    let rel: string;
    try { rel = decodeURIComponent(url.pathname.slice('/gpu-host/'.length)) || 'index.html'; } catch { return send(res, 400, 'bad path\n'); }
    const file = resolve(dir, rel);
    if (!file.startsWith(dir + sep) || !existsSync(file) || !statSync(file).isFile()) return send(res, 404, 'not found\n');
    res.writeHead(200, {
      'Content-Type': MIME[extname(file)] ?? 'application/octet-stream', 'Content-Length': statSync(file).size,
      'Content-Security-Policy': csp(), 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'Cache-Control': 'no-store',
    });
    createReadStream(file).on('error', () => res.destroy()).pipe(res);
  });
  // Weights of a large U-Net with Adam's moments are tens of MB; batches a few MB.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 30 });
  const waiting: Array<(l: HostLink) => void> = [];
  const ready: HostLink[] = [];
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const given = url.searchParams.get('token') ?? '';
    const okToken = given.length === token.length && timingSafeEqual(Buffer.from(given), Buffer.from(token));
    const ok = url.pathname === '/gpu-host/ws' && req.headers.host === `127.0.0.1:${port}` && req.headers.origin === `http://127.0.0.1:${port}` && okToken;
    if (!ok) { socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'); return; }
    wss.handleUpgrade(req, socket, head, (ws) => {
      // Start buffering at once: the page's hello may arrive before anyone listens.
      const early: unknown[] = [];
      const link = wsLink(ws);
      const stopEarly = link.onMessage((m) => early.push(m));
      const buffered: HostLink = {
        ...link,
        onMessage(cb) { stopEarly(); for (const m of early.splice(0)) cb(m); return link.onMessage(cb); },
      };
      const w = waiting.shift();
      if (w) w(buffered); else ready.push(buffered);
    });
  });
  await new Promise<void>((ok, fail) => { server.once('error', fail); server.listen(opts.port ?? 0, '127.0.0.1', () => { server.off('error', fail); ok(); }); });
  const addr = server.address();
  port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}/gpu-host/index.html?token=${token}`,
    nextLink: () => { const l = ready.shift(); return l ? Promise.resolve(l) : new Promise<HostLink>((r) => waiting.push(r)); },
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
