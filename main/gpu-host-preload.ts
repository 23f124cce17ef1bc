/**
 * The GPU host window's preload (sandboxed, context-isolated): `window.osteonGpuHost` with two
 * named functions, send and onMessage, on two fixed channels, and nothing else (never
 * ipcRenderer itself). Messages are structured clones, so batches stay typed arrays.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { GPU_HOST_FROM_PAGE, GPU_HOST_TO_PAGE } from './gpu-host-channels.ts';

contextBridge.exposeInMainWorld('osteonGpuHost', {
  send: (msg: unknown) => ipcRenderer.send(GPU_HOST_FROM_PAGE, msg),
  onMessage: (cb: (msg: unknown) => void) => { ipcRenderer.on(GPU_HOST_TO_PAGE, (_e: IpcRendererEvent, msg: unknown) => cb(msg)); },
});
