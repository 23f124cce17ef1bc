/**
 * The `osteon:` scheme. The window loads osteon://app/index.html, so the page, its assets and
 * the voxel endpoint share one origin and the CSP can say 'self' for all of them; nothing is
 * loaded from file:// or the network.
 *   osteon://app/<path>                      a file of the built renderer (out/renderer)
 *   osteon://app/api/volume/<caseId>/<kind>  the raw voxels of the open project's case volume
 */
import { protocol } from 'electron';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { extname, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { Id, VolumeKind } from '../app/contract/schemas.ts';
import { servedVolumePath } from '../app/store/paths.ts';

export const SCHEME = 'osteon';
export const APP_ORIGIN = `${SCHEME}://app`;

/** Must run before app 'ready'. */
export function registerSchemePrivileges(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true } },
  ]);
}

export const CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:", "font-src 'self'",
  "connect-src 'self'", "worker-src 'self' blob:", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'", "object-src 'none'",
].join('; ');

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png',
  '.wasm': 'application/wasm', '.woff2': 'font/woff2', '.ico': 'image/x-icon',
};

function fileResponse(path: string, type: string): Response {
  const body = Readable.toWeb(createReadStream(path)) as ReadableStream;
  return new Response(body, {
    headers: { 'Content-Type': type, 'Content-Length': String(statSync(path).size), 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff' },
  });
}

/** Serves the scheme; `projectDir()` is the open project (null: no voxels to serve). */
export function handleScheme(rendererDir: string, projectDir: () => string | null): void {
  const root = resolve(rendererDir);
  protocol.handle(SCHEME, (req) => {
    const url = new URL(req.url);
    if (url.host !== 'app' || req.method !== 'GET') return new Response('forbidden', { status: 403 });
    const vol = /^\/api\/volume\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (vol) {
      const caseId = Id.safeParse(vol[1]), kind = VolumeKind.safeParse(vol[2]), dir = projectDir();
      if (!caseId.success || !kind.success || !dir) return new Response('not found', { status: 404 });
      const raw = servedVolumePath(dir, caseId.data, kind.data);
      return raw ? fileResponse(raw, 'application/octet-stream') : new Response('not found', { status: 404 });
    }
    let rel: string;
    try { rel = decodeURIComponent(url.pathname); } catch { return new Response('bad path', { status: 400 }); }
    if (rel.endsWith('/')) rel += 'index.html';
    const file = resolve(root, '.' + rel);
    if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) return new Response('not found', { status: 404 });
    return fileResponse(file, MIME[extname(file).toLowerCase()] ?? 'application/octet-stream');
  });
}
