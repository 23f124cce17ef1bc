// The in-app GPU host wiring without an Electron binary: 'electron' is replaced by a small fake
// (BrowserWindow and webContents as event emitters, ipcMain/ipcRenderer joined back to back with
// the sender frame attached, MessageChannelMain on Node's MessageChannel), and the real
// main/gpu-host.ts, main/gpu-host-preload.ts, main/gpu-host-port.ts, the page's protocol server
// (app/learning/gpu-host/serve.ts) and the real services run against it. Only the GPU is
// replaced: the "page" computes with tfjs's cpu backend (the real WebGPU page runs in Chromium
// in test/e2e/gpu-host.test.ts). Checks: the window is hidden, sandboxed and isolated; the preload
// exposes two named functions only; a train.start job runs on the GPU host through main's relay,
// with pause/resume; run.evaluate, run.thresholds and predict.batch load the run's model on the
// page and stream its windows there, record backend + adapter, and give the CPU path's numbers; frames other than the page's are not heard; a crashed page fails the job
// with a clear error.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { contract, createClient, memoryPair, runJob, serve, type EventPayload, type OsteonClient } from '../../app/contract/index.ts';
import type { HostLink } from '../../app/learning/gpu-host/protocol.ts';
import { serveHost } from '../../app/learning/gpu-host/serve.ts';
import { createServices, type Services } from '../../app/services/services.ts';
import { repoRoot } from '../helpers/env.ts';

type MainListener = (e: { sender: unknown; senderFrame: unknown }, msg: unknown) => void;
type RendererListener = (e: object, msg: unknown) => void;

const fake = vi.hoisted(() => ({
  mainListeners: new Map<string, Set<MainListener>>(),
  rendererListeners: new Map<string, Set<RendererListener>>(),
  exposed: new Map<string, unknown>(),
  windows: [] as Array<{ opts: { show?: boolean; webPreferences?: Record<string, unknown> }; webContents: { mainFrame: { url: string }; emit(ev: string, ...a: unknown[]): boolean } }>,
}));

vi.mock('electron', async () => {
  const { EventEmitter } = await import('node:events');
  const { MessageChannel } = await import('node:worker_threads');
  class FakeWebContents extends EventEmitter {
    mainFrame = { url: '' };
    send(ch: string, msg: unknown) { for (const l of fake.rendererListeners.get(ch) ?? []) l({}, structuredClone(msg)); }
  }
  class BrowserWindow extends EventEmitter {
    webContents = new FakeWebContents();
    #destroyed = false;
    constructor(readonly opts: { show?: boolean; webPreferences?: Record<string, unknown> }) { super(); fake.windows.push(this); }
    // Electron reports the first load as a navigation too (it must not count as the page going away).
    loadURL(u: string) { this.webContents.mainFrame.url = u; this.webContents.emit('did-start-navigation', { isMainFrame: true, isSameDocument: false }); return Promise.resolve(); }
    isDestroyed() { return this.#destroyed; }
    destroy() { this.#destroyed = true; this.emit('closed'); }
  }
  class PortMain {
    constructor(readonly p: import('node:worker_threads').MessagePort) {}
    on(_ev: 'message', cb: (e: { data: unknown }) => void) { this.p.on('message', (data: unknown) => cb({ data })); }
    postMessage(m: unknown) { this.p.postMessage(m); }
    start() { this.p.start(); }
    close() { this.p.close(); }
  }
  class MessageChannelMain {
    port1: PortMain; port2: PortMain;
    constructor() { const c = new MessageChannel(); this.port1 = new PortMain(c.port1); this.port2 = new PortMain(c.port2); }
  }
  const on = <L>(m: Map<string, Set<L>>, ch: string, l: L) => m.set(ch, (m.get(ch) ?? new Set()).add(l));
  return {
    BrowserWindow, MessageChannelMain,
    ipcMain: { on: (ch: string, l: MainListener) => on(fake.mainListeners, ch, l), off: (ch: string, l: MainListener) => fake.mainListeners.get(ch)?.delete(l) },
    ipcRenderer: {
      // The page's window is the sender, with its main frame ("Electron" attaches both).
      send: (ch: string, msg: unknown) => {
        const w = fake.windows.at(-1)!;
        for (const l of fake.mainListeners.get(ch) ?? []) l({ sender: w.webContents, senderFrame: w.webContents.mainFrame }, structuredClone(msg));
      },
      on: (ch: string, l: RendererListener) => on(fake.rendererListeners, ch, l),
    },
    contextBridge: { exposeInMainWorld: (key: string, api: unknown) => { fake.exposed.set(key, api); } },
  };
});

let tmp: string;
let services: Services;
let client: OsteonClient;
let disconnect: () => void;
let mainSide: HostLink;
const caseIds: string[] = [];
/** Every call the page heard: op and, for inference, the model key. */
const pageCalls: Array<{ op: string; key?: string }> = [];
let trainedRunId = '';
const pageUrl = 'osteon://app/gpu-host/index.html';
/** What the page reports: the cpu backend standing in for a GPU adapter. */
const adapter = { vendor: 'tfjs', architecture: 'cpu backend (test stand-in)', device: '', description: '', software: true, limits: { maxStorageBufferBindingSize: 2 ** 27 }, features: [] };

beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = mkdtempSync(join(tmpdir(), 'osteon-gpuhost-electron-'));
  execFileSync(process.execPath, [join(repoRoot, 'bin', 'osteon.mjs'), 'phantom', '--out', join(tmp, 'ph'), '--cases', '2', '--seed', '1', '--size', '16x16x8', '--spacing', '4']);
  services = createServices({ host: 'electron', home: join(tmp, 'home'), volumeUrl: (c, k) => `osteon://app/api/volume/${c}/${k}` });
  const [a, b] = memoryPair();
  const served = serve(contract, services.handlers, a, undefined);
  services.subscribe((name, payload) => served.emit(name, payload as never));
  client = createClient(contract, b) as OsteonClient;
  await client.call('project.create', { dir: join(tmp, 'project'), name: 'gpu host wiring' });
  for (const c of ['case-000', 'case-001']) {
    const s = await runJob(client, 'case.import', () => client.call('case.import', {
      ct: join(tmp, 'ph', c, 'ct.nii.gz'), labels: join(tmp, 'ph', c, 'labels.nii.gz'), schema: join(tmp, 'ph', 'schema.json'), name: c,
    }));
    caseIds.push(s.id);
  }

  // main: the hidden window and the relay; the services process gets the port (main/index.ts does the same).
  const { openGpuHostWindow, relayGpuHost } = await import('../../main/gpu-host.ts');
  const { portLink } = await import('../../main/gpu-host-port.ts');
  const host = openGpuHostWindow({ url: pageUrl, preload: '/out/preload/gpu-host-preload.cjs' });
  mainSide = host.link;
  disconnect = relayGpuHost(host.link, (_msg, ports) => services.attachGpuHost(portLink(ports[0] as never)));
  // the page: its preload, then the protocol server on the bridge it exposes.
  await import('../../main/gpu-host-preload.ts');
  const bridge = fake.exposed.get('osteonGpuHost') as { send(m: unknown): void; onMessage(cb: (m: unknown) => void): void };
  const link: HostLink = {
    send: (m) => bridge.send(m),
    onMessage(cb) { bridge.onMessage((m) => { const c = (m as { call?: { op: string; key?: string } }).call; if (c) pageCalls.push({ op: c.op, key: c.key }); cb(m); }); return () => undefined; },
  };
  serveHost(link, { backend: tf.getBackend(), adapter, kernels: [] });
}, 60_000);

afterAll(() => {
  disconnect?.();
  services?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

const request = { head: 'joint' as const, lossWeights: { a: 1, b: 1, c: 0 }, posWeight: [2] as number[], epochs: 2, stepsPerEpoch: 2, batchSize: 2, filters: [4, 8] };

describe('GPU host window (fake electron module)', () => {
  it('is hidden, sandboxed, context-isolated, without Node, and its preload exposes two named functions', () => {
    const w = fake.windows[0];
    expect(w.opts.show).toBe(false);
    expect(w.opts.webPreferences).toMatchObject({ sandbox: true, contextIsolation: true, nodeIntegration: false, backgroundThrottling: false });
    expect(w.webContents.mainFrame.url).toBe(pageUrl);
    const api = fake.exposed.get('osteonGpuHost') as Record<string, unknown>;
    expect(Object.keys(api).sort()).toEqual(['onMessage', 'send']);
    expect(Object.values(api).every((v) => typeof v === 'function')).toBe(true);
  });

  it('trains a train.start job on the GPU host through main\'s relay, with pause and resume', async () => {
    const events: EventPayload<'train.event'>[] = [];
    const off = client.on('train.event', (e) => {
      events.push(e);
      // Paused between steps, then resumed once the job says it is paused (as the UI does).
      if (e.event.type === 'step' && e.event.epoch === 1 && e.event.step === 1) void client.call('train.control', { jobId: e.jobId, action: 'pause' });
      if (e.event.type === 'paused') void client.call('train.control', { jobId: e.jobId, action: 'resume' });
    });
    const result = await runJob(client, 'train', () => client.call('train.start', { caseIds, valCaseIds: [caseIds[1]], ...request }));
    off();
    expect(result.reason).toBe('completed');
    const types = events.map((e) => e.event.type);
    expect(types).toContain('paused');
    expect(types).toContain('resumed');
    expect(types.filter((t) => t === 'step')).toHaveLength(4);
    // Batch and patch fitted to the page adapter's binding limit, said with the start event and kept in run.json.
    const start = events[0].event;
    expect(start.type === 'start' && start.memory).toMatch(/\S/);
    const runJson = JSON.parse(readFileSync(join(tmp, 'project', 'runs', result.runId, 'run.json'), 'utf8'));
    expect(runJson.backend).toMatchObject({ name: 'webgpu', adapter: { vendor: 'tfjs' } });
    expect(runJson.memory).toMatchObject({ limitBytes: 2 ** 27 });
    const { runs } = await client.call('run.list');
    expect(runs.find((r) => r.id === result.runId)).toMatchObject({ status: 'completed', epochsDone: 2 });
    trainedRunId = result.runId;
  }, 60_000);

  it('evaluates, tunes thresholds and batch-predicts on the GPU host, recording backend and adapter, with the CPU path\'s numbers', async () => {
    expect(trainedRunId).not.toBe('');
    const runDir = join(tmp, 'project', 'runs', trainedRunId);
    const inferenceCalls = () => pageCalls.filter((c) => c.op === 'load' || c.op === 'unload' || (c.op === 'predict' && c.key));
    const ctl = { signal: new AbortController().signal, progress: () => undefined };
    const { evaluateRun, runThresholds } = await import('../../app/services/training-eval.ts');

    pageCalls.length = 0;
    const evaluation = await runJob(client, 'run.evaluate', () => client.call('run.evaluate', { runId: trainedRunId, checkpoint: 'best' }));
    // One model loaded by key, its windows streamed to the page, then unloaded.
    const calls = inferenceCalls();
    expect(calls[0].op).toBe('load');
    expect(calls.at(-1)).toEqual({ op: 'unload', key: calls[0].key });
    expect(calls.filter((c) => c.op === 'predict' && c.key === calls[0].key).length).toBeGreaterThanOrEqual(2);
    const record = JSON.parse(readFileSync(join(runDir, 'inference-best.json'), 'utf8'));
    expect(record).toMatchObject({ job: 'run.evaluate', backend: { name: 'webgpu', host: 'GPU host page', precision: 'fp32', adapter: { vendor: 'tfjs', architecture: 'cpu backend (test stand-in)' } } });
    expect(record.cases[0]).toMatchObject({ caseId: caseIds[1], windows: 8, limitBytes: 2 ** 27 });
    // The same evaluation on this process's backend (no GPU host): the same numbers.
    const cpu = await evaluateRun(services.project()!, trainedRunId, 'best', ctl, null);
    expect(JSON.parse(readFileSync(join(runDir, 'inference-best.json'), 'utf8')).backend).toMatchObject({ host: 'this process', adapter: null, precision: expect.stringMatching(/^(fp32|bf16)$/) });
    expect(evaluation.cases.map((c) => c.metrics.map((m) => m.dice))).toEqual(cpu.cases.map((c) => c.metrics.map((m) => m.dice)));

    pageCalls.length = 0;
    const tuned = await runJob(client, 'run.thresholds', () => client.call('run.thresholds', { runId: trainedRunId }));
    expect(inferenceCalls()[0].op).toBe('load');
    expect(JSON.parse(readFileSync(join(runDir, 'inference-best.json'), 'utf8'))).toMatchObject({ job: 'run.thresholds', backend: { name: 'webgpu' } });
    const tunedCpu = await runThresholds(services.project()!, trainedRunId, ctl, null);
    expect(tuned.curves.map((c) => c.dice)).toEqual(tunedCpu.curves.map((c) => c.dice));

    pageCalls.length = 0;
    const batch = await runJob(client, 'predict.batch', () => client.call('predict.batch', { runId: trainedRunId, caseIds, checkpoint: 'best' }));
    expect(batch.cases.map((c) => c.state)).toEqual(['done', 'done']);
    expect(inferenceCalls().filter((c) => c.op === 'load')).toHaveLength(1); // one model for the whole batch
    // The training form's estimate uses the runs measured on the backend the next run trains on.
    expect((await client.call('train.plan', {})).basis).toContain('runs on the webgpu backend');
    const { versions } = await client.call('version.list', { caseId: caseIds[0] });
    expect(versions.at(-1)!.source).toMatchObject({ kind: 'prediction', runId: trainedRunId, backend: 'webgpu on the GPU host page (tfjs cpu backend (test stand-in), software), fp32' });
  }, 60_000);

  it('hears only the page\'s own main frame', () => {
    const heard: unknown[] = [];
    const off = mainSide.onMessage((m) => heard.push(m));
    const w = fake.windows[0];
    const send = (sender: unknown, senderFrame: unknown) => { for (const l of fake.mainListeners.get('osteon:gpu-host:from-page') ?? []) l({ sender, senderFrame }, { t: 'result', id: 999_999, ok: true, value: {} }); };
    send(w.webContents, { url: 'osteon://app/index.html' }); // another frame of the window
    send({}, w.webContents.mainFrame); // another window
    expect(heard).toEqual([]);
    send(w.webContents, w.webContents.mainFrame);
    expect(heard).toHaveLength(1);
    off();
  });

  it('app.backend names the GPU host and its adapter as the training backend', async () => {
    const be = await client.call('app.backend', {});
    expect(be.name).toMatch(/^webgpu .*GPU host window/);
    expect(be.detail).toMatch(/WebGPU adapter: tfjs cpu backend \(test stand-in\)/);
    await tf.setBackend('cpu'); // initBackend ran the CPU ladder in this process; the stand-in page computes on cpu
  }, 60_000);

  it('fails the running job with a clear error when the page\'s renderer is gone', async () => {
    let failed: EventPayload<'job.failed'> | null = null;
    const offFail = client.on('job.failed', (e) => { failed = e; });
    const off = client.on('train.event', (e) => {
      if (e.event.type === 'step' && e.event.step === 1) fake.windows[0].webContents.emit('render-process-gone', {}, { reason: 'crashed' });
    });
    await client.call('train.start', { caseIds, valCaseIds: [caseIds[1]], ...request, epochs: 20 });
    await vi.waitFor(() => expect(failed).not.toBeNull(), { timeout: 30_000 });
    off();
    offFail();
    expect(failed!.error.message).toMatch(/GPU host went away \(its renderer is gone \(crashed\)\)/);
  }, 60_000);
});
