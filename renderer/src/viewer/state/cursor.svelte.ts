/**
 * The linked cursor (crosshair) of the open case: a voxel index shared by the three slice views
 * and the 3D view. Setting it moves every slice view to that voxel ("jump"); `seq` tells a new
 * request from an old one.
 */
export interface CursorPoint {
  caseId: string;
  /** Voxel index (i, j, k). */
  index: [number, number, number];
  seq: number;
}

export class CursorStore {
  #point = $state.raw<CursorPoint | null>(null);
  #seq = 0;

  get point(): CursorPoint | null {
    return this.#point;
  }

  set(caseId: string, index: [number, number, number]): void {
    this.#point = { caseId, index, seq: ++this.#seq };
  }
}

export const cursorStore = new CursorStore();
