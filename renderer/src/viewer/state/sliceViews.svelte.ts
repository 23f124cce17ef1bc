/**
 * Each slice view's slice, zoom and pan, kept outside the viewport components: maximise/restore,
 * a layout change or a remount leaves a view where the user put it. Keyed by case and view; a
 * case seen for the first time starts in the middle slice, unzoomed.
 */
export interface SliceViewState {
  slice: number;
  /** 1 = the slice fits the viewport. */
  zoom: number;
  /** Offset of the slice's centre from the viewport's centre, CSS px. */
  panX: number;
  panY: number;
}

export const MIN_ZOOM = 0.5;
export const MAX_ZOOM = 16;

export class SliceViews {
  #views = $state<Record<string, SliceViewState>>({});

  #key(caseId: string, view: string): string {
    return `${caseId}/${view}`;
  }

  /** The view's state, created in the middle slice when first asked for. */
  get(caseId: string, view: string, depth: number): SliceViewState {
    const k = this.#key(caseId, view);
    const v = this.#views[k];
    if (v && v.slice < depth) return v;
    return { slice: Math.floor(depth / 2), zoom: 1, panX: 0, panY: 0 };
  }

  set(caseId: string, view: string, patch: Partial<SliceViewState>, depth: number): void {
    const k = this.#key(caseId, view);
    const old = this.get(caseId, view, depth);
    const next = { ...old, ...patch };
    next.slice = Math.min(depth - 1, Math.max(0, Math.round(next.slice)));
    next.zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, next.zoom));
    this.#views = { ...this.#views, [k]: next };
  }

  /** Zoom by `factor` keeping the point (px, py) — relative to the viewport's centre — fixed. */
  zoomAt(caseId: string, view: string, depth: number, factor: number, px: number, py: number): void {
    const v = this.get(caseId, view, depth);
    const zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, v.zoom * factor));
    const f = zoom / v.zoom;
    this.set(caseId, view, { zoom, panX: px - (px - v.panX) * f, panY: py - (py - v.panY) * f }, depth);
  }

  resetZoom(caseId: string, view: string, depth: number): void {
    this.set(caseId, view, { zoom: 1, panX: 0, panY: 0 }, depth);
  }
}

export const sliceViews = new SliceViews();
