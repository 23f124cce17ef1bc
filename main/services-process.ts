/**
 * The services' own process (Electron utilityProcess): project store, imports, jobs, and later
 * training and inference all run here, so the main process only handles windows, menus and
 * dialogs and the UI never waits on a computation. It speaks the contract's message protocol
 * over the parent port; main forwards the renderer's calls to it.
 */
import type { Message, Transport } from '../app/contract/rpc.ts';
import { serve } from '../app/contract/rpc.ts';
import { contract } from '../app/contract/contract.ts';
import { createServices } from '../app/services/services.ts';
import { portLink, type PortLike } from './gpu-host-port.ts';

interface ParentPortLike {
  on(event: 'message', cb: (e: { data: unknown; ports?: PortLike[] }) => void): void;
  postMessage(msg: unknown): void;
}

export interface ServicesProcessArgs {
  home: string;
  versions: Record<string, string>;
  /** Prefix of voxel URLs, e.g. 'osteon://app/api/volume'. */
  volumeBase: string;
}

const port = (process as unknown as { parentPort?: ParentPortLike }).parentPort;
if (!port) throw new Error('services-process runs only as an Electron utility process');

const args = JSON.parse(process.argv.at(-1) ?? '{}') as ServicesProcessArgs;
const services = createServices({
  host: 'electron',
  home: args.home,
  versions: args.versions,
  volumeUrl: (caseId, kind) => `${args.volumeBase}/${caseId}/${kind}`,
});

let toRpc: (msg: unknown) => void = () => undefined;
port.on('message', (e) => {
  // Main's GPU host window, joined by a port of its own (main/gpu-host.ts); everything else is the contract.
  const gpuPort = (e.data as { t?: unknown } | null)?.t === 'gpu-host-port' ? e.ports?.[0] : undefined;
  if (gpuPort) services.attachGpuHost(portLink(gpuPort));
  else toRpc(e.data);
});
const transport: Transport = {
  send: (msg: Message) => port.postMessage(msg),
  onMessage(cb) {
    toRpc = cb;
    return () => { toRpc = () => undefined; };
  },
};
const served = serve(contract, services.handlers, transport, undefined);
services.subscribe((name, payload) => served.emit(name, payload as never));
