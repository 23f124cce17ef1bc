/** CT volume-rendering presets for bone (HU → colour, HU → opacity). */
export interface VrPreset {
  id: 'bone' | 'bone-soft';
  label: string;
  /** [HU, r, g, b] with rgb in 0..1. */
  colours: readonly [number, number, number, number][];
  /** [HU, opacity]. */
  opacity: readonly [number, number][];
}

export const vrPresets: readonly VrPreset[] = [
  {
    id: 'bone',
    label: 'Bone',
    colours: [[-1000, 0, 0, 0], [150, 0.55, 0.25, 0.15], [400, 0.9, 0.82, 0.66], [1500, 1, 1, 0.95]],
    opacity: [[-1000, 0], [150, 0], [300, 0.15], [1500, 0.9]],
  },
  {
    id: 'bone-soft',
    label: 'Bone + soft tissue',
    colours: [[-1000, 0, 0, 0], [-100, 0.6, 0.35, 0.25], [100, 0.85, 0.55, 0.45], [400, 0.92, 0.86, 0.72], [1500, 1, 1, 1]],
    opacity: [[-1000, 0], [-200, 0], [-50, 0.03], [150, 0.05], [300, 0.2], [1500, 0.9]],
  },
];
