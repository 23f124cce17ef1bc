/**
 * The in-app WebGPU rung: a hidden window that loads the GPU host page (osteon://app/gpu-host/)
 * and owns Chromium's `navigator.gpu` (D3D12, Metal or Vulkan), because Electron refuses Dawn's
 * Node addon (../shared/notes/gpu-webgpu-measured.md). Main owns the window and only relays:
 * a MessageChannelMain joins it to the services process, which feeds it batches and writes the
 * checkpoints (app/learning/gpu-host-train.ts). The UI window can be busy or reload; this one
 * is separate and keeps computing. If its renderer dies, main opens a new one and hands the
 * services a new port (the running job fails with a clear error; the next one uses the new page).
 */
import { BrowserWindow, ipcMain, MessageChannelMain, type IpcMainEvent, type MessagePortMain } from 'electron';
import type { HostLink } from '../app/learning/gpu-host/protocol.ts';
import { GPU_HOST_FROM_PAGE, GPU_HOST_TO_PAGE } from './gpu-host-channels.ts';


export interface GpuHostWindowOptions {
  /** osteon://app/gpu-host/index.html */
  url: string;
  /** out/preload/gpu-host-preload.cjs */
  preload: string;
}

export interface GpuHostWindow {
  window: BrowserWindow;
  /** Main's side of the page: what the page sends arrives here; send() goes to the page. */
  link: HostLink;
  close(): void;
}

/** Opens the hidden, sandboxed, context-isolated window; only its own main frame is heard. */
export function openGpuHostWindow(opts: GpuHostWindowOptions): GpuHostWindow {
  const win = new BrowserWindow({
    show: false, width: 320, height: 240, title: 'Osteon GPU host',
    webPreferences: {
      preload: opts.preload,
      contextIsolation: true, sandbox: true, nodeIntegration: false, nodeIntegrationInWorker: false, nodeIntegrationInSubFrames: false,
      webSecurity: true, allowRunningInsecureContent: false, webviewTag: false, spellcheck: false, devTools: false,
      // A hidden window's timers and rAF are throttled by default; this one does the computing.
      backgroundThrottling: false,
    },
  });
  const contents = win.webContents;
  const listeners = new Set<(m: unknown) => void>();
  const closers = new Set<(why: string) => void>();
  const fromPage = (e: IpcMainEvent, msg: unknown) => {
    if (e.sender !== contents || e.senderFrame !== contents.mainFrame || !e.senderFrame?.url.startsWith(opts.url.replace(/index\.html.*$/, ''))) return;
    for (const cb of listeners) cb(msg);
  };
  ipcMain.on(GPU_HOST_FROM_PAGE, fromPage);
  const gone = (why: string) => { for (const cb of closers) cb(why); };
  contents.on('render-process-gone', (_e, d) => gone(`its renderer is gone (${d.reason})`));
  // The first navigation is the page loading; any later one (a reload) loses the page's state.
  let navigations = 0;
  contents.on('did-start-navigation', (d) => { if (d.isMainFrame && !d.isSameDocument && navigations++ > 0) gone('it navigated or reloaded'); });
  win.on('closed', () => { ipcMain.off(GPU_HOST_FROM_PAGE, fromPage); gone('its window closed'); });
  void win.loadURL(opts.url);
  return {
    window: win,
    link: {
      send: (msg) => { if (!win.isDestroyed()) contents.send(GPU_HOST_TO_PAGE, msg); else throw new Error('the GPU host window is closed'); },
      onMessage(cb) { listeners.add(cb); return () => listeners.delete(cb); },
      onClose(cb) { closers.add(cb); return () => closers.delete(cb); },
      close: () => { if (!win.isDestroyed()) win.destroy(); },
    },
    close: () => { if (!win.isDestroyed()) win.destroy(); },
  };
}

/**
 * Joins the page to the services process: one port goes to the services (posted with
 * `{t: 'gpu-host-port'}`), main relays between the other and the page. Returns the disconnect.
 */
export function relayGpuHost(page: HostLink, postToServices: (msg: unknown, ports: MessagePortMain[]) => void): () => void {
  const { port1, port2 } = new MessageChannelMain();
  const offPage = page.onMessage((m) => port1.postMessage(m));
  const offClose = page.onClose?.((why) => { port1.postMessage({ t: 'gone', why }); });
  port1.on('message', (e) => { try { page.send(e.data); } catch { /* the page is gone: 'gone' was posted */ } });
  port1.start();
  postToServices({ t: 'gpu-host-port' }, [port2]);
  return () => { offPage(); offClose?.(); port1.close(); };
}
