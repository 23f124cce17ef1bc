// The Electron wiring without an Electron binary: 'electron' is replaced by a small fake
// (ipcMain/ipcRenderer joined back to back, contextBridge recording what is exposed), and the
// real main/preload.ts and main/ipc.ts run against the real services. This checks that the
// preload exposes named functions only, that main registers exactly the contract's channels,
// that an untrusted sender frame is refused, and that results and events cross as data.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  bridgeInvoker, callNames, channelOf, contract, createClient, eventNames, memoryPair, runJob, serve, transportInvoker,
  type OsteonBridge, type OsteonClient,
} from '../../app/contract/index.ts';
import { createServices, type Services } from '../../app/services/services.ts';

type Handler = (event: { senderFrame: unknown }, payload: unknown) => unknown;
type Listener = (event: object, payload: unknown) => void;

const fake = vi.hoisted(() => ({
  handlers: new Map<string, Handler>(),
  listeners: new Map<string, Set<Listener>>(),
  exposed: new Map<string, unknown>(),
  frame: { url: 'osteon://app/index.html' } as unknown,
  dropPath: '',
  confirm: true,
  confirmed: [] as string[][],
}));

vi.mock('electron', () => ({
  ipcMain: {
    handle: (ch: string, fn: Handler) => { fake.handlers.set(ch, fn); },
    removeHandler: (ch: string) => { fake.handlers.delete(ch); },
  },
  ipcRenderer: {
    // The IPC hop: a structured clone each way, the sender frame attached by "Electron".
    invoke: async (ch: string, req: unknown) => {
      const h = fake.handlers.get(ch);
      if (!h) throw new Error(`No handler registered for '${ch}'`);
      return structuredClone(await h({ senderFrame: fake.frame }, structuredClone(req)));
    },
    on: (ch: string, l: Listener) => { fake.listeners.set(ch, (fake.listeners.get(ch) ?? new Set()).add(l)); },
    removeListener: (ch: string, l: Listener) => { fake.listeners.get(ch)?.delete(l); },
  },
  contextBridge: { exposeInMainWorld: (key: string, api: unknown) => { fake.exposed.set(key, api); } },
  webUtils: { getPathForFile: () => fake.dropPath },
}));

const trustedFrame = fake.frame;
let tmp: string;
let services: Services;
let client: OsteonClient;
let bridge: OsteonBridge;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'osteon-electron-'));
  // The services process, reached over a message transport as main reaches it.
  services = createServices({ host: 'electron', home: join(tmp, 'home'), volumeUrl: (c, k) => `osteon://app/api/volume/${c}/${k}` });
  const [a, b] = memoryPair();
  const served = serve(contract, services.handlers, a, undefined);
  services.subscribe((name, payload) => served.emit(name, payload as never));
  const toServices = transportInvoker(b);

  const { mainHandlers, registerIpc } = await import('../../main/ipc.ts');
  const { PathGuard } = await import('../../app/services/path-guard.ts');
  // Main's real handlers and guard; only the native dialogs are stand-ins (they "pick" in tmp).
  const guard = new PathGuard([], 'dialog grants');
  const dialogs = {
    open: async (purpose: string) => [join(tmp, `picked-${purpose}`)],
    save: async (_title?: string, name?: string) => join(tmp, name ?? 'saved'),
    confirmDrop: async (paths: readonly string[]) => { fake.confirmed.push([...paths]); return fake.confirm; },
  };
  let projectDir: string | null = null;
  toServices.on('project.changed', (p) => { projectDir = (p as { project: { dir: string } | null }).project?.dir ?? null; });
  registerIpc(mainHandlers(toServices, guard, dialogs, () => projectDir), (frame) => frame === trustedFrame);
  // main/index.ts forwards each service event to the window: webContents.send(channelOf(name)).
  for (const name of eventNames) {
    toServices.on(name, (p) => { for (const l of fake.listeners.get(channelOf(name)) ?? []) l({}, structuredClone(p)); });
  }

  await import('../../main/preload.ts');
  bridge = fake.exposed.get('osteon') as OsteonBridge;
  client = createClient(contract, bridgeInvoker(bridge));
});

afterAll(() => {
  services.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

describe('Electron main + preload (fake electron module)', () => {
  it('main registers exactly one channel per call, derived from the contract', () => {
    expect([...fake.handlers.keys()].sort()).toEqual(callNames.map(channelOf).sort());
  });

  it('the preload exposes named functions only: no ipcRenderer, no generic invoke', () => {
    expect([...fake.exposed.keys()]).toEqual(['osteon']);
    expect(Object.keys(bridge).sort()).toEqual(['calls', 'dropped', 'events']);
    // dialog.dropped is sent only by `dropped(files)`, with paths the preload read from Files.
    expect(Object.keys(bridge.calls)).toEqual(callNames.filter((n) => n !== 'dialog.dropped'));
    expect(Object.keys(bridge.events)).toEqual(eventNames);
    for (const f of [...Object.values(bridge.calls), ...Object.values(bridge.events), bridge.dropped]) expect(typeof f).toBe('function');
  });

  it('calls cross as data and come back typed; dialogs are answered by main with grant ids', async () => {
    const picked = await client.call('dialog.open', { purpose: 'project-create' });
    expect(picked.paths).toEqual([expect.stringMatching(/^grant:[0-9a-f]{32}\/picked-project-create$/)]);
    // A path typed outside the open project is refused; the grant for the same folder is not.
    await expect(client.call('project.create', { dir: join(tmp, 'picked-project-create'), name: 'Desk' }))
      .rejects.toMatchObject({ code: 'bad-request', message: expect.stringMatching(/^project\.create: dir: .*outside the folders/) });
    const p = await client.call('project.create', { dir: picked.paths[0], name: 'Desk' });
    expect(p.name).toBe('Desk');
    expect(p.dir).toBe(join(tmp, 'picked-project-create'));
    expect(await client.call('app.info')).toMatchObject({ host: 'electron' });
    // The same path asked for again gets the same id; a save dialog's answer is a write grant.
    expect((await client.call('dialog.open', { purpose: 'project-create' })).paths).toEqual(picked.paths);
    expect((await client.call('dialog.open', { purpose: 'save', defaultName: 'labels.seg.nrrd' })).paths[0]).toMatch(/^grant:[0-9a-f]{32}\/labels\.seg\.nrrd$/);
    // An import grant (read) cannot be used where Osteon writes.
    const ct = (await client.call('dialog.open', { purpose: 'import-ct' })).paths[0];
    await expect(client.call('case.export', { caseId: 'c1', dir: ct })).rejects.toMatchObject({ code: 'bad-request', message: expect.stringMatching(/^case\.export: dir: .*granted for reading only/) });
    // A made-up or altered id is refused.
    await expect(client.call('labels.scan', { labels: `grant:${'0'.repeat(32)}/ct.nii.gz` })).rejects.toMatchObject({ message: expect.stringMatching(/^labels\.scan: labels: .*not a grant this host issued/) });
    await expect(client.call('labels.scan', { labels: ct.replace(/\/[^/]*$/, '/passwd') })).rejects.toMatchObject({ message: expect.stringMatching(/not a grant this host issued/) });
    await expect(client.call('case.get', { caseId: 'none' })).rejects.toMatchObject({ code: 'not-found', name: 'ContractError' });
    await expect(client.call('volume.get', { caseId: 'BAD ID', kind: 'ct' })).rejects.toMatchObject({ code: 'bad-request' });
    // Straight at the bridge, a failure is a Result, never a thrown Error (Electron would drop its fields).
    expect(await bridge.calls['case.get']({ caseId: 'none' })).toMatchObject({ ok: false, error: { code: 'not-found' } });
  });

  it('dropped files: the preload reads their paths, main asks the user, the page gets grant ids', async () => {
    const { writeFileSync } = await import('node:fs');
    fake.dropPath = join(tmp, 'dropped-ct.nii.gz');
    writeFileSync(fake.dropPath, 'x');
    fake.confirm = true;
    const r = await bridge.dropped([{}]);
    expect(r).toMatchObject({ ok: true, value: { paths: [expect.stringMatching(/^grant:[0-9a-f]{32}\/dropped-ct\.nii\.gz$/)] } });
    expect(fake.confirmed.at(-1)).toEqual([fake.dropPath]);
    // The user said no: nothing is granted.
    fake.confirm = false;
    expect(await bridge.dropped([{}])).toMatchObject({ ok: true, value: { paths: [] } });
    // A path that does not exist is never shown to the user nor granted.
    fake.confirm = true;
    fake.dropPath = join(tmp, 'no-such-file');
    const asked = fake.confirmed.length;
    expect(await bridge.dropped([{}])).toMatchObject({ ok: true, value: { paths: [] } });
    expect(fake.confirmed.length).toBe(asked);
    // The page cannot send dialog.dropped with text of its own: it is not among its calls.
    await expect(client.call('dialog.dropped', { paths: ['/etc/passwd'] })).rejects.toMatchObject({ code: 'bad-request' });
  });

  it('bundled presets come back as read grants that import accepts', async () => {
    const { presets } = await client.call('schema.presets');
    expect(presets.length).toBeGreaterThan(0);
    for (const p of presets) expect(p.path).toMatch(/^grant:[0-9a-f]{32}\/[^/]+\.json$/);
  });

  it('streams job events through the preload', async () => {
    const progress: number[] = [];
    const r = await runJob(client, 'demo.sleep', () => client.call('job.sleep', { ms: 5, steps: 2 }), { onProgress: (x) => progress.push(x) });
    expect(r.sleptMs).toBeGreaterThanOrEqual(0);
    expect(progress).toEqual([0.5, 1]);
  });

  it('refuses a call from an untrusted frame', async () => {
    fake.frame = { url: 'https://evil.example/' };
    try {
      expect(await bridge.calls['project.get']({})).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    } finally {
      fake.frame = trustedFrame;
    }
  });
});

describe('window state', () => {
  it('drops a saved position that is on no display', async () => {
    const { fitToDisplays } = await import('../../main/window-state.ts');
    const screen = [{ x: 0, y: 0, width: 1920, height: 1080 }];
    const s = { x: 100, y: 80, width: 1200, height: 800, maximized: false };
    expect(fitToDisplays(s, screen)).toEqual(s);
    expect(fitToDisplays({ ...s, x: 3000 }, screen)).toEqual({ width: 1200, height: 800, maximized: false });
  });
});
