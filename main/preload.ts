/**
 * The preload bridge (sandboxed, context-isolated). It exposes `window.osteon`: one named
 * function per contract call and per event, generated from the contract's keys, and nothing
 * else: never ipcRenderer itself. Results come back as data ({ok, value|error}); the
 * renderer's client (app/contract/client.ts) re-throws them typed.
 */
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import { callNames, channelOf, eventNames } from '../app/contract/contract.ts';
import type { OsteonBridge } from '../app/contract/client.ts';

const calls = Object.fromEntries(callNames.map((name) => {
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

const bridge: OsteonBridge = {
  calls,
  events,
  pathForFile: (file) => webUtils.getPathForFile(file as File),
};

contextBridge.exposeInMainWorld('osteon', bridge);
