/**
 * Electron main: windows, menu, dialogs and the secure wiring between the sandboxed renderer
 * and the services process. No computation happens here (see services-process.ts).
 */
import { app, BrowserWindow, dialog, Menu, screen, session, utilityProcess, type OpenDialogOptions, type WebFrameMain } from 'electron';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { channelOf, checkEvent, contract, eventNames, transportInvoker, type Message, type Transport } from '../app/contract/index.ts';
import { PathGuard } from '../app/services/path-guard.ts';
import { openGpuHostWindow, relayGpuHost } from './gpu-host.ts';
import { mainHandlers, registerIpc, type NativeDialogs } from './ipc.ts';
import { buildMenu } from './menu.ts';
import { APP_ORIGIN, handleScheme, registerSchemePrivileges } from './protocol.ts';
import { reportBuildWithPrintToPdf } from './report-pdf.ts';
import type { ServicesProcessArgs } from './services-process.ts';
import type { DialogPurpose } from '../app/contract/schemas.ts';
import { loadWindowState, trackWindowState } from './window-state.ts';

const here = import.meta.dirname; // out/main
const devUrl = !app.isPackaged ? process.env.ELECTRON_RENDERER_URL : undefined;
const devOrigin = devUrl ? new URL(devUrl).origin : null;

let win: BrowserWindow | null = null;
let projectDir: string | null = null;
/** Paths the OS asked us to open before the services were up; then `opener` takes over. */
const pendingOpen: string[] = [];
let opener: ((path: string) => void) | null = null;

registerSchemePrivileges();
app.enableSandbox();
// Chromium's WebGPU for the GPU host window. Linux still has it behind these switches (Vulkan);
// Windows (D3D12) and macOS (Metal) have it on by default.
if (process.platform === 'linux') {
  app.commandLine.appendSwitch('enable-unsafe-webgpu');
  app.commandLine.appendSwitch('enable-features', 'Vulkan');
}

/** The services process and an invoker for its calls and events. */
function startServices() {
  const args: ServicesProcessArgs = {
    home: app.getPath('userData'),
    versions: { electron: process.versions.electron, chrome: process.versions.chrome },
    volumeBase: `${APP_ORIGIN}/api/volume`,
  };
  const child = utilityProcess.fork(join(here, 'services-process.js'), [JSON.stringify(args)], { serviceName: 'Osteon services', stdio: 'inherit' });
  startGpuHost(child);
  const transport: Transport = {
    send: (msg: Message) => child.postMessage(msg),
    onMessage(cb) { child.on('message', cb); return () => child.off('message', cb); },
    onClose(cb) { child.on('exit', cb); return () => child.off('exit', cb); },
    close: () => { child.kill(); },
  };
  child.on('exit', (code) => {
    if (code !== 0 && !quitting) dialog.showErrorBox('Osteon', `The services process stopped (exit ${code}). Please restart Osteon.`);
  });
  return transportInvoker(transport);
}

let quitting = false;

/**
 * The in-app WebGPU rung (main/gpu-host.ts): a hidden window with the GPU host page, joined to
 * the services by a port. Reopened (up to 3 times) if the page goes away, so the next training job
 * has a GPU again.
 */
function startGpuHost(child: Electron.UtilityProcess): void {
  let reopened = 0;
  const open = () => {
    const host = openGpuHostWindow({ url: `${APP_ORIGIN}/gpu-host/index.html`, preload: join(here, '..', 'preload', 'gpu-host-preload.cjs') });
    const disconnect = relayGpuHost(host.link, (msg, ports) => child.postMessage(msg, ports));
    const off = host.link.onClose?.(() => {
      off?.();
      disconnect();
      host.close();
      // A page that keeps dying is not retried for ever: training falls back to the CPU ladder.
      if (!quitting && reopened++ < 3) setTimeout(open, 1000);
    });
  };
  open();
}

function isTrusted(frame: WebFrameMain | null): boolean {
  if (!frame || !win || win.isDestroyed() || frame !== win.webContents.mainFrame) return false;
  const origin = new URL(frame.url).origin;
  return frame.url.startsWith(`${APP_ORIGIN}/`) || (devOrigin !== null && origin === devOrigin);
}

function sendEvent(name: string, payload: unknown): void {
  if (win && !win.isDestroyed()) win.webContents.send(channelOf(name as never), checkEvent(contract, name, payload));
}

const imageFilters = [{ name: 'Images', extensions: ['nii', 'gz', 'nrrd', 'nhdr', 'mha', 'mhd'] }, { name: 'All files', extensions: ['*'] }];

function dialogOptions(purpose: Exclude<DialogPurpose, 'save'>, title?: string): OpenDialogOptions {
  switch (purpose) {
    case 'project-open': return { title: title ?? 'Open project', properties: ['openDirectory'] };
    case 'project-create': return { title: title ?? 'New project folder', properties: ['openDirectory', 'createDirectory', 'promptToCreate'] };
    case 'import-ct': return { title: title ?? 'Import CT (file or DICOM folder)', properties: ['openFile'], filters: imageFilters };
    case 'import-labels': return { title: title ?? 'Import labels', properties: ['openFile', 'multiSelections'], filters: imageFilters };
    case 'import-schema': return { title: title ?? 'Label schema', properties: ['openFile'], filters: [{ name: 'Label schema', extensions: ['json'] }] };
    default: return { title: title ?? 'Export to folder', properties: ['openDirectory', 'createDirectory'] };
  }
}

function hardenSessions(): void {
  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((_wc, _permission, cb) => cb(false));
  ses.setPermissionCheckHandler(() => false);
  // No remote content: only our scheme, in-page data/blob URLs, devtools and, in dev, the dev server.
  ses.webRequest.onBeforeRequest((details, cb) => {
    const u = details.url;
    const ok = u.startsWith(`${APP_ORIGIN}/`) || u.startsWith('data:') || u.startsWith('blob:') || u.startsWith('devtools:')
      || (devOrigin !== null && (u.startsWith(devOrigin) || u.startsWith(devOrigin.replace(/^http/, 'ws'))));
    cb({ cancel: !ok });
  });
}

app.on('web-contents-created', (_e, contents) => {
  contents.on('will-navigate', (e) => e.preventDefault());
  contents.on('will-redirect', (e) => e.preventDefault());
  contents.on('will-attach-webview', (e) => e.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
});

/** A path from the command line, a second instance or the OS (file association). */
function projectPathOf(p: string): string | null {
  if (!existsSync(p)) return null;
  const dir = statSync(p).isDirectory() ? p : dirname(p);
  return existsSync(join(dir, 'project.json')) ? dir : null;
}

async function main(): Promise<void> {
  const services = startServices();
  for (const name of eventNames) {
    services.on(name, (payload) => {
      if (name === 'project.changed') {
        const p = (payload as { project: { dir: string; name: string } | null }).project;
        projectDir = p?.dir ?? null;
        win?.setTitle(p ? `${p.name} — Osteon` : 'Osteon');
      }
      sendEvent(name, payload);
    });
  }
  // Paths are granted, not sent: the renderer gets grant ids for what a dialog here returned or
  // the user confirmed dropping; otherwise it may name only paths inside the open project.
  const guard = new PathGuard([], 'the desktop app accepts files chosen with Browse… or dropped on the window, and paths inside the open project');
  const dialogs: NativeDialogs = {
    open: async (purpose, title) => {
      const opts = dialogOptions(purpose, title);
      const r = win ? await dialog.showOpenDialog(win, opts) : await dialog.showOpenDialog(opts);
      return r.canceled ? [] : r.filePaths;
    },
    save: async (title, defaultName) => {
      const opts = { title: title ?? 'Export to', ...(defaultName ? { defaultPath: defaultName } : {}), properties: ['createDirectory' as const, 'showOverwriteConfirmation' as const] };
      const r = win ? await dialog.showSaveDialog(win, opts) : await dialog.showSaveDialog(opts);
      return r.canceled || !r.filePath ? null : r.filePath;
    },
    confirmDrop: async (paths) => {
      const shown = paths.slice(0, 12).join('\n') + (paths.length > 12 ? `\n… and ${paths.length - 12} more` : '');
      const opts = {
        type: 'question' as const, buttons: ['Use them', 'Cancel'], defaultId: 0, cancelId: 1, title: 'Dropped files',
        message: `Let Osteon use ${paths.length === 1 ? 'this dropped item' : `these ${paths.length} dropped items`}?`,
        detail: `${shown}\n\nFiles are only read (imported); a dropped folder may also be opened as a project.`,
      };
      const r = win ? await dialog.showMessageBox(win, opts) : await dialog.showMessageBox(opts);
      return r.response === 0;
    },
  };
  const handlers = mainHandlers(services, guard, dialogs, () => projectDir);
  // The report's PDF comes from Electron's printToPDF here (main/report-pdf.ts), not a Chromium child.
  handlers['report.build'] = reportBuildWithPrintToPdf(handlers['report.build']);
  registerIpc(handlers, isTrusted);

  const openPath = async (p: string) => {
    const dir = projectPathOf(p);
    if (dir) await services.call('project.open', { dir });
  };

  const about = async () => {
    const info = await services.call('app.info', {});
    const backend = await services.call('app.backend', {});
    const versions = info.ok ? Object.entries(info.value as { versions: Record<string, string> }['versions']).map(([k, v]) => `${k} ${v}`).join('\n') : '';
    const be = backend.ok ? (backend.value as { name: string; detail: string }) : null;
    await dialog.showMessageBox({
      type: 'info', title: 'About Osteon', message: `Osteon ${app.getVersion()}`,
      detail: `${versions}\n\nML backend: ${be ? `${be.name}\n${be.detail}` : backend.ok ? '' : backend.error.message}`,
    });
  };

  hardenSessions();
  handleScheme(join(here, '..', 'renderer'), () => projectDir);

  const state = loadWindowState(app.getPath('userData'), screen.getAllDisplays().map((d) => d.workArea));
  win = new BrowserWindow({
    x: state.x, y: state.y, width: state.width, height: state.height, show: false, title: 'Osteon', backgroundColor: '#101214',
    webPreferences: {
      preload: join(here, '..', 'preload', 'preload.cjs'),
      contextIsolation: true, sandbox: true, nodeIntegration: false, nodeIntegrationInWorker: false, nodeIntegrationInSubFrames: false,
      webSecurity: true, allowRunningInsecureContent: false, webviewTag: false, navigateOnDragDrop: false, spellcheck: false,
      devTools: !app.isPackaged,
    },
  });
  trackWindowState(win, app.getPath('userData'));
  win.once('ready-to-show', () => {
    if (state.maximized) win?.maximize();
    win?.show();
  });
  // The hidden GPU host window would keep 'window-all-closed' from firing: the UI window is the app.
  win.on('closed', () => { win = null; app.quit(); });
  Menu.setApplicationMenu(buildMenu({
    send: (action) => sendEvent('menu.action', { action }),
    about: () => void about(),
    isMac: process.platform === 'darwin',
    dev: !app.isPackaged,
  }));
  await win.loadURL(devUrl ?? `${APP_ORIGIN}/index.html`);

  app.on('second-instance', (_e, argv) => {
    if (win) { if (win.isMinimized()) win.restore(); win.focus(); }
    for (const a of argv.slice(1)) void openPath(a);
  });
  opener = (p) => void openPath(p);
  for (const p of [...pendingOpen.splice(0), ...process.argv.slice(app.isPackaged ? 1 : 2)]) opener(p);

  app.on('before-quit', () => { quitting = true; services.close?.(); });
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('open-file', (e, p) => {
    e.preventDefault();
    if (opener) opener(p);
    else pendingOpen.push(p);
  });
  app.on('window-all-closed', () => app.quit());
  app.whenReady().then(main, (e: unknown) => {
    dialog.showErrorBox('Osteon', `Could not start: ${e instanceof Error ? e.message : String(e)}`);
    app.quit();
  });
}
