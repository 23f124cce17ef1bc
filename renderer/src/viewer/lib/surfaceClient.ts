/**
 * The page side of the surface worker: one worker per viewer, promises keyed by request id.
 * `dispose()` terminates the worker (and so frees its copies of the labels).
 */
import type { CompareMesh } from './compare.ts';
import { defaultSurfaceOptions, type Geometry, type LabelData, type Mesh, type StructureSelector, type SurfaceOptions } from './surface.ts';
import type { WorkerReply, WorkerRequest } from './surfaceProtocol.ts';

export interface SurfaceResult<M = Mesh> {
  mesh: M | null;
  /** Time spent in the worker, ms. */
  ms: number;
}

type Pending = { resolve: (r: SurfaceResult<Mesh> | SurfaceResult<CompareMesh> | Uint8Array) => void; reject: (e: Error) => void };

export class SurfaceWorker {
  #worker: Worker;
  #next = 1;
  #pending = new Map<number, Pending>();
  #loaded = new Set<string>();

  constructor() {
    this.#worker = new Worker(new URL('../workers/surface.worker.ts', import.meta.url), { type: 'module' });
    this.#worker.onmessage = (ev: MessageEvent<WorkerReply>) => {
      const m = ev.data;
      if (m.type === 'loaded') return;
      const p = this.#pending.get(m.reqId);
      if (!p) return;
      this.#pending.delete(m.reqId);
      if (m.type === 'error') p.reject(new Error(m.message));
      else if (m.type === 'confusion') p.resolve(m.codes);
      else p.resolve({ mesh: m.mesh, ms: m.ms });
    };
    this.#worker.onerror = (ev) => {
      for (const p of this.#pending.values()) p.reject(new Error(`surface worker failed: ${ev.message}`));
      this.#pending.clear();
    };
  }

  #request<R>(m: WorkerRequest & { reqId: number }): Promise<R> {
    return new Promise((resolve, reject) => {
      this.#pending.set(m.reqId, { resolve: resolve as Pending['resolve'], reject });
      this.#worker.postMessage(m);
    });
  }

  /** Sends labels under `key` (structured clone: the page keeps its own array for the slices). */
  load(key: string, data: LabelData): void {
    if (this.#loaded.has(key)) return;
    this.#loaded.add(key);
    this.#worker.postMessage({ type: 'load', key, data } satisfies WorkerRequest);
  }

  /** Sends new contents under a key already loaded (a Review edit), keeping the others. */
  replace(key: string, data: LabelData): void {
    this.#loaded.delete(key);
    this.load(key, data);
  }

  /** Frees every array the worker holds (a case closed). */
  release(): void {
    this.#loaded.clear();
    this.#worker.postMessage({ type: 'release' } satisfies WorkerRequest);
  }

  surface(key: string, geometry: Geometry, selector: StructureSelector, options: SurfaceOptions = defaultSurfaceOptions): Promise<SurfaceResult> {
    if (!this.#loaded.has(key)) return Promise.reject(new Error(`labels ${key} not loaded`));
    return this.#request<SurfaceResult>({ type: 'surface', reqId: this.#next++, key, geometry, selector, options });
  }

  compare(truthKey: string, predictionKey: string, geometry: Geometry, selector: StructureSelector): Promise<SurfaceResult<CompareMesh>> {
    return this.#request<SurfaceResult<CompareMesh>>({ type: 'compare', reqId: this.#next++, truthKey, predictionKey, geometry, selector });
  }

  /** TP/FP/FN codes per voxel (see confusionCodes). */
  confusion(truthKey: string, predictionKey: string, selectors: StructureSelector[], voxels: number): Promise<Uint8Array> {
    return this.#request<Uint8Array>({ type: 'confusion', reqId: this.#next++, truthKey, predictionKey, selectors, voxels });
  }

  dispose(): void {
    for (const p of this.#pending.values()) p.reject(new Error('viewer closed'));
    this.#pending.clear();
    this.#worker.terminate();
    this.#loaded.clear();
  }
}
