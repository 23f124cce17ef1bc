/**
 * The browser host: the same services as the desktop app, in plain Node, for a browser on the
 * same machine. It binds 127.0.0.1 only, serves the built renderer and the voxel endpoint over
 * HTTP, and bridges the contract over a WebSocket at /rpc.
 *
 * Access control (a local port is reachable by every page the user has open, so it needs it):
 * - a random 32-byte token is required: `?token=` on the first page load, which sets an
 *   HttpOnly, SameSite=Strict cookie for the assets and the voxels that follow;
 * - the Host header must be this host's (defeats DNS rebinding), and an Origin, when sent,
 *   must be this host's own; a WebSocket must send it (browsers always do);
 * - every response carries a strict CSP and no-referrer (the token is in the URL).
 * Lives in app/ (no Electron) so that `osteon serve` (app/cli) can start it.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { extname, join, resolve, sep } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { OsteonClient } from '../contract/client.ts';
import { contract, eventNames } from '../contract/contract.ts';
import { createClient, createDispatcher, serve, transportInvoker, type Dispatch, type Invoker, type Message, type Served, type Transport } from '../contract/rpc.ts';
import { Id, VolumeKind } from '../contract/schemas.ts';
import { servedVolumePath } from '../store/paths.ts';
import type { ServicesWorkerData } from './services-worker.ts';
import { defaultPresetsDir, defaultSampleDir } from './import-help.ts';
import { forwardingHandlers, guardPaths, INLINE_SCHEMA_FIELDS, PATH_FIELDS, PathGuard } from './path-guard.ts';
import { OsteonError } from '../util/errors.ts';

export interface BrowserHostOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** The built renderer (out/renderer). */
  rendererDir: string;
  /** The user's Osteon folder (recent projects). */
  home: string;
  /** Fixed token (tests); default 32 random bytes, hex. */
  token?: string;
  /** Largest WebSocket message accepted, bytes (default 1 MiB). */
  maxMessageBytes?: number;
  /**
   * Folders the page's requests may name, read and write (path-guard.ts): `osteon serve` gives
   * the project folder and every --root. Always allowed besides: the open project (read and
   * write), the bundled sample and presets (read only). Nothing else: there is no unrestricted
   * mode. The host's own `client` (the CLI's setup calls) is not the page and is not checked.
   */
  roots?: string[];
}

export interface BrowserHost {
  /** http://127.0.0.1:PORT/?token=TOKEN */
  url: string;
  origin: string;
  port: number;
  token: string;
  /** An in-process client of the same services (no socket): for the CLI's own setup calls. */
  client: OsteonClient;
  close(): Promise<void>;
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png',
  '.ico': 'image/x-icon', '.wasm': 'application/wasm', '.woff2': 'font/woff2', '.map': 'application/json', '.txt': 'text/plain; charset=utf-8',
};

/** The policy the renderer's own meta tag states, plus this host's exact WebSocket origin. */
export function contentSecurityPolicy(port: number): string {
  return [
    "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:", "font-src 'self'",
    `connect-src 'self' ws://127.0.0.1:${port}`, "worker-src 'self' blob:", "base-uri 'none'", "form-action 'none'",
    "frame-ancestors 'none'", "object-src 'none'",
  ].join('; ');
}

function sameSecret(a: string | null | undefined, b: string): boolean {
  if (typeof a !== 'string' || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

function cookie(req: IncomingMessage, name: string): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return null;
}

/** A transport over one server-side WebSocket connection. */
function wsTransport(ws: WebSocket): Transport {
  return {
    send(msg: Message) {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
    },
    onMessage(cb) {
      const h = (data: unknown, isBinary: boolean) => {
        if (isBinary) return;
        let m: unknown;
        try { m = JSON.parse(String(data)); } catch { return; }
        cb(m);
      };
      ws.on('message', h);
      return () => ws.off('message', h);
    },
    onClose(cb) {
      ws.on('close', cb);
      return () => ws.off('close', cb);
    },
    close: () => ws.close(),
  };
}

/** Cancels every running job and waits (up to `waitMs`) for them to end. */
async function stopJobs(services: Invoker, waitMs = 5000): Promise<void> {
  const list = await services.call('job.list', {});
  if (!list.ok) return;
  const running = (list.value as { jobs: Array<{ jobId: string; state: string }> }).jobs.filter((j) => j.state === 'running');
  if (running.length === 0) return;
  const ended = new Promise<void>((resolve) => {
    const left = new Set(running.map((j) => j.jobId));
    const end = (p: unknown) => { left.delete((p as { jobId: string }).jobId); if (left.size === 0) resolve(); };
    services.on('job.done', end);
    services.on('job.failed', end);
    setTimeout(resolve, waitMs).unref();
  });
  for (const j of running) await services.call('job.cancel', { jobId: j.jobId });
  await ended;
}

export async function startBrowserHost(opts: BrowserHostOptions): Promise<BrowserHost> {
  const token = opts.token ?? randomBytes(32).toString('hex');
  const rendererDir = resolve(opts.rendererDir);
  let port = 0;
  const origin = () => `http://127.0.0.1:${port}`;
  const cookieName = () => `osteon_token_${port}`;

  // The services run in a worker thread; this thread only moves bytes.
  const workerData: ServicesWorkerData = {
    entry: new URL('./services-worker.ts', import.meta.url).href, host: 'browser', home: opts.home, volumeBase: '/api/volume',
    ...(opts.roots ? { roots: opts.roots.map((r) => resolve(r)) } : {}),
  };
  const worker = new Worker(new URL('./worker-boot.mjs', import.meta.url), { workerData });
  let workerGone = false;
  worker.on('error', (e) => process.stderr.write(`osteon: services worker failed: ${e.stack ?? e.message}\n`));
  worker.on('exit', () => { workerGone = true; });
  const workerTransport: Transport = {
    send: (msg: Message) => { if (workerGone) throw new Error('the services worker has stopped'); worker.postMessage(msg); },
    onMessage(cb) { worker.on('message', cb); return () => worker.off('message', cb); },
    onClose(cb) { worker.on('exit', cb); return () => worker.off('exit', cb); },
    close: () => void worker.terminate(),
  };
  const services = transportInvoker(workerTransport);
  const sockets = new Set<Served<typeof contract>>();
  let projectDir: string | null = null;
  // Paths are granted, not sent: the page's path channels are checked here, before the worker.
  const roots = (opts.roots ?? []).map((r) => resolve(r));
  const guard = new PathGuard([
    ...roots.map((dir) => ({ dir, access: 'write' as const })),
    { dir: defaultSampleDir, access: 'read' as const }, { dir: defaultPresetsDir, access: 'read' as const },
  ], `${roots.length ? `${roots.join(', ')}; ` : ''}the bundled sample and presets (read only); the open project. Start osteon serve with --root DIR to add a folder`);
  const guarded = createDispatcher(contract, guardPaths(forwardingHandlers(services, {}), guard, () => projectDir));
  const dispatch: Dispatch = (name, payload) => (Object.hasOwn(PATH_FIELDS, name) || Object.hasOwn(INLINE_SCHEMA_FIELDS, name)
    ? guarded(name, payload, undefined) : services.call(name, payload));
  for (const name of eventNames) {
    services.on(name, (payload) => {
      if (name === 'project.changed') projectDir = (payload as { project: { dir: string } | null }).project?.dir ?? null;
      for (const s of sockets) s.emit(name, payload as never);
    });
  }

  /** null when allowed, else the HTTP status to refuse with. */
  const refusal = (req: IncomingMessage, url: URL, requireOrigin: boolean): 401 | 403 | null => {
    if (req.headers.host !== `127.0.0.1:${port}`) return 403;
    const o = req.headers.origin;
    if (o !== undefined ? o !== origin() : requireOrigin) return 403;
    const given = url.searchParams.get('token') ?? cookie(req, cookieName());
    return sameSecret(given, token) ? null : 401;
  };

  const baseHeaders = () => ({
    'Content-Security-Policy': contentSecurityPolicy(port),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'X-Frame-Options': 'DENY',
  });

  const send = (res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8') => {
    res.writeHead(status, { ...baseHeaders(), 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };

  const sendFile = (req: IncomingMessage, res: ServerResponse, path: string, type: string, extra: Record<string, string> = {}) => {
    const size = statSync(path).size;
    res.writeHead(200, { ...baseHeaders(), ...extra, 'Content-Type': type, 'Content-Length': size });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(path).on('error', () => res.destroy()).pipe(res);
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const refused = refusal(req, url, false);
    if (refused) return send(res, refused, refused === 401 ? 'Osteon: a valid token is required (use the URL that `osteon serve` printed).\n' : 'Osteon: forbidden.\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed\n');
    const setCookie: Record<string, string> = url.searchParams.get('token')
      ? { 'Set-Cookie': `${cookieName()}=${token}; HttpOnly; SameSite=Strict; Path=/` } : {};

    const vol = /^\/api\/volume\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (vol) {
      // volume.get made the raw cache; this only streams it (from the open project).
      const caseId = Id.safeParse(vol[1]), kind = VolumeKind.safeParse(vol[2]);
      if (!caseId.success || !kind.success || !projectDir) return send(res, 404, 'no such volume\n');
      const raw = servedVolumePath(projectDir, caseId.data, kind.data);
      if (!raw) return send(res, 404, 'no such volume (call volume.get first)\n');
      return sendFile(req, res, raw, 'application/octet-stream', setCookie);
    }
    if (url.pathname.startsWith('/api/')) return send(res, 404, 'not found\n');

    let rel: string;
    try { rel = decodeURIComponent(url.pathname); } catch { return send(res, 400, 'bad path\n'); }
    if (rel.endsWith('/')) rel += 'index.html';
    const file = resolve(rendererDir, '.' + rel);
    if (file !== rendererDir && !file.startsWith(rendererDir + sep)) return send(res, 403, 'Osteon: forbidden.\n');
    if (existsSync(file) && statSync(file).isFile()) {
      return sendFile(req, res, file, MIME[extname(file).toLowerCase()] ?? 'application/octet-stream', setCookie);
    }
    const index = join(rendererDir, 'index.html');
    if (rel === '/index.html' && !existsSync(index)) {
      return send(res, 503, `Osteon: the renderer is not built (${index} is missing). Run \`npm run build\`.\n`);
    }
    return send(res, 404, 'not found\n');
  };

  const server = createServer(handle);
  const wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxMessageBytes ?? 1 << 20 });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const refused = url.pathname !== '/rpc' ? 404 : refusal(req, url, true);
    if (refused) {
      const text = refused === 401 ? 'Unauthorized' : refused === 403 ? 'Forbidden' : 'Not Found';
      socket.end(`HTTP/1.1 ${refused} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const served = serve(contract, dispatch, wsTransport(ws), undefined);
      sockets.add(served);
      ws.on('close', () => { sockets.delete(served); served.close(); });
      ws.on('error', () => ws.terminate());
    });
  });

  try {
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(opts.port ?? 0, '127.0.0.1', () => { server.off('error', fail); ok(); });
    });
  } catch (e) {
    await worker.terminate();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      throw new OsteonError({ code: 'usage', message: `cannot listen on 127.0.0.1:${opts.port}: ${code === 'EADDRINUSE' ? 'the port is in use' : 'permission denied'}; pick another --port or omit it` });
    }
    throw e;
  }
  const addr = server.address();
  port = typeof addr === 'object' && addr ? addr.port : 0;

  return {
    url: `${origin()}/?token=${token}`,
    origin: origin(),
    port,
    token,
    client: createClient(contract, services),
    close: async () => {
      // Let running jobs stop cleanly (an import removes its staging folder) before the worker goes.
      await stopJobs(services);
      workerTransport.close?.();
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
