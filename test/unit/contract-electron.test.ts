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
  webUtils: { getPathForFile: () => '/dropped/study.nii.gz' },
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

  const { forwardingHandlers, registerIpc } = await import('../../main/ipc.ts');
  registerIpc(forwardingHandlers(toServices, { 'dialog.open': async (req) => ({ paths: [`/picked/${req.purpose}`] }) }),
    (frame) => frame === trustedFrame);
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
    expect(Object.keys(bridge).sort()).toEqual(['calls', 'events', 'pathForFile']);
    expect(Object.keys(bridge.calls)).toEqual(callNames);
    expect(Object.keys(bridge.events)).toEqual(eventNames);
    for (const f of [...Object.values(bridge.calls), ...Object.values(bridge.events)]) expect(typeof f).toBe('function');
    expect(bridge.pathForFile({})).toBe('/dropped/study.nii.gz');
  });

  it('calls cross as data and come back typed; dialogs are answered by main', async () => {
    const p = await client.call('project.create', { dir: join(tmp, 'p'), name: 'Desk' });
    expect(p.name).toBe('Desk');
    expect(await client.call('app.info')).toMatchObject({ host: 'electron' });
    expect(await client.call('dialog.open', { purpose: 'project-open' })).toEqual({ paths: ['/picked/project-open'] });
    await expect(client.call('case.get', { caseId: 'none' })).rejects.toMatchObject({ code: 'not-found', name: 'ContractError' });
    await expect(client.call('volume.get', { caseId: 'BAD ID', kind: 'ct' })).rejects.toMatchObject({ code: 'bad-request' });
    // Straight at the bridge, a failure is a Result, never a thrown Error (Electron would drop its fields).
    expect(await bridge.calls['case.get']({ caseId: 'none' })).toMatchObject({ ok: false, error: { code: 'not-found' } });
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
