// Series colours readable on the dark theme, and a stable colour per structure index.
export const palette = ['#4aa8ff', '#f2a33c', '#3fb950', '#e5534b', '#b083f0', '#39c5cf', '#d6a21f', '#ec6cb9'];

export function colourOf(i: number): string {
  return palette[((i % palette.length) + palette.length) % palette.length];
}

export interface SeriesSpec {
  label: string;
  stroke: string;
  dash?: number[];
  /** Which y axis: 'y' (left) or 'y2' (right). */
  scale?: 'y' | 'y2';
}
