/** Messages between the page and surface.worker.ts. Label arrays are held in the worker by key. */
import type { CompareMesh } from './compare.ts';
import type { Geometry, LabelData, Mesh, StructureSelector, SurfaceOptions } from './surface.ts';

export type WorkerRequest =
  | { type: 'load'; key: string; data: LabelData }
  | { type: 'release' }
  | { type: 'surface'; reqId: number; key: string; geometry: Geometry; selector: StructureSelector; options: SurfaceOptions }
  | { type: 'compare'; reqId: number; truthKey: string; predictionKey: string; geometry: Geometry; selector: StructureSelector }
  | { type: 'confusion'; reqId: number; truthKey: string; predictionKey: string; selectors: StructureSelector[]; voxels: number };

export type WorkerReply =
  | { type: 'loaded'; key: string }
  | { type: 'surface'; reqId: number; mesh: Mesh | null; ms: number }
  | { type: 'compare'; reqId: number; mesh: CompareMesh | null; ms: number }
  | { type: 'confusion'; reqId: number; codes: Uint8Array; ms: number }
  | { type: 'error'; reqId: number; message: string };
