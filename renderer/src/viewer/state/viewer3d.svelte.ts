/**
 * What the 3D view shows beyond the shared structure visibility: per-structure colour and
 * opacity overrides, volume rendering (off / preset) and shading. Plain reactive values only;
 * meshes and vtk.js objects live in the component's raw fields.
 */
import type { VrPreset } from '../lib/presets.ts';

export interface StructureStyle {
  colour: string | null;
  opacity: number | null;
  hidden: boolean;
}

export class Viewer3DState {
  #styles = $state<Record<string, StructureStyle>>({});
  #vr = $state<VrPreset['id'] | null>(null);
  #shaded = $state(false);
  #surfaces = $state(true);

  style(key: string): StructureStyle {
    return this.#styles[key] ?? { colour: null, opacity: null, hidden: false };
  }

  setStyle(key: string, patch: Partial<StructureStyle>): void {
    this.#styles = { ...this.#styles, [key]: { ...this.style(key), ...patch } };
  }

  get vr(): VrPreset['id'] | null {
    return this.#vr;
  }
  set vr(v: VrPreset['id'] | null) {
    this.#vr = v;
  }
  get shaded(): boolean {
    return this.#shaded;
  }
  set shaded(v: boolean) {
    this.#shaded = v;
  }
  get surfaces(): boolean {
    return this.#surfaces;
  }
  set surfaces(v: boolean) {
    this.#surfaces = v;
  }
}
