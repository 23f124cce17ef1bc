/**
 * Compare mode shared by the 3D view and the slice viewports: whether it is on, the per-voxel
 * TP/FP/FN codes of the open case (computed in the surface worker); the shared cursor is state/cursor.svelte.ts.
 * One module-level store: the viewports are siblings and the frame does not know about compare.
 */
import type { OverlayChannel } from '../../lib/slices.ts';
import type { CaseImages } from '../../state/images.svelte.ts';
import { structureLooks } from '../../lib/structures.svelte.ts';

/** Codes in `codes`: 0 background in both, 1 TP, 2 FP (prediction only), 3 FN (truth only). */
export const confusionOverlays: readonly OverlayChannel[] = [
  { id: 'compare-tp', base: 0, values: new Set([1]), colour: [60, 200, 90], outline: false },
  { id: 'compare-fp', base: 0, values: new Set([2]), colour: [235, 50, 50], outline: false },
  { id: 'compare-fn', base: 0, values: new Set([3]), colour: [50, 110, 255], outline: false },
];

/** The slice views' compare legend: what each colour means. */
export const confusionLegend: readonly { id: string; name: string; colour: string }[] = [
  { id: 'compare-tp', name: 'TP: prediction and truth', colour: 'rgb(60 200 90)' },
  { id: 'compare-fp', name: 'FP: prediction only', colour: 'rgb(235 50 50)' },
  { id: 'compare-fn', name: 'FN: truth only', colour: 'rgb(50 110 255)' },
];
structureLooks.register(confusionLegend.map((l) => ({ id: l.id, name: l.name.slice(0, 2) })));

export class CompareStore {
  #on = $state(false);
  #layout = $state<'overlaid' | 'side-by-side'>('overlaid');
  #codes = $state.raw<{ caseId: string; data: Uint8Array } | null>(null);

  get on(): boolean {
    return this.#on;
  }
  set on(v: boolean) {
    this.#on = v;
  }
  /** 3D: the prediction over a faint truth, or beside the truth (to its patient-left). */
  get layout(): 'overlaid' | 'side-by-side' {
    return this.#layout;
  }
  set layout(v: 'overlaid' | 'side-by-side') {
    this.#layout = v;
  }
  get codes(): { caseId: string; data: Uint8Array } | null {
    return this.#codes;
  }
  setCodes(caseId: string, data: Uint8Array | null): void {
    this.#codes = data ? { caseId, data } : null;
  }
}

export const compareStore = new CompareStore();

/** Per-structure slice overlay style chosen in the viewer: fill or outline (default: by role). */
export class OverlayStyles {
  #outline = $state<Record<string, boolean>>({});

  outline(id: string, byRole: boolean): boolean {
    return this.#outline[id] ?? byRole;
  }

  setOutline(id: string, v: boolean): void {
    this.#outline = { ...this.#outline, [id]: v };
  }
}

export const overlayStyles = new OverlayStyles();

/** What the slice viewports draw: in compare mode the TP/FP/FN codes instead of the labels. */
export function compareSlices(images: CaseImages | null, overlays: readonly OverlayChannel[]): { images: CaseImages | null; overlays: readonly OverlayChannel[] } {
  const codes = compareStore.codes;
  if (!images || !compareStore.on || !codes || codes.caseId !== images.caseId || !images.labels) {
    return { images, overlays: overlays.map((o) => (o.id ? { ...o, outline: overlayStyles.outline(o.id, o.outline) } : o)) };
  }
  return { images: { ...images, labels: { ...images.labels, channels: 1, data: codes.data } }, overlays: confusionOverlays };
}
