/** How the slice previews are drawn: CT window, label overlay on/off and its opacity. */
export interface WindowPreset {
  /** 'custom': a window/level of the user's own (a right-drag, or typed in the readout). */
  id: 'bone' | 'soft' | 'wide' | 'custom';
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

  /**
   * Any window and level: a preset's own values select that preset (so the toolbar shows it as
   * active), anything else is 'Custom'.
   */
  setWindow(window: number, level: number): void {
    const w = Math.max(1, Math.round(window)), l = Math.round(level);
    this.#preset = windowPresets.find((p) => p.window === w && p.level === l) ?? { id: 'custom', label: 'Custom', window: w, level: l };
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
