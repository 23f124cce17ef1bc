/**
 * Builds structure surfaces off the main thread. The page posts label voxels once per case and
 * kind ('load', a copy), then asks for one structure at a time; meshes come back as transferred
 * buffers.
 */
import { compareSurface, confusionCodes } from '../lib/compare.ts';
import { extractSurface, type LabelData } from '../lib/surface.ts';
import type { WorkerReply, WorkerRequest } from '../lib/surfaceProtocol.ts';

const arrays = new Map<string, LabelData>();

function reply(msg: WorkerReply, transfer: Transferable[] = []): void {
  (self as unknown as { postMessage(m: WorkerReply, t: Transferable[]): void }).postMessage(msg, transfer);
}

function need(key: string): LabelData {
  const d = arrays.get(key);
  if (!d) throw new Error(`labels ${key} are not loaded in the worker`);
  return d;
}

self.onmessage = (ev: MessageEvent<WorkerRequest>) => {
  const msg = ev.data;
  if (msg.type === 'load') {
    arrays.set(msg.key, msg.data);
    reply({ type: 'loaded', key: msg.key });
    return;
  }
  if (msg.type === 'release') {
    arrays.clear();
    return;
  }
  const t0 = performance.now();
  try {
    if (msg.type === 'surface') {
      const mesh = extractSurface(need(msg.key), msg.geometry, msg.selector, msg.options);
      const ms = performance.now() - t0;
      reply({ type: 'surface', reqId: msg.reqId, mesh, ms }, mesh ? [mesh.points.buffer, mesh.normals.buffer, mesh.triangles.buffer] : []);
    } else if (msg.type === 'confusion') {
      const codes = confusionCodes(need(msg.truthKey), need(msg.predictionKey), msg.selectors, msg.voxels);
      reply({ type: 'confusion', reqId: msg.reqId, codes, ms: performance.now() - t0 }, [codes.buffer]);
    } else {
      const mesh = compareSurface(need(msg.truthKey), need(msg.predictionKey), msg.geometry, msg.selector);
      const ms = performance.now() - t0;
      reply({ type: 'compare', reqId: msg.reqId, mesh, ms },
        mesh ? [mesh.points.buffer, mesh.normals.buffer, mesh.triangles.buffer, mesh.distance.buffer] : []);
    }
  } catch (e) {
    reply({ type: 'error', reqId: msg.reqId, message: e instanceof Error ? e.message : String(e) });
  }
};
