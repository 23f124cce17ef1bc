// The browser host over real HTTP and a real WebSocket (the `ws` client): token and origin
// checks, the CSP, a contract call and a job over the socket, the voxel endpoint, and
// `osteon serve` itself started as a user would.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { connectWebSocket, fetchVoxels, runJob, type WebSocketCtor } from '../../app/contract/client.ts';
import { startBrowserHost, type BrowserHost } from '../../app/services/browser-host.ts';
import { callNames } from '../../app/contract/contract.ts';
import { PATH_FIELDS } from '../../app/services/path-guard.ts';
import { repoRoot } from '../helpers/env.ts';

let tmp: string;
let host: BrowserHost;

/** A raw GET with full control of the headers (fetch would set Host and Origin itself). */
function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: host.port, path, headers: { host: `127.0.0.1:${host.port}`, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens a WebSocket and reports the HTTP status it was refused with, or 101. */
function wsStatus(url: string, origin?: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, origin ? { origin } : {});
    ws.on('open', () => { ws.close(); resolve(101); });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => resolve(-1));
  });
}

/** The `ws` client with this host's Origin, shaped like the browser's WebSocket. */
function wsWithOrigin(origin: string): WebSocketCtor {
  return class extends WebSocket {
    constructor(url: string) { super(url, { origin }); }
  } as unknown as WebSocketCtor;
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'osteon-serve-'));
  const renderer = join(tmp, 'renderer');
  mkdirSync(join(renderer, 'assets'), { recursive: true });
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>Osteon</title>');
  writeFileSync(join(renderer, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(tmp, 'secret.txt'), 'secret');
  host = await startBrowserHost({ port: 0, rendererDir: renderer, home: join(tmp, 'home'), roots: [join(tmp, 'root')] });
});
afterAll(async () => {
  await host.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('browser host: HTTP', () => {
  it('binds 127.0.0.1 with a 32-byte token', () => {
    expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64}$/);
  });

  it('refuses requests without the token, with a wrong one, or for another Host/Origin', async () => {
    expect((await get('/')).status).toBe(401);
    expect((await get('/?token=' + '0'.repeat(64))).status).toBe(401);
    expect((await get(`/?token=${host.token}`, { host: 'evil.example' })).status).toBe(403);
    expect((await get(`/?token=${host.token}`, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await get(`/?token=${host.token}`, { origin: 'http://localhost:' + host.port })).status).toBe(403);
  });

  it('serves the page with the token, then assets with the cookie, under a strict CSP', async () => {
    const page = await get(`/?token=${host.token}`);
    expect(page.status).toBe(200);
    expect(page.body.toString()).toContain('<title>Osteon</title>');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain(`connect-src 'self' ws://127.0.0.1:${host.port}`);
    expect(csp).not.toMatch(/https?:\/\/(?!127)/);
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    const cookie = String(page.headers['set-cookie']).split(';')[0];
    expect(cookie).toBe(`osteon_token_${host.port}=${host.token}`);
    expect((await get('/assets/app.js', { cookie })).status).toBe(200);
    expect((await get('/assets/app.js')).status).toBe(401);
  });

  it('never serves files outside the renderer folder', async () => {
    for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt']) {
      const r = await get(`${p}?token=${host.token}`);
      expect([403, 404]).toContain(r.status);
      expect(r.body.toString()).not.toContain('secret');
    }
  });
});

describe('browser host: WebSocket contract', () => {
  it('refuses a socket without token, with a wrong Origin or with none', async () => {
    const base = `ws://127.0.0.1:${host.port}/rpc`;
    expect(await wsStatus(base, host.origin)).toBe(401);
    expect(await wsStatus(`${base}?token=${host.token}`, 'http://evil.example')).toBe(403);
    expect(await wsStatus(`${base}?token=${host.token}`)).toBe(403);
    expect(await wsStatus(`ws://127.0.0.1:${host.port}/other?token=${host.token}`, host.origin)).toBe(404);
    expect(await wsStatus(`${base}?token=${host.token}`, host.origin)).toBe(101);
  });

  it('answers calls, streams job events and serves the voxels of an imported case', async () => {
    const client = await connectWebSocket(`ws://127.0.0.1:${host.port}/rpc?token=${host.token}`, wsWithOrigin(host.origin));
    try {
      expect(await client.call('app.info')).toMatchObject({ name: 'Osteon', host: 'browser' });
      await expect(client.call('case.list')).rejects.toMatchObject({ code: 'no-project' });
      await expect(client.call('project.open', { dir: 42 } as never)).rejects.toMatchObject({ code: 'bad-request' });
      await client.call('project.create', { dir: join(tmp, 'root', 'proj'), name: 'WS' });

      const progress: number[] = [];
      const r = await runJob(client, 'demo.sleep', () => client.call('job.sleep', { ms: 10, steps: 2 }), { onProgress: (p) => progress.push(p) });
      expect(r.sleptMs).toBeGreaterThanOrEqual(0);
      expect(progress).toEqual([0.5, 1]);

      const phantom = join(repoRoot, 'resources', 'sample', 'phantom');
      const summary = await runJob(client, 'case.import', () => client.call('case.import', {
        ct: join(phantom, 'case-001', 'ct.nii.gz'), labels: join(phantom, 'case-001', 'labels.nii.gz'), schema: join(phantom, 'schema.json'),
      }));
      const meta = await client.call('volume.get', { caseId: summary.id, kind: 'labels' });
      expect(meta.url).toBe(`/api/volume/${summary.id}/labels`);
      const voxels = await fetchVoxels({ ...meta, url: `${host.origin}${meta.url}?token=${host.token}` },
        (u, init) => fetch(u, { ...init, headers: { origin: host.origin } }));
      expect(voxels.length).toBe(meta.dims[0] * meta.dims[1] * meta.dims[2] * meta.channels);
      let max = 0;
      for (const v of voxels) max = Math.max(max, v);
      expect(max).toBe(4); // the phantom's labels are 0..4 (app/phantom LABEL)
      expect((await get(`/api/volume/${summary.id}/labels`)).status).toBe(401);
    } finally {
      client.close();
    }
  });

  it('restricted by default: the page may name only the roots (read and write), the bundled sample and presets (read) and the open project', async () => {
    const h = await startBrowserHost({ port: 0, rendererDir: join(tmp, 'renderer'), home: join(tmp, 'home4') });
    const client = await connectWebSocket(`ws://127.0.0.1:${h.port}/rpc?token=${h.token}`, wsWithOrigin(h.origin));
    try {
      // No roots given: a temporary folder is outside, for every path channel.
      await expect(client.call('project.create', { dir: join(tmp, 'default-proj'), name: 'x' }))
        .rejects.toMatchObject({ code: 'bad-request', message: expect.stringMatching(/^project\.create: dir: .*outside the folders this host may use/) });
      await expect(client.call('labels.scan', { labels: join(tmp, 'secret.txt') })).rejects.toMatchObject({ code: 'bad-request', message: expect.stringMatching(/^labels\.scan: labels: /) });
      await expect(client.call('dicom.series', { path: '/etc' })).rejects.toMatchObject({ code: 'bad-request', message: expect.stringMatching(/^dicom\.series: path: /) });
      await expect(client.call('case.exportAs', { caseId: 'c1', source: 'labels', format: 'seg-nrrd', out: '/tmp/x.seg.nrrd' }))
        .rejects.toMatchObject({ code: 'bad-request', message: expect.stringMatching(/^case\.exportAs: out: /) });
      // The sample is readable, never writable.
      const sample = join(repoRoot, 'resources', 'sample', 'phantom');
      const scan = await client.call('labels.scan', { labels: join(sample, 'case-001', 'labels.nii.gz') });
      expect(scan.values.length).toBeGreaterThan(1);
      await expect(client.call('project.create', { dir: join(sample, 'new-proj'), name: 'x' }))
        .rejects.toMatchObject({ code: 'bad-request', message: expect.stringMatching(/^project\.create: dir: .*read-only folder/) });
      // Over the socket, every channel refuses a malformed payload, and every path field a path
      // outside, a made-up grant id and (for writes) the read-only sample: bad-request naming
      // the channel (and field); the host keeps answering.
      for (const name of callNames) {
        if (name === 'app.backend') continue;
        await expect(client.call(name, { bogus: 1 } as never), name).rejects.toMatchObject({ code: 'bad-request', message: expect.stringMatching(new RegExp(`^${name.replace('.', '\\.')}: `)) });
      }
      const fill: Record<string, Record<string, unknown>> = {
        'project.create': { name: 'x' }, 'case.import': {}, 'case.export': { caseId: 'c1' }, 'case.exportAs': { caseId: 'c1', source: 'labels', format: 'nifti' },
        'case.attachPrediction': { caseId: 'c1' }, 'case.importSeg': { caseId: 'c1', as: 'prediction' }, 'labels.preview': { schema: { schema: 'osteon-labels/1', name: 'p', structures: [{ id: 'a' }] } },
      };
      const readable = join(sample, 'case-001', 'ct.nii.gz');
      for (const [channel, fields] of Object.entries(PATH_FIELDS)) {
        for (const [field, access] of Object.entries(fields!)) {
          const base: Record<string, unknown> = { ...fill[channel] };
          for (const [f, a] of Object.entries(fields!)) if (f !== field && (a === 'read' || !(f in base))) base[f] = a === 'read' ? readable : join(tmp, 'w');
          if (channel === 'case.import') { delete base.labels; delete base.schema; if (field !== 'ct') base.ct = readable; }
          const bad = [`/etc/passwd`, `grant:${'1'.repeat(32)}/x`, ...(access === 'write' ? [join(sample, 'out')] : [])];
          for (const v of bad) {
            await expect(client.call(channel as never, { ...base, [field]: v } as never), `${channel}.${field} = ${v}`)
              .rejects.toMatchObject({ code: 'bad-request', message: expect.stringMatching(new RegExp(`^${channel.replace('.', '\\.')}: ${field}: `)) });
          }
        }
      }
      expect(await client.call('app.info')).toMatchObject({ host: 'browser' });
      // The host's own client (the CLI's setup) is not the page: it may create the project.
      await h.client.call('project.create', { dir: join(tmp, 'default-proj'), name: 'x' });
      // Then the page may use paths inside the open project, and the host still answers.
      expect((await client.call('files.list', { dir: join(tmp, 'default-proj') })).dir).toBe(realpathSync(join(tmp, 'default-proj')));
      expect(await client.call('app.info')).toMatchObject({ host: 'browser' });
    } finally {
      client.close();
      await h.close();
    }
  });

  it('drops an oversized message instead of buffering it', async () => {
    const closed = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${host.port}/rpc?token=${host.token}`, { origin: host.origin });
      ws.on('open', () => ws.send(JSON.stringify({ t: 'call', id: 1, name: 'project.open', payload: { dir: 'x'.repeat(2 << 20) } })));
      ws.on('close', (code) => resolve(code));
    });
    expect(closed).toBe(1009); // "message too big"
  });
});

describe('browser host: lifecycle', () => {
  it('refuses a port in use with a usage error', async () => {
    await expect(startBrowserHost({ port: host.port, rendererDir: tmp, home: join(tmp, 'home') }))
      .rejects.toMatchObject({ code: 'usage', message: expect.stringMatching(/port is in use/) });
  });

  it('close() cancels running jobs and then stops', async () => {
    const h = await startBrowserHost({ port: 0, rendererDir: tmp, home: join(tmp, 'home3') });
    const { jobId } = await h.client.call('job.sleep', { ms: 600_000, steps: 600 });
    const failed = new Promise<string>((resolve) => h.client.on('job.failed', (e) => { if (e.jobId === jobId) resolve(e.error.code); }));
    await h.close();
    expect(await failed).toBe('cancelled');
    await expect(h.client.call('app.info')).rejects.toMatchObject({ code: 'transport' });
  });
});

describe('osteon serve', () => {
  it('prints the URL, imports the sample, serves it, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'osteon.mjs'), 'serve', '--json', '--renderer', join(tmp, 'renderer'), '--project', join(tmp, 'cli-proj'), '--sample'], {
      env: { ...process.env, OSTEON_HOME: join(tmp, 'home2') }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('\n')) resolve(out.split('\n')[0]); });
      child.on('exit', (code) => reject(new Error(`osteon serve exited ${code}: ${out}`)));
    });
    const info = JSON.parse(line) as { url: string; port: number; token: string; project: { name: string; caseCount: number } };
    expect(info.url).toBe(`http://127.0.0.1:${info.port}/?token=${info.token}`);
    expect(info.project).toMatchObject({ name: 'cli-proj', caseCount: 1 }); // --sample imported the pelvis study
    const page = await fetch(info.url);
    expect(page.status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${info.port}/`)).status).toBe(401);
    const code = await new Promise<number | null>((resolve) => { child.on('exit', resolve); child.kill('SIGTERM'); });
    expect(code).toBe(0);
  });
});
