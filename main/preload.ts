/**
 * The preload bridge (sandboxed, context-isolated). It exposes `window.osteon`: one named
 * function per contract call and per event, generated from the contract's keys, and `dropped`
 * for files dropped on the window; nothing else, never ipcRenderer itself. Results come back as
 * data ({ok, value|error}); the renderer's client (app/contract/client.ts) re-throws them typed.
 *
 * `dialog.dropped` is not among the page's calls: only `dropped(files)` sends it, with paths
 * read here from real `File` objects (a page cannot make one with a path of its choosing), and
 * main still asks the user before it grants them. The page gets grant ids back, never paths.
 */
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import { callNames, channelOf, eventNames } from '../app/contract/contract.ts';
import type { OsteonBridge } from '../app/contract/client.ts';

const calls = Object.fromEntries(callNames.filter((name) => name !== 'dialog.dropped').map((name) => {
  const channel = channelOf(name);
  return [name, (req: unknown) => ipcRenderer.invoke(channel, req)];
})) as OsteonBridge['calls'];

const events = Object.fromEntries(eventNames.map((name) => {
  const channel = channelOf(name);
  return [name, (cb: (payload: unknown) => void) => {
    const listener = (_e: IpcRendererEvent, payload: unknown) => cb(payload);
    ipcRenderer.on(channel, listener);
    return () => { ipcRenderer.removeListener(channel, listener); };
  }];
})) as OsteonBridge['events'];

const dropChannel = channelOf('dialog.dropped');

const bridge: OsteonBridge = {
  calls,
  events,
  dropped: (files) => {
    const pathOf = (f: object): string => {
      try { return webUtils.getPathForFile(f as File); } catch { return ''; } // not a File: no path
    };
    const paths = [...files].slice(0, 64).map(pathOf).filter((p) => p !== '');
    return ipcRenderer.invoke(dropChannel, { paths });
  },
};

contextBridge.exposeInMainWorld('osteon', bridge);
