/** How the slice previews are drawn: CT window, label overlay on/off and its opacity. */
export interface WindowPreset {
  id: 'bone' | 'soft' | 'wide';
  label: string;
  window: number;
  level: number;
}

export const windowPresets: readonly WindowPreset[] = [
  { id: 'bone', label: 'Bone', window: 2000, level: 300 },
  { id: 'soft', label: 'Soft tissue', window: 400, level: 40 },
  { id: 'wide', label: 'Wide', window: 3000, level: 500 },
];

export class ViewSettings {
  #preset = $state<WindowPreset>(windowPresets[0]);
  #labels = $state(true);
  #opacity = $state(0.45);
  #hidden = $state<string[]>([]);

  get preset(): WindowPreset {
    return this.#preset;
  }
  set preset(p: WindowPreset) {
    this.#preset = p;
  }
  get labels(): boolean {
    return this.#labels;
  }
  set labels(v: boolean) {
    this.#labels = v;
  }
  get opacity(): number {
    return this.#opacity;
  }
  set opacity(v: number) {
    this.#opacity = Math.min(1, Math.max(0, v));
  }

  /** Structures whose overlay is switched off (by schema id). */
  isHidden(id: string): boolean {
    return this.#hidden.includes(id);
  }

  toggle(id: string): void {
    this.#hidden = this.isHidden(id) ? this.#hidden.filter((h) => h !== id) : [...this.#hidden, id];
  }
}
