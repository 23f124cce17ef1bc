/**
 * The services in a worker thread (the browser host's counterpart of Electron's services
 * process): imports, analysis and, later, training run here, so the host's event loop keeps
 * answering HTTP and WebSocket traffic while they compute. Speaks the contract's message
 * protocol over the parent port. Started through worker-boot.mjs.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { contract } from '../contract/contract.ts';
import { serve, type Message, type Transport } from '../contract/rpc.ts';
import { createServices } from './services.ts';

export interface ServicesWorkerData {
  entry: string;
  host: 'browser' | 'test';
  home: string;
  /** Prefix of voxel URLs, e.g. '/api/volume'. */
  volumeBase: string;
  /** The --root folders, for files.list (the browser host checks paths before they get here). */
  roots?: string[];
}

const port = parentPort;
if (!port) throw new Error('services-worker.ts runs only in a worker thread');
const data = workerData as ServicesWorkerData;

const services = createServices({
  host: data.host,
  home: data.home,
  volumeUrl: (caseId, kind) => `${data.volumeBase}/${caseId}/${kind}`,
  ...(data.roots ? { listRoots: data.roots } : {}),
});
const transport: Transport = {
  send: (msg: Message) => port.postMessage(msg),
  onMessage(cb) {
    port.on('message', cb);
    return () => port.off('message', cb);
  },
};
const served = serve(contract, services.handlers, transport, undefined);
services.subscribe((name, payload) => served.emit(name, payload as never));
port.on('close', () => services.dispose());
