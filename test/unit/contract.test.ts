// The contract end to end without Electron: the real services behind serve(), a typed client
// over an in-memory transport pair; typed errors, jobs with progress and cancel.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ContractError, bridgeInvoker, callNames, channelOf, contract, createClient, createDispatcher, eventNames, memoryPair, runJob, serve,
  type OsteonBridge, type OsteonClient,
} from '../../app/contract/index.ts';
import { createServices, type Services } from '../../app/services/services.ts';
import { repoRoot } from '../helpers/env.ts';

let tmp: string;
let services: Services;
let client: OsteonClient;

beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'osteon-contract-'));
  services = createServices({ host: 'test', home: join(tmp, 'home'), volumeUrl: (c, k) => `/api/volume/${c}/${k}` });
  const [a, b] = memoryPair();
  const served = serve(contract, services.handlers, a, undefined);
  services.subscribe((name, payload) => served.emit(name, payload as never));
  client = createClient(contract, b);
});

afterEach(() => {
  services.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

describe('contract over an in-memory transport', () => {
  it('lists every call and event once, with derived channels', () => {
    expect(new Set(callNames).size).toBe(callNames.length);
    expect(callNames).toContain('project.create');
    expect(eventNames).toEqual(expect.arrayContaining(['job.progress', 'job.done', 'job.failed']));
    const channels = [...callNames, ...eventNames].map(channelOf);
    expect(new Set(channels).size).toBe(channels.length);
  });

  it('no call or event name is written as a string outside the contract', () => {
    // Main, preload, hosts and renderer must derive names from the contract's keys (or use its
    // typed client), so a channel literal like 'osteon:project.open' appears nowhere else.
    const names = [...callNames, ...eventNames];
    const offenders: string[] = [];
    for (const dir of ['main', 'app/services', 'app/store']) {
      for (const f of readdirSync(join(repoRoot, dir), { recursive: true }).map(String).filter((x) => x.endsWith('.ts'))) {
        const text = readFileSync(join(repoRoot, dir, f), 'utf8');
        for (const n of names) if (text.includes(`'osteon:${n}'`) || text.includes(`"osteon:${n}"`)) offenders.push(`${dir}/${f}: ${n}`);
      }
    }
    expect(offenders).toEqual([]);
    expect(readFileSync(join(repoRoot, 'main', 'preload.ts'), 'utf8')).not.toMatch(/exposeInMainWorld\([^)]*ipcRenderer\b/);
  });

  it('answers calls with typed values', async () => {
    const info = await client.call('app.info');
    expect(info).toMatchObject({ name: 'Osteon', host: 'test', backend: null });
    expect(info.versions.node).toBe(process.versions.node);
    expect(await client.call('project.get')).toEqual({ project: null });

    const changed: string[] = [];
    client.on('project.changed', (e) => changed.push(e.project?.name ?? 'none'));
    const p = await client.api['project.create']({ dir: join(tmp, 'p1'), name: 'First' });
    expect(p).toMatchObject({ name: 'First', caseCount: 0, runCount: 0, schemaVersion: 1 });
    expect((await client.call('project.get')).project?.dir).toBe(p.dir);
    expect((await client.call('project.recent')).projects.map((r) => r.name)).toEqual(['First']);
    expect(await client.call('case.list')).toEqual({ cases: [] });
    expect(changed).toEqual(['First']);
  });

  it('re-throws failures as ContractError with the code', async () => {
    const err = async (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e);
    const noProject = await err(client.call('case.list'));
    expect(noProject).toBeInstanceOf(ContractError);
    expect(noProject).toMatchObject({ code: 'no-project' });

    const missing = await err(client.call('project.open', { dir: join(tmp, 'nope') }));
    expect(missing).toMatchObject({ code: 'not-found', name: 'ContractError' });
    expect((missing as Error).message).toMatch(/project\.json: path: folder not found/);

    const bad = await err(client.call('project.create', { dir: '', name: 'x' }));
    expect(bad).toMatchObject({ code: 'bad-request' });
    expect((bad as Error).message).toMatch(/^project\.create: dir:/);

    await client.call('project.create', { dir: join(tmp, 'p2'), name: 'P' });
    expect(await err(client.call('case.get', { caseId: 'absent' }))).toMatchObject({ code: 'not-found' });
    expect(await err(client.call('dialog.open', { purpose: 'project-open' }))).toMatchObject({ code: 'unavailable' });
  });

  it('runs a job to completion with progress events', async () => {
    const progress: number[] = [];
    const started: string[] = [];
    client.on('job.started', (j) => started.push(j.kind));
    const r = await runJob(client, 'demo.sleep', () => client.call('job.sleep', { ms: 20, steps: 4 }), {
      onProgress: (p) => progress.push(p),
    });
    expect(r.sleptMs).toBeGreaterThanOrEqual(0);
    expect(progress).toEqual([0.25, 0.5, 0.75, 1]);
    expect(started).toEqual(['demo.sleep']);
    const { jobs } = await client.call('job.list');
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ kind: 'demo.sleep', state: 'done', progress: 1 });
  });

  it('cancels a running job: it ends with job.failed code cancelled', async () => {
    const ac = new AbortController();
    const failed: string[] = [];
    client.on('job.failed', (e) => failed.push(e.error.code));
    const run = runJob(client, 'demo.sleep', () => client.call('job.sleep', { ms: 60_000, steps: 600 }), {
      signal: ac.signal,
      onProgress: () => ac.abort(),
    });
    await expect(run).rejects.toMatchObject({ code: 'cancelled', name: 'ContractError' });
    expect(failed).toEqual(['cancelled']);
    const { jobs } = await client.call('job.list');
    expect(jobs[0].state).toBe('cancelled');
    // A finished job cannot be cancelled again.
    expect(await client.call('job.cancel', { jobId: jobs[0].jobId })).toEqual({ cancelled: false });
  });

  it('works through a preload-shaped bridge (named functions, results as data)', async () => {
    // What main/preload.ts builds from the contract's keys, with the IPC hop replaced by a
    // structured clone: one function per call and per event, nothing generic.
    const dispatch = createDispatcher(contract, services.handlers);
    const subs = new Map<string, Set<(p: unknown) => void>>();
    services.subscribe((name, payload) => { for (const cb of subs.get(name) ?? []) cb(structuredClone(payload)); });
    const bridge: OsteonBridge = {
      calls: Object.fromEntries(callNames.map((n) => [n, (req: unknown) => dispatch(n, structuredClone(req))])) as OsteonBridge['calls'],
      events: Object.fromEntries(eventNames.map((n) => [n, (cb: (p: unknown) => void) => {
        const set = subs.get(n) ?? new Set();
        subs.set(n, set.add(cb));
        return () => { set.delete(cb); };
      }])) as OsteonBridge['events'],
      dropped: async () => ({ ok: true, value: { paths: [] } }),
    };
    const viaBridge = createClient(contract, bridgeInvoker(bridge));
    await expect(viaBridge.call('case.list')).rejects.toMatchObject({ code: 'no-project', name: 'ContractError' });
    const progress: number[] = [];
    await runJob(viaBridge, 'demo.sleep', () => viaBridge.call('job.sleep', { ms: 5, steps: 2 }), { onProgress: (p) => progress.push(p) });
    expect(progress).toEqual([0.5, 1]);
    expect(Object.keys(bridge.calls)).toEqual(callNames);
  });

  it('reports a closed transport as a transport error, not a hang', async () => {
    const [a, b] = memoryPair();
    serve(contract, services.handlers, a, undefined);
    const c = createClient(contract, b);
    const pending = c.call('job.sleep', { ms: 1000 });
    b.close?.();
    await expect(pending).rejects.toMatchObject({ code: 'transport' });
  });
});
